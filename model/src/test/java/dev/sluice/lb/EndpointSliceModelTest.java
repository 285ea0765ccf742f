package dev.sluice.lb;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.Values;
import dev.sluice.k8s.EndpointSlice;
import dev.sluice.k8s.KubeObject;
import dev.sluice.k8s.ManifestReader;
import dev.sluice.k8s.Pod;
import dev.sluice.k8s.Service;
import dev.sluice.net.Ip;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Services take their backends from EndpointSlices when they have any, else from the pods they select. */
class EndpointSliceModelTest {
    static final Values VALUES = Values.parse("values.yaml", "", Map.of());

    static KubeObject one(String yaml) { return ManifestReader.parse("t.yaml", yaml).getFirst(); }

    static Service svc(String selector) {
        return Service.decode(one("""
                apiVersion: v1
                kind: Service
                metadata: {name: web, namespace: a}
                spec: {clusterIP: 10.96.0.10, %s ports: [{name: http, port: 80, targetPort: 8080}, {name: dns, port: 53, protocol: UDP}]}
                """.formatted(selector)));
    }

    static EndpointSlice slice(String name, String endpoints) {
        return EndpointSlice.decode(one("""
                apiVersion: discovery.k8s.io/v1
                kind: EndpointSlice
                metadata: {name: %s, namespace: a, labels: {kubernetes.io/service-name: web}}
                addressType: IPv4
                ports: [{name: http, port: 9090, protocol: TCP}, {name: dns, port: 5353, protocol: UDP}]
                endpoints: [%s]
                """.formatted(name, endpoints)));
    }

    static List<String> backends(ServiceModel m) {
        return m.state().services().get("a/web").frontends().stream()
                .flatMap(f -> f.backends().stream().map(b -> f.port() + "->" + Ip.format(b.ip()) + ":" + b.port() + "@" + b.node()))
                .distinct().sorted().toList();
    }

    @Test void slicesWinOverTheSelectorAndOnlyReadyEndpointsCount() {
        var m = new ServiceModel(VALUES);
        m.upsertService(svc("selector: {app: web},"));
        m.upsertPod(new Pod("a", "p", Map.of("app", "web"), "node1", "10.0.0.5", List.of()));
        assertThat(backends(m)).containsExactly("53->10.0.0.5:53@node1", "80->10.0.0.5:8080@node1");

        m.upsertSlice(slice("web-1", """
                {addresses: [10.0.0.7], nodeName: node2, targetRef: {kind: Pod, name: q}},
                {addresses: [10.0.0.8], conditions: {ready: false}},
                {addresses: [10.0.0.9], conditions: {ready: true, terminating: true}}"""));
        assertThat(backends(m)).containsExactly("53->10.0.0.7:5353@node2", "80->10.0.0.7:9090@node2");
        assertThat(m.state().services().get("a/web").frontends().getFirst().backends().getFirst().pod()).isEqualTo("a/q");

        m.removeSlice("a/web-1");
        assertThat(backends(m)).as("without slices, the pods again").containsExactly("53->10.0.0.5:53@node1", "80->10.0.0.5:8080@node1");
    }

    @Test void aServiceWithoutSelectorTakesItsSlices() {
        var m = new ServiceModel(VALUES);
        m.upsertService(svc(""));
        assertThat(m.state().services().get("a/web").status().conditions()).anyMatch(c -> c.reason().equals("NoSelector"));
        m.upsertSlice(slice("manual", "{addresses: [192.168.7.1]}"));
        assertThat(backends(m)).containsExactly("53->192.168.7.1:5353@", "80->192.168.7.1:9090@");
        assertThat(m.state().services().get("a/web").status().conditions()).noneMatch(c -> c.reason().equals("NoSelector"));
    }
}
