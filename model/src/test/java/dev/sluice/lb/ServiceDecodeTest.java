package dev.sluice.lb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.k8s.ManifestException;
import dev.sluice.k8s.ManifestReader;
import dev.sluice.k8s.Protocol;
import dev.sluice.k8s.Service;
import dev.sluice.net.Cidr;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Service decoding: every field read, every mistake named by file, object and field path. */
class ServiceDecodeTest {
    static Service decode(String spec) {
        return Service.decode(ManifestReader.parse("svc.yaml", "apiVersion: v1\nkind: Service\nmetadata: {namespace: x, name: s}\n" + spec).getFirst());
    }

    @Test
    void fullServiceSpec() {
        Service s = decode("""
                spec:
                  type: LoadBalancer
                  clusterIP: 10.96.0.10
                  clusterIPs: [10.96.0.10]
                  ipFamilies: [IPv4]
                  ipFamilyPolicy: SingleStack
                  selector: {app: web}
                  ports:
                  - {name: http, port: 80, targetPort: web, protocol: TCP, appProtocol: http, nodePort: 30080}
                  - {name: dns, port: 53, targetPort: 5353, protocol: UDP}
                  externalIPs: [203.0.113.5]
                  sessionAffinity: ClientIP
                  sessionAffinityConfig: {clientIP: {timeoutSeconds: 60}}
                  externalTrafficPolicy: Local
                  internalTrafficPolicy: Local
                  healthCheckNodePort: 32000
                  loadBalancerIP: 192.168.100.7
                  loadBalancerSourceRanges: [10.0.0.0/8]
                  loadBalancerClass: io.cilium/l2-announcer
                  allocateLoadBalancerNodePorts: true
                  publishNotReadyAddresses: false
                  trafficDistribution: PreferClose
                status:
                  loadBalancer:
                    ingress: [{ip: 192.168.100.7, ipMode: VIP}]
                """);
        assertThat(s.type()).isEqualTo(Service.Type.LoadBalancer);
        assertThat(s.ports()).containsExactly(
                new Service.ServicePort(0, "http", 80, 0, "web", Protocol.TCP, 30080),
                new Service.ServicePort(1, "dns", 53, 5353, "", Protocol.UDP, 0));
        assertThat(s.clientIpAffinity()).isTrue();
        assertThat(s.affinityTimeoutSeconds()).isEqualTo(60);
        assertThat(s.externalLocal()).isTrue();
        assertThat(s.internalLocal()).isTrue();
        assertThat(s.ingressIPs()).containsExactly("192.168.100.7");
        assertThat(s.key()).isEqualTo("x/s");
    }

