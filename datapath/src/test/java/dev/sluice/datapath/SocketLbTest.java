package dev.sluice.datapath;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.bpf.Bpffs;
import dev.sluice.bpf.Cgroup;
import dev.sluice.bpf.Netns;
import dev.sluice.datapath.maps.LbBackend;
import dev.sluice.datapath.maps.LbService;
import dev.sluice.datapath.maps.LbServiceKey;
import dev.sluice.datapath.maps.LbSlotKey;
import dev.sluice.datapath.maps.NodeConfig;
import dev.sluice.datapath.maps.SockNetns;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * The socket load balancer (bpf_sock.c) through real sockets: BPF_PROG_TEST_RUN does not run cgroup
 * sock_addr programs (ENOTSUPP on this kernel), so the programs are attached to a cgroup of the
 * test's own under the cgroup2 mount, and sluice-pod processes join it inside namespaces of the
 * test's own. Nothing in the root namespace or any other cgroup is affected: the test checks that
 * the programs are attached to its cgroup alone, and that a socket of a namespace the map does not
 * list (in the same cgroup) passes untouched.
 */
@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: BPF, namespaces, cgroups")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SocketLbTest {
    static final Path HOME = Path.of(System.getProperty("sluice.home", "."));
    static final Path POD = HOME.resolve("build/bin/sluice-pod");
    static final int NODE = ip("10.77.0.1"), VIP = ip("10.96.0.10"), EMPTY_VIP = ip("10.96.0.11"), AFF_VIP = ip("10.96.0.12");
    static final int TCP = 6, UDP = 17, NODE_PORT = 30080;

    final String tag = UUID.randomUUID().toString().substring(0, 6);
    final String served = "sl-socktest-" + tag + "a", foreign = "sl-socktest-" + tag + "b";
    Path pins, cgroup;
    NodeDatapath dp;
    final List<Process> servers = new ArrayList<>();

    @BeforeAll void setUp() throws Exception {
        Bpffs.ensureMounted(Path.of("/sys/fs/bpf"));
        pins = Path.of("/sys/fs/bpf/sl-test-sock-" + tag);
        cgroup = Cgroup.cgroup2Mount().orElseThrow(() -> new IllegalStateException("no cgroup2 mount")).resolve("sl-test-sock-" + tag);
        Files.createDirectory(cgroup);
        for (String ns : List.of(served, foreign)) {
            run("ip", "netns", "add", ns);
            run("ip", "-n", ns, "link", "set", "lo", "up");
            run("ip", "-n", ns, "addr", "add", "10.77.0.1/32", "dev", "lo");
            run("ip", "-n", ns, "addr", "add", "10.77.0.2/32", "dev", "lo");
            servers.add(serve(ns, "b/one", "8080"));
            servers.add(serve(ns, "b/two", "8081"));
        }
        dp = NodeDatapath.load(HOME.resolve("build/bpf"), pins);
        dp.config().put(0, new NodeConfig(NODE, 0, 0, 0));
        var lb = dp.lb();
        lb.backends().put(1, new LbBackend(NODE, 8080, TCP, 0));
        lb.backends().put(2, new LbBackend(NODE, 8080, UDP, 0));
        lb.backends().put(3, new LbBackend(NODE, 8081, TCP, 0));
        lb.slots().put(new LbSlotKey(1, 1), 1);
        lb.slots().put(new LbSlotKey(2, 1), 2);
        lb.slots().put(new LbSlotKey(3, 1), 1);
        lb.slots().put(new LbSlotKey(5, 1), 1);
        lb.slots().put(new LbSlotKey(5, 2), 3);
        lb.services().put(new LbServiceKey(VIP, 80, TCP), new LbService(1, 1, LbService.REJECT, 0, LbService.CLUSTER_IP));
        lb.services().put(new LbServiceKey(VIP, 53, UDP), new LbService(2, 1, LbService.REJECT, 0, LbService.CLUSTER_IP));
        lb.services().put(new LbServiceKey(NODE, NODE_PORT, TCP), new LbService(3, 1, LbService.REJECT | LbService.EXTERNAL, 0, LbService.NODE_PORT));
        lb.services().put(new LbServiceKey(EMPTY_VIP, 80, TCP), new LbService(4, 0, LbService.REJECT, 0, LbService.CLUSTER_IP));
        lb.services().put(new LbServiceKey(AFF_VIP, 80, TCP), new LbService(5, 2, LbService.REJECT | LbService.AFFINITY, 600, LbService.CLUSTER_IP));
        dp.sock().netns().put(Netns.cookie(Path.of("/var/run/netns", served)), new SockNetns(0, 0, SockNetns.HOST));
        dp.attachSocketLb(cgroup);
    }

    @AfterAll void tearDown() throws Exception {
        if (dp != null) {
            dp.detachSocketLb();
            dp.close();
        }
        servers.forEach(Process::destroyForcibly);
        for (Process p : servers) p.waitFor(5, TimeUnit.SECONDS);
        for (String ns : List.of(served, foreign)) new ProcessBuilder("ip", "netns", "del", ns).start().waitFor(10, TimeUnit.SECONDS);
        if (cgroup != null && Files.exists(cgroup)) Files.delete(cgroup);
        if (pins != null && Files.exists(pins)) {
            try (Stream<Path> s = Files.walk(pins)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
            }
        }
    }

    @Test void aClusterIpConnectGoesToTheBackendAndThePeerReadsAsTheFrontend() throws Exception {
        long before = dp.sock().stats().get("connect");
        String out = probe(served, "--proto", "tcp", "10.96.0.10:80");
        assertThat(out).contains("\"ok\":true").contains("\"pod\":\"b/one\"").contains("\"peer\":\"10.96.0.10:80\"");
        assertThat(dp.sock().stats().get("connect")).isGreaterThan(before);
    }

    /** The translation is a flow event as the per-packet path's: TRANSLATED, the frontend and its id, the backend, the node as source. */
    @Test void aTranslationIsReportedOnTheEventsRing() throws Exception {
        List<dev.sluice.datapath.maps.FlowEvent> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (var ring = new dev.sluice.bpf.RingBufferReader(dp.events(), s -> seen.add(dev.sluice.datapath.maps.FlowEvent.read(s)))) {
            ring.poll(0);
            seen.clear();
            assertThat(probe(served, "--proto", "tcp", "10.96.0.10:80")).contains("\"ok\":true");
            ring.poll(100);
        }
        var t = seen.stream().filter(e -> e.type() == dev.sluice.datapath.maps.FlowEvent.TRANSLATED).toList();
        assertThat(t).as("events: " + seen).hasSize(1);
        var e = t.getFirst();
        assertThat(e.origDaddr()).isEqualTo(VIP);
        assertThat(e.origDport()).isEqualTo(80);
        assertThat(e.revNatId()).isEqualTo(1);
        assertThat(e.daddr()).isEqualTo(NODE);
        assertThat(e.dport()).isEqualTo(8080);
        assertThat(e.saddr()).isEqualTo(NODE);
        assertThat(e.srcIdentity()).isEqualTo(1);
    }

    @Test void anUnconnectedUdpAnswerComesFromTheClusterIp() throws Exception {
        String out = probe(served, "--proto", "udp", "--unconnected", "10.96.0.10:53");
        assertThat(out).contains("\"ok\":true").contains("\"peer\":\"10.96.0.10:53\"");
        assertThat(dp.sock().stats().get("sendmsg")).isPositive();
        assertThat(dp.sock().stats().get("reverse")).isPositive();
    }

    /** Dual-stack clients (Java's sockets, for one) name IPv4 services as ::ffff:a.b.c.d on IPv6 sockets. */
    @Test void anIpv6SocketNamingAnIpv4MappedFrontendIsTranslatedToo() throws Exception {
        assertThat(probe(served, "--proto", "tcp", "--v4mapped", "10.96.0.10:80")).contains("\"ok\":true").contains("\"pod\":\"b/one\"")
                .contains("\"peer\":\"10.96.0.10:80\"");
        assertThat(probe(served, "--proto", "udp", "--v4mapped", "10.96.0.10:53")).contains("\"ok\":true").contains("\"peer\":\"10.96.0.10:53\"");
        assertThat(probe(served, "--proto", "udp", "--v4mapped", "--unconnected", "10.96.0.10:53")).contains("\"ok\":true")
                .contains("\"peer\":\"10.96.0.10:53\"");
        assertThat(probe(served, "--proto", "tcp", "--v4mapped", "10.96.0.11:80")).contains("\"ok\":false").contains("refused");
        assertThat(probe(foreign, "--proto", "tcp", "--v4mapped", "10.96.0.10:80")).contains("\"ok\":false").doesNotContain("refused");
    }

    @Test void aConnectedUdpSocketToo() throws Exception {
        assertThat(probe(served, "--proto", "udp", "10.96.0.10:53")).contains("\"ok\":true").contains("\"peer\":\"10.96.0.10:53\"");
    }

    /** The backend itself answers as itself: only the address the socket asked for is mapped back. */
    @Test void aDatagramFromAnyoneButTheChosenBackendKeepsItsSource() throws Exception {
        assertThat(probe(served, "--proto", "udp", "--unconnected", "10.77.0.1:8080")).contains("\"ok\":true").contains("\"peer\":\"10.77.0.1:8080\"");
    }

    @Test void aNodePortThroughLoopbackReachesItsBackendFromTheNodesOwnNamespace() throws Exception {
        assertThat(probe(served, "--proto", "tcp", "127.0.0.1:30080")).contains("\"ok\":true").contains("\"peer\":\"127.0.0.1:30080\"");
    }

    @Test void aFrontendWithoutBackendsIsRefusedAtConnect() throws Exception {
        long before = dp.sock().stats().get("noBackend");
        assertThat(probe(served, "--proto", "tcp", "10.96.0.11:80")).contains("\"ok\":false").contains("refused");
        assertThat(dp.sock().stats().get("noBackend")).isEqualTo(before + 1);
        var drops = dp.metrics().allPerCpu().keySet().stream().filter(k -> k.reason() == DropReason.NO_BACKEND.code).toList();
        assertThat(drops).as("counted as a no-backend drop").isNotEmpty();
    }

    @Test void sessionAffinityKeepsTheBackendAcrossConnections() throws Exception {
        for (int round = 0; round < 3; round++) {
            List<String> pods = new ArrayList<>();
            for (int i = 0; i < 6; i++) pods.add(probe(served, "--proto", "tcp", "10.96.0.12:80").replaceAll(".*\"pod\":\"([^\"]*)\".*", "$1").strip());
            assertThat(pods).as("round " + round).containsOnly(pods.getFirst());
        }
    }

    /** Defense in depth: a namespace the map does not list is untouched even inside the cgroup. */
    @Test void aSocketOfAnotherNamespaceInTheSameCgroupIsUntouched() throws Exception {
        long before = dp.sock().stats().get("foreign");
        assertThat(probe(foreign, "--proto", "tcp", "10.96.0.10:80")).contains("\"ok\":false").doesNotContain("refused");
        assertThat(probe(foreign, "--proto", "tcp", "10.96.0.11:80")).contains("\"ok\":false").doesNotContain("refused");
        assertThat(dp.sock().stats().get("foreign")).isGreaterThan(before);
    }

    /** Outside the cgroup nothing runs, whatever the namespace: the programs sit on the test's cgroup only. */
    @Test void aProcessOutsideTheCgroupIsUntouchedAndTheProgramsSitOnThisCgroupAlone() throws Exception {
        String out = runIn(served, false, List.of(POD.toString(), "probe", "--timeout-ms", "500", "--proto", "tcp", "10.96.0.10:80"));
        assertThat(out).contains("\"ok\":false");
        Path root = Cgroup.cgroup2Mount().orElseThrow();
        for (var e : NodeDatapath.SOCK_PROGRAMS.entrySet()) {
            int id = dp.program(e.getKey()).id();
            assertThat(Cgroup.attachedProgramIds(cgroup, e.getValue())).containsExactly(id);
            assertThat(Cgroup.attachedProgramIds(root, e.getValue())).doesNotContain(id);
        }
    }

    /** A restarted agent swaps its programs into the pinned links: same links, no second attachment. */
    @Test void attachingAgainReusesThePinnedLinks() {
        List<Cgroup.Link> first = dp.socketLbLinks();
        List<Cgroup.Link> again = dp.attachSocketLb(cgroup);
        assertThat(again).extracting(Cgroup.Link::id).isEqualTo(first.stream().map(Cgroup.Link::id).toList());
        assertThat(again).allSatisfy(l -> assertThat(l.cgroupId()).isEqualTo(Cgroup.id(cgroup)));
        assertThat(Cgroup.attachedProgramIds(cgroup, Cgroup.AttachType.INET4_CONNECT)).hasSize(1);
    }

    @Test void detachingRemovesEveryLinkAndAttachingRestoresThem() throws Exception {
        dp.detachSocketLb();
        try {
            assertThat(dp.socketLbLinks()).isEmpty();
            for (var t : Cgroup.AttachType.values()) assertThat(Cgroup.attachedProgramIds(cgroup, t)).isEmpty();
            assertThat(probe(served, "--proto", "tcp", "10.96.0.10:80")).contains("\"ok\":false");
        } finally {
            dp.attachSocketLb(cgroup);
        }
        assertThat(probe(served, "--proto", "tcp", "10.96.0.10:80")).contains("\"ok\":true");
    }

    // ---------------------------------------------------------------- helpers

    private String probe(String ns, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(POD.toString(), "probe", "--timeout-ms", "1000"));
        cmd.addAll(List.of(args));
        return runIn(ns, true, cmd);
    }

    /** Runs a command in namespace {@code ns} (nsenter keeps /sys as it is), in the test's cgroup when {@code inCgroup}. */
    private String runIn(String ns, boolean inCgroup, List<String> command) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("nsenter", "--net=/var/run/netns/" + ns, "--"));
        if (inCgroup) cmd.addAll(List.of("sh", "-c", "echo 0 > \"$0\" && exec \"$@\"", cgroup.resolve("cgroup.procs").toString()));
        cmd.addAll(command);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
        return out;
    }

    private Process serve(String ns, String name, String port) throws IOException {
        Process p = new ProcessBuilder("nsenter", "--net=/var/run/netns/" + ns, "--", POD.toString(), "serve", "--name", name,
                "--tcp", port, "--udp", port).redirectErrorStream(true).start();
        var r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line = r.readLine();
        if (!"ready".equals(line)) throw new IllegalStateException("sluice-pod serve " + name + ": " + line);
        Thread.ofVirtual().start(() -> { try { while (r.readLine() != null) { } } catch (IOException ignored) { } });
        return p;
    }

    private static void run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) throw new IllegalStateException(String.join(" ", cmd) + ": " + out);
    }

    private static int ip(String s) { return dev.sluice.net.Ip.parse(s); }

}
