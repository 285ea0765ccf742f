package dev.sluice.agent.endpoint;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.agent.ipam.IpamStore;
import dev.sluice.agent.lb.CtGc;
import dev.sluice.agent.policy.PolicyReconciler;
import dev.sluice.bpf.Netns;
import dev.sluice.datapath.NodeDatapath;
import dev.sluice.datapath.maps.EndpointKey;
import dev.sluice.net.Cidr;
import dev.sluice.net.Ip;
import dev.sluice.netlink.IpRoute;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * CNI ADD and DEL against real namespaces: a private "node" namespace stands for the agent's own
 * (every call runs on a thread inside it) and private "pod" namespaces receive the veth peers.
 * All are named {@code sl-nltest-<random>...} and deleted after each test, also on failure; the
 * root namespace is never touched (checked before anything is created).
 */
@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: network namespaces, BPF, netlink")
class EndpointManagerNetnsTest {
    private final String prefix = "sl-nltest-" + UUID.randomUUID().toString().substring(0, 6);
    private final String node = prefix + "-n";
    private final List<String> namespaces = new ArrayList<>();
    Path pins, state;
    NodeDatapath dp;
    IpamStore ipam;
    EndpointManager m;

    @BeforeEach
    void setUp() throws IOException {
        pins = Path.of("/sys/fs/bpf", "sl-test-" + UUID.randomUUID().toString().substring(0, 8));
        dp = NodeDatapath.load(Path.of(System.getProperty("sluice.home"), "build/bpf"), pins);
        state = Files.createTempDirectory("sl-endpoints");
        addNetns(node);
        String root = Files.readSymbolicLink(Path.of("/proc/thread-self/ns/net")).toString();
        String[] seen = Netns.inNetns(nodePath(), () -> new String[] {
                Files.readSymbolicLink(Path.of("/proc/thread-self/ns/net")).toString(), IpRoute.local().ip("netns", "identify").strip()});
        // Both the calling thread and any child it starts must be in the node namespace, or a test would touch the root one.
        assertThat(seen[0]).as("namespace of the node thread").isNotEqualTo(root);
        assertThat(seen[1]).as("namespace of a child process of the node thread").isEqualTo(node);
        ipam = new IpamStore(state.resolve("ipam"), Cidr.parse("10.77.0.0/24"));
        m = new EndpointManager(state.resolve("endpoints"), ipam, dp,
                new PolicyReconciler(dp, 16384), new CtGc(dp.lb(), id -> 0));
    }

    @AfterEach
    void tearDown() throws IOException {
        List<String> failures = new ArrayList<>();
        for (String ns : namespaces.reversed()) {
            try {
                IpRoute.local().ip("netns", "del", ns);
            } catch (RuntimeException e) {
                failures.add(e.getMessage());
            }
        }
        if (dp != null) dp.close();
        for (Path root : new Path[] {pins, state})
            if (root != null && Files.exists(root))
                try (Stream<Path> s = Files.walk(root)) {
                    for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
                }
        assertThat(failures).as("namespaces removed").isEmpty();
    }

    @Test
    void addSetsUpBothEndsAndDeleteRemovesThem() throws IOException {
        String pod = addNetns(prefix + "-p0");
        Endpoint e = Netns.inNetns(nodePath(), () -> m.add("c0", "eth0", podPath(pod).toString(), "x/p0", 1400));

        JsonNode host = ipJson(node, "link", "show", "dev", e.hostIfname()).get(0);
        assertThat(host.path("address").asString()).isEqualTo(e.hostMac());
        assertThat(host.path("mtu").asInt()).isEqualTo(1400);
        assertThat(host.path("flags").toString()).contains("\"UP\"");
        assertThat(host.path("ifindex").asInt()).isEqualTo(e.hostIfindex());
        assertThat(ipJson(node, "-6", "addr", "show", "dev", e.hostIfname())).as("no IPv6 on the host end")
                .allSatisfy(l -> assertThat(l.path("addr_info")).isEmpty());
        assertThat(routes(node)).contains(e.ip() + " dev " + e.hostIfname() + " scope link");

        JsonNode eth0 = ipJson(pod, "-d", "link", "show", "dev", "eth0").get(0);
        assertThat(eth0.path("address").asString()).isEqualTo(e.podMac());
        assertThat(eth0.path("mtu").asInt()).isEqualTo(1400);
        assertThat(eth0.path("flags").toString()).contains("\"UP\"");
        assertThat(eth0.path("inet6_addr_gen_mode").asString()).isEqualTo("none");
        assertThat(ipJson(pod, "link", "show", "dev", "lo").get(0).path("flags").toString()).contains("\"UP\"");
        assertThat(addresses(pod, "eth0")).containsExactly(e.ip() + "/32");
        assertThat(routes(pod)).containsExactlyInAnyOrder(
                "default via " + EndpointManager.GATEWAY + " dev eth0 mtu 1400",
                EndpointManager.GATEWAY + " dev eth0 scope link");
        JsonNode neigh = ipJson(pod, "neigh", "show", "dev", "eth0").get(0);
        assertThat(neigh.path("dst").asString()).isEqualTo(EndpointManager.GATEWAY);
        assertThat(neigh.path("lladdr").asString()).isEqualTo(e.hostMac());
        assertThat(neigh.path("state").toString()).contains("PERMANENT");
        assertThat(dp.endpoints().get(new EndpointKey(Ip.parse(e.ip())))).isPresent();

        Netns.run(nodePath(), () -> {
            try {
                m.delete("c0", "eth0");
                m.delete("c0", "eth0");   // CNI DEL is idempotent
            } catch (IOException ex) {
                throw new RuntimeException(ex);
            }
        });
        assertThat(ipJson(node, "link", "show")).extracting(l -> l.path("ifname").asString()).doesNotContain(e.hostIfname());
        assertThat(ipJson(pod, "link", "show")).extracting(l -> l.path("ifname").asString()).containsExactly("lo");
        assertThat(routes(node)).noneMatch(r -> r.contains(e.hostIfname()));
        assertThat(dp.endpoints().get(new EndpointKey(Ip.parse(e.ip())))).isEmpty();
        assertThat(m.list()).isEmpty();
    }