    @Test
    void defaults() {
        Service s = decode("spec:\n  selector: {app: web}\n  ports: [{port: 80}]\n");
        assertThat(s.type()).isEqualTo(Service.Type.ClusterIP);
        assertThat(s.clusterIP()).isEmpty();
        assertThat(s.ports().getFirst().targetPort()).isEqualTo(80);
        assertThat(s.affinityTimeoutSeconds()).isEqualTo(10800);
        assertThat(s.externalLocal()).isFalse();
        assertThat(decode("spec:\n  clusterIP: None\n").headless()).isTrue();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
            spec: {type: ExternalName, externalName: db.example.com}                  | svc.yaml: Service x/s: spec.type: ExternalName is not supported
            spec: {ports: [{port: 70000}]}                                            | svc.yaml: Service x/s: spec.ports[0].port: 70000 (expected: 1-65535)
            spec: {ports: [{port: 80, targetPort: 0}]}                                | svc.yaml: Service x/s: spec.ports[0].targetPort: 0 (expected: 1-65535)
            spec: {ports: [{port: 80, targetPort: Web_Port}]}                         | svc.yaml: Service x/s: spec.ports[0].targetPort: "Web_Port" (expected: a port number 1-65535 or a container port name
            spec: {ports: [{port: 80, protocol: ICMP}]}                               | svc.yaml: Service x/s: spec.ports[0].protocol: ICMP (expected one of: TCP, UDP, SCTP)
            spec: {ports: [{port: 80}, {port: 81}]}                                   | svc.yaml: Service x/s: spec.ports[0].name: missing (expected: a name on every port
            spec: {ports: [{name: a, port: 80}, {name: b, port: 80}]}                 | svc.yaml: Service x/s: spec.ports[1].port: 80/TCP is listed twice
            spec: {ports: [{port: 80, nodePort: 30080}]}                              | svc.yaml: Service x/s: spec.ports[0].nodePort: 30080 on a ClusterIP Service (expected: type NodePort or LoadBalancer)
            spec: {ports: [{port: 80, nodeport: 30080}]}                              | svc.yaml: Service x/s: spec.ports[0].nodeport: unknown field
            spec: {ports: [{port: 80}], clusterIp: 10.96.0.1}                         | svc.yaml: Service x/s: spec.clusterIp: unknown field
            spec: {ports: [{port: 80}], clusterIP: 10.96.0.300}                       | svc.yaml: Service x/s: spec.clusterIP: 10.96.0.300 (expected: an IPv4 address, "None" for a headless Service
            spec: {ports: [{port: 80}], type: NodePort, clusterIP: None}              | svc.yaml: Service x/s: spec.clusterIP: None (expected: a headless Service to have type ClusterIP, not NodePort)
            spec: {ports: [{port: 80}], type: Ingress}                                | svc.yaml: Service x/s: spec.type: Ingress (expected one of: ClusterIP, NodePort, LoadBalancer)
            spec: {ports: [{port: 80}], sessionAffinity: Cookie}                      | svc.yaml: Service x/s: spec.sessionAffinity: Cookie (expected one of: None, ClientIP)
            spec: {ports: [{port: 80}], sessionAffinity: ClientIP, sessionAffinityConfig: {clientIP: {timeoutSeconds: 86401}}} | svc.yaml: Service x/s: spec.sessionAffinityConfig.clientIP.timeoutSeconds: 86401 (expected: 1-86400)
            spec: {ports: [{port: 80}], externalTrafficPolicy: local}                 | svc.yaml: Service x/s: spec.externalTrafficPolicy: local (expected one of: Cluster, Local)
            spec: {ports: [{port: 80}], internalTrafficPolicy: Node}                  | svc.yaml: Service x/s: spec.internalTrafficPolicy: Node (expected one of: Cluster, Local)
            spec: {ports: [{port: 80}], externalIPs: [1.2.3]}                         | svc.yaml: Service x/s: spec.externalIPs[0]: 1.2.3 (expected: an IPv4 address)
            spec: {ports: [{port: 80}], selector: {app: [web]}}                       | svc.yaml: Service x/s: spec.selector.app: expected: a string, got a list
            spec: {ports: [{port: 80}], loadBalancerIP: 10.0.0.1}                     | 
            spec: {ports: [{port: 80}], loadBalancerClass: x/y}                       | svc.yaml: Service x/s: spec.loadBalancerClass: x/y on a ClusterIP Service (expected: only with type LoadBalancer)
            spec: {}                                                                  | svc.yaml: Service x/s: spec.ports: missing or empty
            spec: {ports: [{port: 80}]}\\nstatus: {loadBalancer: {ingress: [{ip: x}]}} | svc.yaml: Service x/s: status.loadBalancer.ingress[0].ip: x (expected: an IPv4 address)
            """)
    void malformed(String spec, String message) {
        String yaml = spec.replace("\\n", "\n");
        if (message == null) {
            decode(yaml);
            return;
        }
        assertThatThrownBy(() -> decode(yaml)).isInstanceOf(ManifestException.class).hasMessageStartingWith(message);
    }

    @Test
    void exceptionNamesFileObjectAndField() {
        var e = (ManifestException) org.assertj.core.api.Assertions.catchThrowable(() -> decode("spec: {ports: [{port: 80, targetPort: -1}]}"));
        assertThat(e.file()).isEqualTo("svc.yaml");
        assertThat(e.object()).isEqualTo("Service x/s");
        assertThat(e.field()).isEqualTo("spec.ports[0].targetPort");
    }

    @Test
    void poolDecodeErrors() {
        assertThatThrownBy(() -> Inputs.parse("pool.yaml", """
                apiVersion: cilium.io/v2alpha1
                kind: CiliumLoadBalancerIPPool
                metadata: {name: p}
                spec: {blocks: [{start: 10.0.0.9, stop: 10.0.0.1}]}
                """)).hasMessage("pool.yaml: CiliumLoadBalancerIPPool p: spec.blocks[0].stop: 10.0.0.1 (expected: not before start 10.0.0.9)");
        assertThatThrownBy(() -> Inputs.parse("pool.yaml", """
                apiVersion: cilium.io/v2alpha1
                kind: CiliumLoadBalancerIPPool
                metadata: {name: p}
                spec: {blocks: [{cidr: 10.0.0.0/33}]}
                """)).hasMessageStartingWith("pool.yaml: CiliumLoadBalancerIPPool p: spec.blocks[0].cidr: 10.0.0.0/33 (expected");
    }

    @Test
    void clusterIpAllocator() {
        var alloc = new ClusterIpAllocator(Cidr.parse("10.96.0.0/12"));
        Service a = decode("spec: {clusterIP: 10.96.0.10, ports: [{port: 80}]}");
        Service fresh = Service.decode(ManifestReader.parse("b.yaml", "apiVersion: v1\nkind: Service\nmetadata: {namespace: x, name: b}\nspec: {ports: [{port: 80}]}").getFirst());
        var pool = alloc.pool();
        pool.hold(a.clusterIP(), a.key());
        assertThat(pool.allocate(fresh)).isEqualTo("10.96.0.11");
        assertThat(alloc.pool().allocate(fresh)).isEqualTo("10.96.0.10");
        Service clash = fresh.withClusterIP("10.96.0.10");
        assertThatThrownBy(() -> pool.allocate(clash))
                .hasMessage("b.yaml: Service x/b: spec.clusterIP: 10.96.0.10 (already in use by Service x/s)");
        assertThatThrownBy(() -> alloc.pool().allocate(fresh.withClusterIP("10.1.0.1")))
                .hasMessage("b.yaml: Service x/b: spec.clusterIP: 10.1.0.1 (expected: an address in serviceCIDR 10.96.0.0/12)");
        pool.release("10.96.0.11");
        assertThat(pool.allocate(fresh)).as("a released address is free again").isEqualTo("10.96.0.11");
        Service other = Service.decode(ManifestReader.parse("c.yaml", "apiVersion: v1\nkind: Service\nmetadata: {namespace: x, name: c}\nspec: {ports: [{port: 80}]}").getFirst());
        var r = alloc.assign(List.of(other, clash, a));
        // Requested addresses are honoured first, in namespace/name order: x/b's request beats x/s.
        assertThat(r.assigned()).containsEntry("x/b", "10.96.0.10").containsEntry("x/c", "10.96.0.11");
        assertThat(r.errors()).containsKey("x/s");
        var tiny = new ClusterIpAllocator(Cidr.parse("10.0.0.0/30"));
        assertThat(tiny.assign(List.of(fresh)).assigned()).containsEntry("x/b", "10.0.0.2");
        assertThat(dev.sluice.config.Values.defaults().serviceCIDR()).hasToString("10.96.0.0/12");
        assertThat(dev.sluice.config.Values.parse("v.yaml", "serviceCIDR: 10.43.0.0/16", java.util.Map.of()).serviceCIDR()).hasToString("10.43.0.0/16");
    }
}
