package dev.sluice.e2e;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import tools.jackson.databind.JsonNode;

/**
 * The kube-proxy replacement end to end on a 2-node lab (tunnel mode, Maglev, masquerade): every
 * Service type from pods on both nodes and, for NodePort, LoadBalancer and ExternalIPs, from the
 * world host; session affinity; externalTrafficPolicy Local keeping the client address; backends
 * added and removed under an open connection; masquerade to the world; probe via Services equal to
 * the direct probe; bad Services reported in `service list` while every other Service works.
 *
 * <p>The world host reaches the LoadBalancer and external IPs as a host on the same LAN: the lab
 * gives it on-link routes to the announced ranges, and the node holding each Service's lease answers
 * its ARP (a CiliumL2AnnouncementPolicy below; L2AnnouncementIT covers the failover).
 */
@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: network namespaces, BPF, netlink")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ServicesIT {
    static final String LAB = "svcit", N1 = "172.30.0.11", N2 = "172.30.0.12", WORLD = "172.30.0.200";
    static final String LB_IP = "10.200.0.1", EXT_IP = "10.201.0.5";
    static final String VALUES = """
            loadBalancer:
              algorithm: maglev
            maglev:
              tableSize: 251
            bpf:
              masquerade: true
            lbExternalIPPool:
              cidr: 10.200.0.1/32
            externalIPs:
              allowedCIDRs: [10.201.0.0/24]
            """;
    static final String PODS = """
            apiVersion: v1
            kind: Pod
            metadata: {name: web-1, namespace: svc, labels: {app: web, pod: web-1}}
            spec: {nodeName: node1, containers: [{name: c, ports: [{containerPort: 80}]}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: web-2, namespace: svc, labels: {app: web, pod: web-2}}
            spec: {nodeName: node2, containers: [{name: c, ports: [{containerPort: 80}]}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: client-1, namespace: svc, labels: {pod: client-1}}
            spec: {nodeName: node1, containers: [{name: c, ports: [{containerPort: 80}]}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: client-2, namespace: svc, labels: {pod: client-2}}
            spec: {nodeName: node2, containers: [{name: c, ports: [{containerPort: 80}]}]}
            """;
    static final String SERVICES = """
            apiVersion: v1
            kind: Service
            metadata: {name: web-cip, namespace: svc}
            spec: {selector: {app: web}, ports: [{port: 8080, targetPort: 80}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: web-np, namespace: svc}
            spec: {type: NodePort, selector: {app: web}, ports: [{port: 80, nodePort: 30080}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: web-local, namespace: svc}
            spec: {type: NodePort, externalTrafficPolicy: Local, selector: {app: web}, ports: [{port: 80, nodePort: 30081}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: web-lb, namespace: svc}
            spec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 80}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: web-ext, namespace: svc}
            spec: {selector: {app: web}, externalIPs: [10.201.0.5], ports: [{port: 80}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: web-aff, namespace: svc}
            spec: {selector: {app: web}, sessionAffinity: ClientIP, ports: [{port: 8081, targetPort: 80}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: s-web-1, namespace: svc}
            spec: {selector: {pod: web-1}, ports: [{port: 80}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: s-web-2, namespace: svc}
            spec: {selector: {pod: web-2}, ports: [{port: 80}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: s-client-1, namespace: svc}
            spec: {selector: {pod: client-1}, ports: [{port: 80}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: s-client-2, namespace: svc}
            spec: {selector: {pod: client-2}, ports: [{port: 80}]}
            ---
            apiVersion: cilium.io/v2alpha1
            kind: CiliumL2AnnouncementPolicy
            metadata: {name: lan}
            spec: {loadBalancerIPs: true, externalIPs: true}
            """;
    // Conflicts go to the younger Service (metadata.creationTimestamp, set by the lab's API server),
    // as at a real API server: these are applied after lab up, so they lose whatever their names.
    static final String BAD = """
            apiVersion: v1
            kind: Service
            metadata: {name: x-np, namespace: svc}
            spec: {type: NodePort, selector: {app: web}, ports: [{port: 80, nodePort: 30080}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: bad-ext, namespace: svc}
            spec: {selector: {app: web}, externalIPs: [192.0.2.9], ports: [{port: 80}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: bad-sel, namespace: svc}
            spec: {selector: {app: nothing}, ports: [{port: 80}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: x-lb, namespace: svc}
            spec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 80}]}
            """;
    static final String BAD_PORT = """
            apiVersion: v1
            kind: Service
            metadata: {name: bad-port, namespace: svc}
            spec: {selector: {app: web}, ports: [{port: 70000, targetPort: 80}]}
            """;
    static final String WEB3 = """
            apiVersion: v1
            kind: Pod
            metadata: {name: web-3, namespace: svc, labels: {app: web, pod: web-3}}
            spec: {nodeName: node1, containers: [{name: c, ports: [{containerPort: 80}]}]}
            """;
    static Path dir;
    static String pod;
    static Map<String, String> cip = new HashMap<>();

    @BeforeAll static void setUp() throws IOException {
        Cli.requireRoot();
        Cli.down(LAB);
        dir = Files.createTempDirectory("sluice-services-it");
        Files.writeString(dir.resolve("values.yaml"), VALUES);
        Files.writeString(dir.resolve("pods.yaml"), PODS);
        Files.writeString(dir.resolve("services.yaml"), SERVICES);
        Files.writeString(dir.resolve("bad.yaml"), BAD);
        Files.writeString(dir.resolve("badport.yaml"), BAD_PORT);
        Files.writeString(dir.resolve("web3.yaml"), WEB3);
        pod = Cli.home().resolve("build/bin/sluice-pod").toString();
        Cli.sluice("lab", "up", "--name", LAB, "--nodes", "2", "--values", dir.resolve("values.yaml").toString(),
                "-f", dir.resolve("pods.yaml").toString(), "-f", dir.resolve("services.yaml").toString()).ok();
        for (JsonNode s : Cli.sluice("service", "list", "--name", LAB, "-o", "json").ok().json())
            cip.put(s.path("service").asString(), s.path("clusterIP").asString());
        // no route by hand: a node answers the world's ARP for the LoadBalancer and external addresses
        awaitAnnounced(LB_IP, EXT_IP);
    }

    /** Waits (20 s at most) until some node announces each address: leases are taken just after the agents program the Services. */
    static void awaitAnnounced(String... addresses) {
        long deadline = System.currentTimeMillis() + 20_000;
        while (true) {
            JsonNode r = Cli.sluice("bpf", "l2", "list", "--name", LAB, "-o", "json").ok().json();
            Set<String> announced = new HashSet<>();
            for (JsonNode n : r.path("nodes"))
                for (JsonNode a : n.path("result").path("announcements"))
                    if (a.path("state").asString().equals("announcing")) announced.add(a.path("address").asString());
            if (announced.containsAll(List.of(addresses))) return;
            assertThat(System.currentTimeMillis()).as("%s announced: %s", List.of(addresses), r).isLessThan(deadline);
            try {
                TimeUnit.MILLISECONDS.sleep(300);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }

    @AfterAll static void tearDown() { Cli.down(LAB); }

    /** One HTTP request; the echo answer as JSON (pod that answered, client address it saw). */
    static JsonNode http(String from, String to) {
        Cli.Run r = Cli.exec(LAB, from, pod, "http", "--to", to, "--timeout-ms", "3000");
        assertThat(r.exit()).as("%s -> %s: %s", from, to, r.err()).isZero();
        return r.json();
    }

    static String ip(String service) { return cip.get("svc/" + service); }

    @Test @Order(1)
    void everyServiceTypeAnswersFromPodsOnBothNodes() {
        for (String client : List.of("svc/client-1", "svc/client-2")) {
            for (String to : List.of(ip("web-cip") + ":8080", N1 + ":30080", N2 + ":30080", LB_IP + ":80", EXT_IP + ":80",
                    ip("web-lb") + ":80", ip("web-ext") + ":80")) {
                assertThat(http(client, to).path("pod").asString()).as("%s -> %s", client, to).startsWith("svc/web-");
            }
        }
    }

    @Test @Order(2)
    void nodePortLoadBalancerAndExternalIpAnswerTheWorld() {
        for (String to : List.of(N1 + ":30080", N2 + ":30080", LB_IP + ":80", EXT_IP + ":80")) {
            Set<String> pods = new HashSet<>();
            // several connections: with two backends on two nodes, both the local and the SNAT path are taken
            for (int i = 0; i < 8; i++) pods.add(http("world", to).path("pod").asString());
            assertThat(pods).as("world -> %s", to).isNotEmpty().allMatch(p -> p.startsWith("svc/web-"));
        }
        // the lab, as the API server, stored the allocated LoadBalancer address in the Service's status
        JsonNode lb = null;
        for (JsonNode sv : Cli.sluice("lab", "get", "services", "--name", LAB, "-o", "json").ok().json().path("items"))
            if (sv.path("metadata").path("name").asString().equals("web-lb")) lb = sv;
        assertThat(lb).isNotNull();
        assertThat(lb.path("status").path("loadBalancer").path("ingress").path(0).path("ip").asString()).isEqualTo(LB_IP);
        // a ClusterIP is not reachable from outside even with a route (the world has none anyway)
        assertThat(Cli.exec(LAB, "world", pod, "http", "--to", ip("web-cip") + ":8080", "--timeout-ms", "500").exit()).isNotZero();
    }

    @Test @Order(3)
    void clientIpAffinityKeepsOneBackend() {
        Set<String> pods = new HashSet<>();
        for (int i = 0; i < 25; i++) pods.add(http("svc/client-1", ip("web-aff") + ":8081").path("pod").asString());
        assertThat(pods).hasSize(1);
        Set<String> spread = new HashSet<>();
        for (int i = 0; i < 25; i++) spread.add(http("svc/client-1", ip("web-cip") + ":8080").path("pod").asString());
        assertThat(spread).as("without affinity, 25 connections reach both backends").hasSize(2);
    }

    @Test @Order(4)
    void externalTrafficPolicyLocalKeepsTheClientAddress() {
        JsonNode a = http("world", N1 + ":30081"), b = http("world", N2 + ":30081");
        assertThat(a.path("pod").asString()).isEqualTo("svc/web-1");
        assertThat(b.path("pod").asString()).isEqualTo("svc/web-2");
        assertThat(a.path("client").asString()).startsWith(WORLD + ":");
        assertThat(b.path("client").asString()).startsWith(WORLD + ":");
    }

    @Test @Order(5)
    void backendsComeAndGoWithoutResettingAnOpenConnection() throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-Dsluice.home=" + Cli.home(), "-jar",
                dev.sluice.lab.LabEnv.detect().jar().toString(), "lab", "exec", "--name", LAB, "svc/client-2", "--",
                pod, "hold", "--to", ip("web-cip") + ":8080", "--seconds", "12", "--interval-ms", "100"));
        Path out = Files.createTempFile("hold", ".out"), err = Files.createTempFile("hold", ".err");
        Process hold = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        try {
            Thread.sleep(1500);   // the connection is open and echoing before the backend set changes
            Cli.sluice("lab", "apply", "--name", LAB, "-f", dir.resolve("web3.yaml").toString()).ok();
            Cli.sluice("lab", "delete", "--name", LAB, "-f", dir.resolve("web3.yaml").toString()).ok();
            assertThat(hold.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(hold.exitValue()).as("hold: %s %s", Files.readString(out), Files.readString(err)).isZero();
        } finally {
            hold.destroyForcibly();
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    @Test @Order(6)
    void masqueradeShowsTheWorldTheNodeAddress() {
        assertThat(http("svc/client-1", WORLD + ":80").path("client").asString()).startsWith(N1 + ":");
        assertThat(http("svc/client-2", WORLD + ":80").path("client").asString()).startsWith(N2 + ":");
        JsonNode nat = Cli.sluice("bpf", "nat", "list", "--name", LAB, "--node", "node1", "-o", "json").ok().json();
        assertThat(nat.path("nodes").get(0).path("result").toString()).contains(WORLD + ":80");
    }

    @Test @Order(7)
    void probeViaServicesEqualsTheDirectProbe() {
        JsonNode direct = Cli.sluice("lab", "probe", "--name", LAB, "-o", "json").ok().json();
        JsonNode via = Cli.sluice("lab", "probe", "--name", LAB, "--via", "service", "-o", "json").ok().json();
        assertThat(via.path("matrix")).isEqualTo(direct.path("matrix"));
        assertThat(direct.path("matrix").toString()).doesNotContain("deny");
    }

    @Test @Order(8)
    void kernelMapsAreListed() {
        JsonNode lb = Cli.sluice("bpf", "lb", "list", "--name", LAB, "--node", "node1", "-o", "json").ok().json();
        String s = lb.toString();
        assertThat(s).contains(ip("web-cip") + ":8080/TCP", N1 + ":30080/TCP", LB_IP + ":80/TCP", EXT_IP + ":80/TCP", "svc/web-cip");
        assertThat(s).doesNotContain(N2 + ":30080/TCP");   // another node's NodePort is that node's
        JsonNode mg = Cli.sluice("bpf", "lb", "maglev", "get", "svc/web-cip", "--name", LAB, "--node", "node2", "-o", "json").ok().json();
        JsonNode table = mg.path("nodes").get(0).path("result").path("frontends").get(0);
        assertThat(table.path("size").asInt()).isEqualTo(251);
        assertThat(table.path("backends")).hasSize(2);
        assertThat(Cli.sluice("bpf", "ct", "list", "--name", LAB, "-o", "json").ok().out()).contains("\"dir\"");
        assertThat(Cli.sluice("bpf", "lb", "maglev", "get", "svc/none", "--name", LAB).exit()).isNotZero();
    }

    @Test @Order(9)
    void badServicesGetAClearStatusAndTheOthersKeepWorking() {
        // an invalid port is refused up front, as the API server refuses it: exit 2 naming the field
        Cli.Run badPort = Cli.sluice("lab", "apply", "--name", LAB, "-f", dir.resolve("badport.yaml").toString());
        assertThat(badPort.exit()).isEqualTo(2);
        assertThat(badPort.err()).contains("Service svc/bad-port: spec.ports[0].port: 70000 (expected: 1-65535)");
        Cli.sluice("lab", "apply", "--name", LAB, "-f", dir.resolve("bad.yaml").toString()).ok();
        Map<String, JsonNode> by = new HashMap<>();
        for (JsonNode s : Cli.sluice("service", "list", "--name", LAB, "-o", "json").ok().json()) by.put(s.path("service").asString(), s);
        assertThat(reasons(by.get("svc/x-np"))).contains("NodePortInUse");
        assertThat(reasons(by.get("svc/bad-ext"))).contains("ExternalIPNotAllowed");
        assertThat(reasons(by.get("svc/x-lb"))).contains("PoolExhausted");
        assertThat(reasons(by.get("svc/bad-sel"))).contains("NoBackends");
        assertThat(by.get("svc/bad-sel").path("ok").asBoolean()).isTrue();
        assertThat(by).doesNotContainKey("svc/bad-port");
        for (String good : List.of("svc/web-cip", "svc/web-np", "svc/web-lb", "svc/web-ext", "svc/web-local", "svc/web-aff"))
            assertThat(by.get(good).path("ok").asBoolean()).as(good).isTrue();
        String table = Cli.sluice("service", "list", "--name", LAB).ok().out();
        assertThat(table).contains("NodePortInUse", "ExternalIPNotAllowed", "PoolExhausted");
        // everything else still answers, and a Service without backends is refused at once (ICMP)
        assertThat(http("svc/client-1", N1 + ":30080").path("pod").asString()).startsWith("svc/web-");
        assertThat(http("world", LB_IP + ":80").path("pod").asString()).startsWith("svc/web-");
        Cli.Run refused = Cli.exec(LAB, "svc/client-1", pod, "http", "--to", by.get("svc/bad-sel").path("clusterIP").asString() + ":80",
                "--timeout-ms", "3000");
        assertThat(refused.exit()).isNotZero();
        assertThat(refused.err()).containsIgnoringCase("refused");
    }

    /**
     * The attack: whoever may write EndpointSlices points a selector-less Service at a pod whose
     * policy refuses the client. The Service translates to the pod, and the pod's ingress policy is
     * still enforced on the translated packet: the forged backend is reached only where a direct
     * connection would be.
     */
    @Test @Order(10)
    void aForgedEndpointSliceNeverReachesAPodItsPolicyRefuses() throws IOException {
        String web1 = "";
        for (JsonNode p : Cli.sluice("lab", "get", "pods", "--name", LAB, "-o", "json").ok().json().path("items"))
            if (p.path("metadata").path("name").asString().equals("web-1")) web1 = p.path("status").path("podIP").asString();
        Path forged = dir.resolve("forged.yaml");
        Files.writeString(forged, """
                apiVersion: v1
                kind: Service
                metadata: {name: forged, namespace: svc}
                spec: {clusterIP: 10.96.7.7, ports: [{name: http, port: 80}]}
                ---
                apiVersion: discovery.k8s.io/v1
                kind: EndpointSlice
                metadata: {name: forged-1, namespace: svc, labels: {kubernetes.io/service-name: forged}}
                addressType: IPv4
                ports: [{name: http, port: 80, protocol: TCP}]
                endpoints: [{addresses: [%s]}]
                """.formatted(web1));
        Cli.sluice("lab", "apply", "--name", LAB, "-f", forged.toString()).ok();
        assertThat(http("svc/client-1", "10.96.7.7:80").path("pod").asString()).as("the slice is the backend").isEqualTo("svc/web-1");

        Path deny = dir.resolve("deny.yaml");
        Files.writeString(deny, """
                apiVersion: networking.k8s.io/v1
                kind: NetworkPolicy
                metadata: {name: web-1-from-client-2-only, namespace: svc}
                spec:
                  podSelector: {matchLabels: {pod: web-1}}
                  policyTypes: [Ingress]
                  ingress: [{from: [{podSelector: {matchLabels: {pod: client-2}}}]}]
                """);
        Cli.sluice("lab", "apply", "--name", LAB, "-f", deny.toString()).ok();
        for (String to : List.of("10.96.7.7:80", web1 + ":80")) {
            Cli.Run r = Cli.exec(LAB, "svc/client-1", pod, "http", "--to", to, "--timeout-ms", "1500");
            assertThat(r.exit()).as("client-1 -> %s (web-1 refuses it): %s", to, r.out()).isNotZero();
        }
        assertThat(http("svc/client-2", "10.96.7.7:80").path("pod").asString()).as("the one the policy admits").isEqualTo("svc/web-1");
        Cli.sluice("lab", "delete", "--name", LAB, "-f", deny.toString()).ok();
        Cli.sluice("lab", "delete", "--name", LAB, "-f", forged.toString()).ok();
    }

    static List<String> reasons(JsonNode s) {
        assertThat(s).as("service listed").isNotNull();
        List<String> out = new ArrayList<>();
        s.path("conditions").forEach(c -> out.add(c.path("reason").asString()));
        return out;
    }
}
