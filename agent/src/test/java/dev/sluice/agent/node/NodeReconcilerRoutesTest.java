package dev.sluice.agent.node;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.bpf.Netns;
import dev.sluice.config.Values;
import dev.sluice.k8s.ClusterNode;
import dev.sluice.net.Cidr;
import dev.sluice.netlink.Rtnetlink;
import dev.sluice.netlink.IpRoute;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * Routes to other nodes' pod CIDRs, reconciled in a private namespace {@code sl-nltest-<random>}
 * standing for the node: an uplink {@code up0} (172.30.0.11/24) and a tunnel stand-in {@code tun0}.
 * {@code ip route} is the witness of the result; the socket's request count shows what a run
 * wrote (a kernel replace with an identical route is silent, so no monitor could tell). The
 * namespace is deleted after each test, also on failure.
 */
@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: network namespaces, BPF, netlink")
class NodeReconcilerRoutesTest {
    private final String ns = "sl-nltest-" + UUID.randomUUID().toString().substring(0, 8);
    private final Path path = Path.of("/var/run/netns", ns);
    // the routes step never touches the ipcache
    private final NodeReconciler reconciler = new NodeReconciler(null);
    /** Opened in the node namespace, used from the test's thread: it stays in that namespace. */
    private Rtnetlink nl;

    @BeforeEach
    void node() {
        IpRoute.local().ip("netns", "add", ns);
        IpRoute.local().ip("-n", ns, "link", "add", "up0", "type", "veth", "peer", "name", "up1");
        IpRoute.local().ip("-n", ns, "link", "add", "tun0", "type", "veth", "peer", "name", "tun1");
        for (String l : List.of("up0", "up1", "tun0", "tun1")) IpRoute.local().ip("-n", ns, "link", "set", l, "up");
        IpRoute.local().ip("-n", ns, "addr", "add", "172.30.0.11/24", "dev", "up0");
        // not ours (protocol boot): must survive every run
        IpRoute.local().ip("-n", ns, "route", "add", "10.50.0.0/16", "via", "172.30.0.99", "dev", "up0");
        nl = Netns.inNetns(path, Rtnetlink::open);
    }

    @AfterEach
    void delete() {
        if (nl != null) nl.close();
        IpRoute.local().ip("netns", "del", ns);
    }

    private static ClusterNode node(String name, String ip, String... cidrs) {
        return new ClusterNode(name, Map.of(), ip, Arrays.stream(cidrs).map(Cidr::parse).toList());
    }

    private int reconcile(List<ClusterNode> nodes, Values.RoutingMode mode, int mtu) {
        return reconciler.reconcileRoutes(nl, "node1", nodes, mode, "up0", "tun0", mtu);
    }

    @Test
    void exactlyTheDesiredRoutesThenNothingThenOnlyTheDifference() {
        List<ClusterNode> nodes = List.of(node("node1", "172.30.0.11", "10.0.0.0/24"), node("node2", "172.30.0.12", "10.0.1.0/24"),
                node("node3", "172.30.0.13", "10.0.2.0/24", "10.0.3.0/24"), node("node4", "", "10.0.4.0/24"));
        assertThat(reconcile(nodes, Values.RoutingMode.NATIVE, 1450)).isEqualTo(3);
        assertThat(routes()).containsExactlyInAnyOrder(
                "10.0.1.0/24 via 172.30.0.12 dev up0 proto 83 mtu 1450",
                "10.0.2.0/24 via 172.30.0.13 dev up0 proto 83 mtu 1450",
                "10.0.3.0/24 via 172.30.0.13 dev up0 proto 83 mtu 1450",
                "10.50.0.0/16 via 172.30.0.99 dev up0 proto boot");

        long before = nl.requests();
        assertThat(reconcile(nodes, Values.RoutingMode.NATIVE, 1450)).isZero();
        assertThat(nl.requests() - before).as("requests of the second run: the device's index and one dump, no write").isEqualTo(2);

        // node3 leaves, node2 moves to another address: one replace, two deletions
        List<ClusterNode> next = List.of(node("node1", "172.30.0.11", "10.0.0.0/24"), node("node2", "172.30.0.22", "10.0.1.0/24"));
        before = nl.requests();
        assertThat(reconcile(next, Values.RoutingMode.NATIVE, 1450)).isEqualTo(3);
        assertThat(nl.requests() - before).isEqualTo(2 + 3);
        assertThat(routes()).containsExactlyInAnyOrder(
                "10.0.1.0/24 via 172.30.0.22 dev up0 proto 83 mtu 1450",
                "10.50.0.0/16 via 172.30.0.99 dev up0 proto boot");

        // a new MTU rewrites the route; then nobody else is left: every route of ours goes
        assertThat(reconcile(next, Values.RoutingMode.NATIVE, 1400)).isEqualTo(1);
        assertThat(routes()).contains("10.0.1.0/24 via 172.30.0.22 dev up0 proto 83 mtu 1400");
        assertThat(reconcile(List.of(node("node1", "172.30.0.11", "10.0.0.0/24")), Values.RoutingMode.NATIVE, 1400)).isEqualTo(1);
        assertThat(routes()).containsExactly("10.50.0.0/16 via 172.30.0.99 dev up0 proto boot");
    }

