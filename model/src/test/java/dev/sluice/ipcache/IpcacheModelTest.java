package dev.sluice.ipcache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.Values;
import dev.sluice.k8s.ClusterNode;
import dev.sluice.k8s.Pod;
import dev.sluice.net.Cidr;
import dev.sluice.net.Ip;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class IpcacheModelTest {
    static final List<ClusterNode> NODES = List.of(
            new ClusterNode("node1", Map.of(), "172.30.0.11", List.of(Cidr.parse("10.0.0.0/24"))),
            new ClusterNode("node2", Map.of(), "172.30.0.12", List.of(Cidr.parse("10.0.1.0/24"))));
    static final List<Pod> PODS = List.of(
            new Pod("x", "a", Map.of(), "node1", "10.0.0.5", List.of()),
            new Pod("x", "b", Map.of(), "node2", "10.0.1.7", List.of()),
            new Pod("x", "pending", Map.of(), "", "", List.of()));

    static String render(Map<Cidr, IpcacheModel.Entry> m) {
        return m.entrySet().stream().map(e -> e.getKey() + " identity=" + e.getValue().identity() + " tunnel="
                + (e.getValue().tunnelEndpoint() == 0 ? "-" : Ip.format(e.getValue().tunnelEndpoint())) + " flags=" + e.getValue().flags())
                .collect(Collectors.joining("\n"));
    }

    @Test
    void tunnelModeSendsRemoteAddressesToTheirNode() {
        var m = IpcacheModel.compute("node1", NODES, PODS, p -> p.name().equals("a") ? 300 : 301, Values.RoutingMode.TUNNEL);
        assertThat(render(m)).isEqualTo("""
                10.0.0.5/32 identity=300 tunnel=- flags=0
                10.0.1.0/24 identity=2 tunnel=172.30.0.12 flags=2
                10.0.1.7/32 identity=301 tunnel=172.30.0.12 flags=0
                172.30.0.11/32 identity=1 tunnel=- flags=1
                172.30.0.12/32 identity=6 tunnel=172.30.0.12 flags=0""");
    }

    @Test
    void nativeModeHasNoTunnelEndpoints() {
        var m = IpcacheModel.compute("node2", NODES, PODS, p -> 400, Values.RoutingMode.NATIVE);
        assertThat(m.values()).allMatch(e -> e.tunnelEndpoint() == 0);
        assertThat(m.get(Cidr.parse("172.30.0.12/32")).identity()).isEqualTo(IpcacheModel.HOST);
        assertThat(m.get(Cidr.parse("172.30.0.11/32")).identity()).isEqualTo(IpcacheModel.REMOTE_NODE);
    }
}