    @Test
    void aFailedAddLeavesNothingBehind() {
        String pod = addNetns(prefix + "-p0");
        // The pod already routes the gateway elsewhere: ADD fails after the veth, the address and the host route exist.
        IpRoute.local().ip("-n", pod, "link", "add", "d0", "type", "veth", "peer", "name", "d1");
        IpRoute.local().ip("-n", pod, "link", "set", "d0", "up");
        IpRoute.local().ip("-n", pod, "route", "add", EndpointManager.GATEWAY, "dev", "d0", "scope", "link");
        String hostIf = EndpointManager.hostIfname("c0", "eth0");

        assertThatThrownBy(() -> Netns.inNetns(nodePath(), () -> m.add("c0", "eth0", podPath(pod).toString(), "x/p0", 1400)))
                .hasMessageContaining("File exists");

        assertThat(ipJson(node, "link", "show")).extracting(l -> l.path("ifname").asString()).doesNotContain(hostIf);
        assertThat(ipJson(pod, "link", "show")).extracting(l -> l.path("ifname").asString()).containsExactlyInAnyOrder("lo", "d0", "d1");
        assertThat(routes(node)).isEmpty();
        assertThat(m.list()).isEmpty();
        assertThat(dp.endpoints().all()).isEmpty();
        assertThat(ipam.allocations()).as("the address went back to the pool").isEmpty();
        // and the same attachment can be added once the conflict is gone
        IpRoute.local().ip("-n", pod, "link", "del", "d0");
        Endpoint e = Netns.inNetns(nodePath(), () -> m.add("c0", "eth0", podPath(pod).toString(), "x/p0", 1400));
        assertThat(ipJson(pod, "link", "show", "dev", "eth0").get(0).path("address").asString()).isEqualTo(e.podMac());
    }

    /** A measurement, not an assertion: CNI ADD and DEL as EndpointManager does them, one pod at a time. */
    @Test
    void cniAddLatencyOver100Pods() {
        int n = Integer.getInteger("sluice.bench.pods", 100);
        List<String> pods = new ArrayList<>();
        for (int i = 0; i < n; i++) pods.add(addNetns(prefix + "-p" + i));
        String load = read("/proc/loadavg");
        long[][] t = Netns.inNetns(nodePath(), () -> {
            long[] add = new long[n], del = new long[n];
            for (int i = 0; i < n; i++) {
                long t0 = System.nanoTime();
                m.add("c" + i, "eth0", podPath(pods.get(i)).toString(), "x/p" + i, 1400);
                add[i] = System.nanoTime() - t0;
            }
            for (int i = 0; i < n; i++) {
                long t0 = System.nanoTime();
                m.delete("c" + i, "eth0");
                del[i] = System.nanoTime() - t0;
            }
            return new long[][] {add, del};
        });
        System.out.printf("EndpointManager CNI over %d pods (load at start %s): ADD %s; DEL %s%n", n, load.strip(), stats(t[0]), stats(t[1]));
        assertThat(m.list()).isEmpty();
    }

    private static String stats(long[] ns) {
        long[] s = ns.clone();
        Arrays.sort(s);
        // nearest rank, as scripts/bench.sh computes it
        return String.format("p50 %.2f ms, p99 %.2f ms, mean %.2f ms, max %.2f ms", s[(s.length * 50 + 99) / 100 - 1] / 1e6,
                s[(s.length * 99 + 99) / 100 - 1] / 1e6, Arrays.stream(s).average().orElse(0) / 1e6, s[s.length - 1] / 1e6);
    }

    private Path nodePath() { return podPath(node); }

    private static Path podPath(String ns) { return Path.of("/var/run/netns", ns); }

    private String addNetns(String name) {
        IpRoute.local().ip("netns", "add", name);
        namespaces.add(name);
        return name;
    }

    private static List<String> routes(String ns) {
        List<String> out = new ArrayList<>();
        for (JsonNode r : ipJson(ns, "route", "show")) {
            StringBuilder b = new StringBuilder(r.path("dst").asString());
            if (r.has("gateway")) b.append(" via ").append(r.path("gateway").asString());
            b.append(" dev ").append(r.path("dev").asString());
            if (r.has("scope") && !r.path("scope").asString().equals("global")) b.append(" scope ").append(r.path("scope").asString());
            if (r.has("metrics")) for (JsonNode mt : r.path("metrics")) if (mt.has("mtu")) b.append(" mtu ").append(mt.path("mtu").asInt());
            out.add(b.toString());
        }
        return out;
    }

    private static List<String> addresses(String ns, String dev) {
        List<String> out = new ArrayList<>();
        for (JsonNode a : ipJson(ns, "-4", "addr", "show", "dev", dev).get(0).path("addr_info"))
            out.add(a.path("local").asString() + "/" + a.path("prefixlen").asInt());
        return out;
    }

    private static JsonNode ipJson(String ns, String... args) {
        List<String> a = new ArrayList<>(List.of("-n", ns));
        a.addAll(List.of(args));
        return IpRoute.local().json(a.toArray(String[]::new));
    }

    private static String read(String file) {
        try {
            return Files.readString(Path.of(file));
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

}