    @Test
    void tunnelModeRoutesIntoTheTunnelDeviceAndSwitchesInPlace() {
        List<ClusterNode> nodes = List.of(node("node1", "172.30.0.11", "10.0.0.0/24"), node("node2", "172.30.0.12", "10.0.1.0/24"));
        assertThat(reconcile(nodes, Values.RoutingMode.NATIVE, 1500)).isEqualTo(1);
        assertThat(reconcile(nodes, Values.RoutingMode.TUNNEL, 1450)).isEqualTo(1);
        assertThat(routes()).containsExactlyInAnyOrder("10.0.1.0/24 dev tun0 proto 83 scope link mtu 1450",
                "10.50.0.0/16 via 172.30.0.99 dev up0 proto boot");
        long before = nl.requests();
        assertThat(reconcile(nodes, Values.RoutingMode.TUNNEL, 1450)).isZero();
        assertThat(nl.requests() - before).isEqualTo(2);
    }

    @Test
    void aMissingDeviceIsNamedAndOnlyMattersWhenARouteNeedsIt() {
        // through the public entry: a socket of its own in the calling thread's namespace
        List<ClusterNode> nodes = List.of(node("node1", "172.30.0.11", "10.0.0.0/24"), node("node2", "172.30.0.12", "10.0.1.0/24"));
        assertThatThrownBy(() -> Netns.inNetns(path, () -> reconciler.reconcileRoutes("node1", nodes, Values.RoutingMode.TUNNEL, "up0", "sluice_vxlan", 1450)))
                .hasMessage("routes to other nodes: device sluice_vxlan is missing (expected: the VXLAN device)");
        assertThat(Netns.inNetns(path, () -> reconciler.reconcileRoutes("node1", nodes.subList(0, 1), Values.RoutingMode.TUNNEL, "up0", "sluice_vxlan", 1450)))
                .isZero();
    }

    /** The main table as "dst [via gw] dev D proto P [scope S] [mtu M]", without the kernel's own routes. */
    private List<String> routes() {
        List<String> out = new ArrayList<>();
        for (JsonNode r : IpRoute.local().json("-n", ns, "route", "show")) {
            if (r.path("protocol").asString().equals("kernel")) continue;
            StringBuilder b = new StringBuilder(r.path("dst").asString());
            if (r.has("gateway")) b.append(" via ").append(r.path("gateway").asString());
            b.append(" dev ").append(r.path("dev").asString()).append(" proto ").append(r.path("protocol").asString("boot")); // ip leaves out its default
            if (r.has("scope")) b.append(" scope ").append(r.path("scope").asString());
            for (JsonNode m : r.path("metrics")) if (m.has("mtu")) b.append(" mtu ").append(m.path("mtu").asInt());
            out.add(b.toString());
        }
        return out;
    }

}
