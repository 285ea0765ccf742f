package dev.sluice.datapath;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.bpf.BpfMap;
import dev.sluice.bpf.BpfObject;
import dev.sluice.bpf.Bpffs;
import dev.sluice.bpf.Netns;
import dev.sluice.bpf.TestRun;
import dev.sluice.bpf.UpdateFlag;
import dev.sluice.datapath.maps.CtKey;
import dev.sluice.datapath.maps.CtLimits;
import dev.sluice.datapath.maps.EndpointInfo;
import dev.sluice.datapath.maps.EndpointKey;
import dev.sluice.datapath.maps.IpcacheKey;
import dev.sluice.datapath.maps.IpcacheValue;
import dev.sluice.datapath.maps.LbBackend;
import dev.sluice.datapath.maps.LbConfig;
import dev.sluice.datapath.maps.LbMaps;
import dev.sluice.datapath.maps.LbReverseNat;
import dev.sluice.datapath.maps.LbService;
import dev.sluice.datapath.maps.LbServiceKey;
import dev.sluice.datapath.maps.LbSlotKey;
import dev.sluice.datapath.maps.MetricsKey;
import dev.sluice.datapath.maps.MetricsValue;
import dev.sluice.datapath.maps.NodeConfig;
import dev.sluice.net.Cidr;
import dev.sluice.net.Ip;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * BPF_PROG_TEST_RUN of service translation, reverse translation, affinity, Maglev, the no-backend
 * answers, conntrack keeping a backend, the CT-full refusal and masquerade, on crafted packets with
 * valid checksums (checked again on the way out). The three objects share maps pinned under a
 * temporary bpffs directory, as on a node. Test runs happen on ifindex 1, so endpoints sit there.
 */
@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: network namespaces, BPF, netlink")
class LbProgramTest {
    static final int TC_ACT_OK = 0, TC_ACT_SHOT = 2, TC_ACT_REDIRECT = 7, TCP = 6, UDP = 17, SYN = 0x02, ACK = 0x10;
    static final String A = "10.0.0.5", B = "10.0.0.6", C = "10.0.0.7", REMOTE = "10.0.1.9", NODE = "172.30.0.11", VIP = "10.96.0.10";
    static final String A_MAC = "0a:00:00:00:00:05", LXC_A = "0e:00:00:00:00:05";
    static final String LOOPBACK = "169.254.42.1";

    Path pins;
    BpfObject lxc, netdev;
    WireNetns wire;
    LbMaps lb;

    @BeforeEach
    void load() {
        Bpffs.ensureMounted(Path.of("/sys/fs/bpf"));
        pins = Path.of("/sys/fs/bpf/sl-test-" + UUID.randomUUID().toString().substring(0, 8));
        wire = new WireNetns();
        lxc = open("bpf_lxc.o");
        netdev = open("bpf_netdev.o");
        lb = new LbMaps(lxc::map);
        var ep = lxc.map("sl_endpoints").typed(EndpointKey.CODEC, EndpointInfo.CODEC);
        ep.put(new EndpointKey(Ip.parse(A)), new EndpointInfo(1, 300, 11, 0, A_MAC, LXC_A));
        ep.put(new EndpointKey(Ip.parse(B)), new EndpointInfo(1, 301, 12, 0, "0a:00:00:00:00:06", "0e:00:00:00:00:06"));
        ep.put(new EndpointKey(Ip.parse(C)), new EndpointInfo(1, 302, 13, 0, "0a:00:00:00:00:07", "0e:00:00:00:00:07"));
        var ipc = lxc.map("sl_ipcache").typed(IpcacheKey.CODEC, IpcacheValue.CODEC);
        ipc.put(new IpcacheKey(Cidr.parse("10.0.1.0/24")), new IpcacheValue(2, Ip.parse("172.30.0.12"), IpcacheValue.POD_CIDR));
        ipc.put(new IpcacheKey(Cidr.parse(NODE + "/32")), new IpcacheValue(1, 0, IpcacheValue.LOCAL_NODE));
        lxc.map("sl_config").typed(NodeConfig.KEY, NodeConfig.CODEC).put(0, new NodeConfig(Ip.parse(NODE), 1, 0, 1));
        config(0, 0);
    }

    BpfObject open(String name) {
        BpfObject o = BpfObject.open(DatapathLayoutTest.obj(name), BpfObject.OpenOptions.defaults().withPinRoot(pins));
        o.load();
        return o;
    }

    void config(int flags, int maglev) {
        lb.config().put(0, new LbConfig(Ip.parse(LOOPBACK), maglev, LbConfig.ENABLED | flags, 61000, 65535));
    }

    @AfterEach
    void close() throws IOException {
        // null when load() failed half-way: what was made is still removed, pins included
        if (wire != null) wire.close();
        if (lxc != null) lxc.close();
        if (netdev != null) netdev.close();
        if (!Files.isDirectory(pins)) return;
        try (Stream<Path> s = Files.list(pins)) {
            for (Path p : s.toList()) Files.delete(p);
        }
        Files.delete(pins);
    }

    /** A frontend VIP:port with backends (id, address, port) in slot order. */
    void service(String vip, int port, int proto, int id, int flags, int affinity, int type, Object... backends) {
        int n = backends.length / 3;
        for (int i = 0; i < n; i++) {
            int bid = (Integer) backends[3 * i];
            lb.backends().put(bid, new LbBackend(Ip.parse((String) backends[3 * i + 1]), (Integer) backends[3 * i + 2], proto, 0));
            lb.slots().put(new LbSlotKey(id, i + 1), bid);
        }
        lb.reverseNat().put(id, new LbReverseNat(Ip.parse(vip), port));
        lb.services().put(new LbServiceKey(Ip.parse(vip), port, proto), new LbService(id, n, flags, affinity, type));
    }

    /** The uplink program runs in {@link WireNetns}, where its reverse-path check finds routes and neighbours. */
    TestRun.Result run(BpfObject o, String prog, byte[] frame) {
        return prog.equals("from_netdev") ? wire.run(o.program(prog), frame) : o.program(prog).testRun(TestRun.Input.of(frame));
    }

    long count(int reason, int dir) {
        long sum = 0;
        for (var e : lxc.map("sl_metrics").typed(MetricsKey.CODEC, MetricsValue.CODEC).allPerCpu().entrySet())
            if (e.getKey().reason() == reason && e.getKey().direction() == dir)
                sum += e.getValue().stream().mapToLong(MetricsValue::packets).sum();
        return sum;
    }

    // ---------------------------------------------------------------- tests

    @Test
    void clusterIpIsTranslatedToTheBackendAndTheReplyBack() {
        service(VIP, 80, TCP, 1, 0, 0, LbService.CLUSTER_IP, 7, B, 8080);
        var r = run(lxc, "from_container", Pkt.l4(A_MAC, LXC_A, A, VIP, TCP, 40000, 80, SYN));
        assertThat(r.retval()).isEqualTo(TC_ACT_REDIRECT);   // B is local
        Pkt out = new Pkt(r.dataOut());
        assertThat(out.dst()).isEqualTo(B);
        assertThat(out.dport()).isEqualTo(8080);
        assertThat(out.src()).isEqualTo(A);
        out.assertChecksums();
        // the pod's flow is tracked after translation (the backend), and remembers the frontend
        assertThat(lb.ctTcp().all()).containsKey(new CtKey(Ip.parse(A), Ip.parse(B), 40000, 8080, TCP, CtKey.EGRESS));
        assertThat(lb.ctTcp().get(new CtKey(Ip.parse(A), Ip.parse(VIP), 40000, 80, TCP, CtKey.SERVICE)).orElseThrow().backendId()).isEqualTo(7);

        // B's answer, delivered into A: its source becomes the frontend again
        var back = run(lxc, "to_container", Pkt.l4(LXC_A, A_MAC, B, A, TCP, 8080, 40000, SYN | ACK));
        assertThat(back.retval()).isEqualTo(TC_ACT_OK);
        Pkt rev = new Pkt(back.dataOut());
        assertThat(rev.src()).isEqualTo(VIP);
        assertThat(rev.sport()).isEqualTo(80);
        assertThat(rev.dst()).isEqualTo(A);
        rev.assertChecksums();
    }

    @Test
    void udpWithAndWithoutChecksumIsTranslated() {
        service(VIP, 53, UDP, 2, 0, 0, LbService.CLUSTER_IP, 8, REMOTE, 5353);
        var r = run(lxc, "from_container", Pkt.l4(A_MAC, LXC_A, A, VIP, UDP, 41000, 53, 0));
        assertThat(r.retval()).isEqualTo(TC_ACT_OK);   // remote backend, native routing: the stack routes it
        Pkt out = new Pkt(r.dataOut());
        assertThat(out.dst()).isEqualTo(REMOTE);
        assertThat(out.dport()).isEqualTo(5353);
        out.assertChecksums();
        byte[] noSum = Pkt.l4(A_MAC, LXC_A, A, VIP, UDP, 41001, 53, 0);
        noSum[14 + 20 + 6] = 0;
        noSum[14 + 20 + 7] = 0;
        Pkt out2 = new Pkt(run(lxc, "from_container", noSum).dataOut());
        assertThat(out2.dst()).isEqualTo(REMOTE);
        assertThat(out2.udpChecksum()).isZero();   // "no checksum" stays so
        out2.assertIpChecksum();
    }

    @Test
    void aPodReachingItselfThroughItsServiceIsHairpinned() {
        service(VIP, 80, TCP, 3, 0, 0, LbService.CLUSTER_IP, 9, A, 8080);
        var r = run(lxc, "from_container", Pkt.l4(A_MAC, LXC_A, A, VIP, TCP, 40001, 80, SYN));
        assertThat(r.retval()).isEqualTo(TC_ACT_REDIRECT);
        Pkt out = new Pkt(r.dataOut());
        assertThat(out.src()).isEqualTo(LOOPBACK);
        assertThat(out.dst()).isEqualTo(A);
        out.assertChecksums();
        // the same packet arrives in A; A answers the loopback; that answer goes back into A ...
        assertThat(run(lxc, "to_container", r.dataOut()).retval()).isEqualTo(TC_ACT_OK);
        var ans = run(lxc, "from_container", Pkt.l4(A_MAC, LXC_A, A, LOOPBACK, TCP, 8080, 40001, SYN | ACK));
        assertThat(ans.retval()).isEqualTo(TC_ACT_REDIRECT);
        // ... where to_container makes it the frontend's answer to A
        var in = run(lxc, "to_container", ans.dataOut());
        assertThat(in.retval()).isEqualTo(TC_ACT_OK);
        Pkt p = new Pkt(in.dataOut());
        assertThat(p.src()).isEqualTo(VIP);
        assertThat(p.sport()).isEqualTo(80);
        assertThat(p.dst()).isEqualTo(A);
        assertThat(p.dport()).isEqualTo(40001);
        p.assertChecksums();
    }

    @Test
    void clientIpAffinityKeepsOneBackendAcrossConnections() {
        service(VIP, 80, TCP, 4, LbService.AFFINITY, 600, LbService.CLUSTER_IP, 1, B, 80, 2, C, 80, 3, REMOTE, 80);
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 40; i++) seen.add(new Pkt(run(lxc, "from_container", Pkt.l4(A_MAC, LXC_A, A, VIP, TCP, 30000 + i, 80, SYN)).dataOut()).dst());
        assertThat(seen).hasSize(1);
        // without affinity the same 40 connections spread (random slots; 3^-39 chance of one backend)
        service(VIP, 81, TCP, 5, 0, 0, LbService.CLUSTER_IP, 1, B, 80, 2, C, 80, 3, REMOTE, 80);
        Set<String> spread = new HashSet<>();
        for (int i = 0; i < 40; i++) spread.add(new Pkt(run(lxc, "from_container", Pkt.l4(A_MAC, LXC_A, A, VIP, TCP, 30000 + i, 81, SYN)).dataOut()).dst());
        assertThat(spread).hasSizeGreaterThan(1);
    }

    @Test
    void maglevTableChoosesTheBackendAndAFlowAlwaysGetsTheSame() {
        config(0, 251);
        service(VIP, 80, TCP, 6, LbService.MAGLEV, 0, LbService.CLUSTER_IP, 1, B, 80, 2, C, 80);
        // a table that only names backend 2: the slots (which also hold 1) must not be used
        try (BpfMap inner = BpfMap.create(BpfMap.TYPE_ARRAY, "t_maglev", 4, 4, 251, 0x1000)) {
            for (int i = 0; i < 251; i++) inner.update(u32(i), u32(2), UpdateFlag.ANY);
            lb.maglev().update(u32(6), u32(inner.fd()), UpdateFlag.ANY);
        }
        for (int i = 0; i < 10; i++)
            assertThat(new Pkt(run(lxc, "from_container", Pkt.l4(A_MAC, LXC_A, A, VIP, TCP, 20000 + i, 80, SYN)).dataOut()).dst()).isEqualTo(C);
    }

    @Test
    void noBackendRejectAnswersIcmpPortUnreachableAndCounts() {
        service(VIP, 80, TCP, 7, LbService.REJECT, 0, LbService.CLUSTER_IP);
        byte[] syn = Pkt.l4(A_MAC, LXC_A, A, VIP, TCP, 40002, 80, SYN);
        var r = run(lxc, "from_container", syn);
        assertThat(r.retval()).isEqualTo(TC_ACT_REDIRECT);
        byte[] o = r.dataOut();
        assertThat(o).hasSize(14 + 20 + 8 + 28);
        Pkt p = new Pkt(o);
        assertThat(Packets.dstMac(o)).isEqualTo(A_MAC);
        assertThat(p.proto()).isEqualTo(1);
        assertThat(p.src()).isEqualTo(VIP);
        assertThat(p.dst()).isEqualTo(A);
        assertThat(o[34] & 0xff).isEqualTo(3);   // destination unreachable
        assertThat(o[35] & 0xff).isEqualTo(3);   // port unreachable
        p.assertIpChecksum();
        assertThat(Pkt.fold(Pkt.sum(o, 34, o.length))).as("ICMP checksum").isZero();
        // it quotes the offending IP header and the first 8 bytes of TCP
        for (int i = 0; i < 28; i++) assertThat(o[42 + i]).isEqualTo(syn[14 + i]);
        assertThat(count(DropReason.NO_BACKEND.code, 2)).isEqualTo(1);
    }

    @Test
    void noBackendDropDropsAndCounts() {
        service(VIP, 80, TCP, 8, 0, 0, LbService.CLUSTER_IP);
        assertThat(run(lxc, "from_container", Pkt.l4(A_MAC, LXC_A, A, VIP, TCP, 40003, 80, SYN)).retval()).isEqualTo(TC_ACT_SHOT);
        assertThat(count(DropReason.NO_BACKEND.code, 2)).isEqualTo(1);
    }

    @Test
    void anEstablishedConnectionKeepsItsBackendWhenTheBackendListChanges() {
        service(VIP, 80, TCP, 9, 0, 0, LbService.CLUSTER_IP, 1, B, 80);
        assertThat(new Pkt(run(lxc, "from_container", Pkt.l4(A_MAC, LXC_A, A, VIP, TCP, 40004, 80, SYN)).dataOut()).dst()).isEqualTo(B);
        // B leaves the slots (another Service still uses it, so the backend entry stays); C comes
        service(VIP, 80, TCP, 9, 0, 0, LbService.CLUSTER_IP, 2, C, 80);
        assertThat(new Pkt(run(lxc, "from_container", Pkt.l4(A_MAC, LXC_A, A, VIP, TCP, 40004, 80, ACK)).dataOut()).dst()).isEqualTo(B);
        assertThat(new Pkt(run(lxc, "from_container", Pkt.l4(A_MAC, LXC_A, A, VIP, TCP, 40005, 80, SYN)).dataOut()).dst()).isEqualTo(C);
        // once B is gone from the backend map, the old flow is moved rather than blackholed
        lb.backends().remove(1);
        assertThat(new Pkt(run(lxc, "from_container", Pkt.l4(A_MAC, LXC_A, A, VIP, TCP, 40004, 80, ACK)).dataOut()).dst()).isEqualTo(C);
    }

    @Test
    void aFullConntrackTableRefusesNewFlowsWithItsReason() {
        lb.ctLimits().put(0, new CtLimits(1000, 4));
        for (int i = 0; i < 4; i++)
            assertThat(run(lxc, "from_container", Pkt.l4(A_MAC, LXC_A, A, REMOTE, UDP, 50000 + i, 53, 0)).retval()).isEqualTo(TC_ACT_OK);
        assertThat(lb.ctFill().get(1)).contains(4L);
        assertThat(run(lxc, "from_container", Pkt.l4(A_MAC, LXC_A, A, REMOTE, UDP, 50009, 53, 0)).retval()).isEqualTo(TC_ACT_SHOT);
        assertThat(count(DropReason.CT_FULL.code, 2)).isEqualTo(1);
        // established flows still pass
        assertThat(run(lxc, "from_container", Pkt.l4(A_MAC, LXC_A, A, REMOTE, UDP, 50001, 53, 0)).retval()).isEqualTo(TC_ACT_OK);
    }

    @Test
    void conntrackSeesTheReplyOnTheOtherSideAndRelatedIcmp() {
        run(lxc, "from_container", Pkt.l4(A_MAC, LXC_A, A, REMOTE, TCP, 40100, 80, SYN));
        // REMOTE's answer into A: its tuple is reversed, so it finds the egress entry (reply)
        run(lxc, "to_container", Pkt.l4(LXC_A, A_MAC, REMOTE, A, TCP, 80, 40100, SYN | ACK));
        var e = lb.ctTcp().get(new CtKey(Ip.parse(A), Ip.parse(REMOTE), 40100, 80, TCP, CtKey.EGRESS)).orElseThrow();
        assertThat(e.flags() & dev.sluice.datapath.maps.CtEntry.REPLY_SEEN).isNotZero();
        assertThat(e.packets()).isEqualTo(2);
        // and no ingress entry was made for it: it was not a new flow
        assertThat(lb.ctTcp().get(new CtKey(Ip.parse(REMOTE), Ip.parse(A), 80, 40100, TCP, CtKey.INGRESS))).isEmpty();
    }

    @Test
    void masqueradeLeavesWithTheNodeAddressAndTheReplyComesBack() {
        config(LbConfig.MASQUERADE, 0);
        var r = run(lxc, "from_container", Pkt.l4(A_MAC, LXC_A, A, "8.8.8.8", UDP, 42000, 53, 0));
        assertThat(r.retval()).isEqualTo(TC_ACT_REDIRECT);   // out of the uplink, next hop by the kernel
        Pkt out = new Pkt(r.dataOut());
        assertThat(out.src()).isEqualTo(NODE);
        assertThat(out.sport()).isBetween(61000, 65535);
        out.assertChecksums();
        // the same flow keeps its port
        assertThat(new Pkt(run(lxc, "from_container", Pkt.l4(A_MAC, LXC_A, A, "8.8.8.8", UDP, 42000, 53, 0)).dataOut()).sport()).isEqualTo(out.sport());
        // a pod-to-pod flow is not masqueraded
        assertThat(new Pkt(run(lxc, "from_container", Pkt.l4(A_MAC, LXC_A, A, REMOTE, UDP, 42000, 53, 0)).dataOut()).src()).isEqualTo(A);

        var back = run(netdev, "from_netdev", Pkt.l4("02:00:00:00:00:01", "02:00:00:00:00:11", "8.8.8.8", NODE, UDP, 53, out.sport(), 0));
        assertThat(back.retval()).isEqualTo(TC_ACT_REDIRECT);   // into A
        Pkt in = new Pkt(back.dataOut());
        assertThat(in.dst()).isEqualTo(A);
        assertThat(in.dport()).isEqualTo(42000);
        assertThat(Packets.dstMac(back.dataOut())).isEqualTo(A_MAC);
        in.assertChecksums();
        assertThat(lb.snat().all().keySet()).extracting(CtKey::dir).containsExactlyInAnyOrder(CtKey.NAT_OUT, CtKey.NAT_IN);
    }

    @Test
    void nodePortFromOutsideToARemoteBackendIsSourceNatedAndTranslatedBack() {
        service(NODE, 30080, TCP, 10, LbService.EXTERNAL, 0, LbService.NODE_PORT, 5, REMOTE, 80);
        var r = run(netdev, "from_netdev", Pkt.l4("02:00:00:00:00:c8", "02:00:00:00:00:11", "172.30.0.200", NODE, TCP, 45000, 30080, SYN));
        assertThat(r.retval()).isEqualTo(TC_ACT_REDIRECT);
        Pkt out = new Pkt(r.dataOut());
        assertThat(out.dst()).isEqualTo(REMOTE);
        assertThat(out.dport()).isEqualTo(80);
        assertThat(out.src()).isEqualTo(NODE);
        out.assertChecksums();
        // the backend's reply to the node: back to the client, from the NodePort
        var back = run(netdev, "from_netdev", Pkt.l4("02:00:00:00:00:12", "02:00:00:00:00:11", REMOTE, NODE, TCP, 80, out.sport(), SYN | ACK));
        assertThat(back.retval()).isEqualTo(TC_ACT_REDIRECT);
        Pkt in = new Pkt(back.dataOut());
        assertThat(in.src()).isEqualTo(NODE);
        assertThat(in.sport()).isEqualTo(30080);
        assertThat(in.dst()).isEqualTo("172.30.0.200");
        assertThat(in.dport()).isEqualTo(45000);
        in.assertChecksums();
        // a ClusterIP frontend does not answer from outside
        service(VIP, 80, TCP, 11, 0, 0, LbService.CLUSTER_IP, 5, REMOTE, 80);
        var ci = run(netdev, "from_netdev", Pkt.l4("02:00:00:00:00:c8", "02:00:00:00:00:11", "172.30.0.200", VIP, TCP, 45001, 80, SYN));
        assertThat(new Pkt(ci.dataOut()).dst()).isEqualTo(VIP);
    }

    // ---------------------------------------------------------------- ICMP errors about Service flows

    static final String WORLD = "172.30.0.200", NODE_MAC = "02:00:00:00:00:11", ROUTER = "10.0.1.1";

    /** An ICMP error (fragmentation needed carries next-hop MTU 1200) quoting {@code quote}, valid checksums. */
    static byte[] icmpError(String srcMac, String dstMac, String src, String dst, int type, int code, byte[] quote) {
        return Packets.raw(srcMac, dstMac, src, dst, 1, Packets.icmp(type, code, type == 3 && code == 4 ? 1200 : 0, quote), 1, 0, false, -1);
    }

    /** The IP packet of a frame, at most {@code len} bytes of it: what an error quotes. */
    static byte[] ipOf(byte[] frame, int len) { return java.util.Arrays.copyOfRange(frame, 14, Math.min(frame.length, 14 + len)); }

    /** The quote an ICMP error frame carries. */
    static byte[] quoteOf(byte[] frame) { return java.util.Arrays.copyOfRange(frame, 14 + 20 + 8, frame.length); }

    static void assertIcmpChecksums(byte[] o) {
        assertThat(Pkt.fold(Pkt.sum(o, 14, 34))).as("outer IP checksum").isZero();
        assertThat(Pkt.fold(Pkt.sum(o, 34, o.length))).as("ICMP checksum").isZero();
    }

    @Test
    void anIcmpErrorAboutAPodsServiceFlowNamesTheFrontendAgain() {
        service(VIP, 80, TCP, 12, 0, 0, LbService.CLUSTER_IP, 7, REMOTE, 8080);
        byte[] sent = Pkt.l4(A_MAC, LXC_A, A, VIP, TCP, 40200, 80, SYN);
        byte[] wire = run(lxc, "from_container", sent).dataOut();
        assertThat(new Pkt(wire).dst()).isEqualTo(REMOTE);
        // the backend's node says "fragmentation needed", quoting the whole packet (TCP checksum included)
        var e = run(lxc, "to_container", icmpError(LXC_A, A_MAC, REMOTE, A, 3, 4, ipOf(wire, 9999)));
        assertThat(e.retval()).isEqualTo(TC_ACT_OK);
        byte[] o = e.dataOut();
        assertThat(new Pkt(o).src()).as("the backend itself sent it: now the frontend").isEqualTo(VIP);
        assertThat(new Pkt(o).dst()).isEqualTo(A);
        assertThat(quoteOf(o)).as("the quote is the packet the pod sent, checksums included").isEqualTo(ipOf(sent, 9999));
        assertIcmpChecksums(o);
        // from a router on the way, quoting only the IP header and 8 bytes (RFC 792): the router stays the source
        var r = run(lxc, "to_container", icmpError(LXC_A, A_MAC, ROUTER, A, 3, 4, ipOf(wire, 28)));
        assertThat(r.retval()).isEqualTo(TC_ACT_OK);
        assertThat(new Pkt(r.dataOut()).src()).isEqualTo(ROUTER);
        assertThat(quoteOf(r.dataOut())).isEqualTo(ipOf(sent, 28));
        assertIcmpChecksums(r.dataOut());
        // time exceeded too
        var t = run(lxc, "to_container", icmpError(LXC_A, A_MAC, ROUTER, A, 11, 0, ipOf(wire, 9999)));
        assertThat(quoteOf(t.dataOut())).isEqualTo(ipOf(sent, 9999));
    }

    @Test
    void udpQuotesKeepTheirChecksumOrItsAbsence() {
        service(VIP, 53, UDP, 13, 0, 0, LbService.CLUSTER_IP, 8, REMOTE, 5353);
        byte[] sent = Pkt.l4(A_MAC, LXC_A, A, VIP, UDP, 41200, 53, 0);
        byte[] wire = run(lxc, "from_container", sent).dataOut();
        var e = run(lxc, "to_container", icmpError(LXC_A, A_MAC, ROUTER, A, 3, 4, ipOf(wire, 9999)));
        assertThat(quoteOf(e.dataOut())).isEqualTo(ipOf(sent, 9999));
        assertIcmpChecksums(e.dataOut());
        byte[] noSum = Pkt.l4(A_MAC, LXC_A, A, VIP, UDP, 41201, 53, 0);
        noSum[40] = 0;
        noSum[41] = 0;
        byte[] wire2 = run(lxc, "from_container", noSum).dataOut();
        var n = run(lxc, "to_container", icmpError(LXC_A, A_MAC, ROUTER, A, 3, 4, ipOf(wire2, 9999)));
        assertThat(quoteOf(n.dataOut())).as("no checksum stays none").isEqualTo(ipOf(noSum, 9999));
        assertIcmpChecksums(n.dataOut());
    }

    /**
     * Over random flows (seeded, printed): TCP or UDP (with and without checksum), any ports, a
     * quote of any length from the RFC 792 minimum to the whole packet, the backend or a router as
     * the error's source: the quote that reaches the pod is always its own packet to the frontend,
     * byte for byte up to the quoted length, and the ICMP and outer checksums hold.
     */
    @Test
    void anyQuoteOfAServiceFlowComesBackAsThePodsOwnPacket() {
        long seed = Long.getLong("sluice.seed", System.nanoTime());   // -Dsluice.seed=N replays a run
        System.out.println("icmp quote property seed=" + seed);
        var r = new java.util.SplittableRandom(seed);
        for (int i = 0; i < 60; i++) {
            int proto = r.nextBoolean() ? TCP : UDP, vport = r.nextInt(1, 65536), bport = r.nextInt(1, 65536);
            int id = 100 + i, sport = r.nextInt(1024, 65536);
            service(VIP, vport, proto, id, 0, 0, LbService.CLUSTER_IP, 200 + i, REMOTE, bport);
            byte[] sent = Pkt.l4(A_MAC, LXC_A, A, VIP, proto, sport, vport, SYN);
            if (proto == UDP && r.nextBoolean()) {
                sent[40] = 0;
                sent[41] = 0;
            }
            byte[] wire = run(lxc, "from_container", sent).dataOut();
            int len = r.nextInt(28, wire.length - 14 + 1);
            String from = r.nextBoolean() ? REMOTE : ROUTER;
            var e = run(lxc, "to_container", icmpError(LXC_A, A_MAC, from, A, r.nextBoolean() ? 3 : 11, r.nextInt(0, 5), ipOf(wire, len)));
            String what = "seed " + seed + " case " + i + " proto " + proto + " quote " + len + " from " + from;
            assertThat(e.retval()).as(what).isEqualTo(TC_ACT_OK);
            byte[] got = quoteOf(e.dataOut()), want = ipOf(sent, len);
            if (proto == TCP && len == 20 + 17) {
                // cut inside the TCP checksum: its one quoted byte cannot be recomputed (the new value
                // depends on the missing byte's carry), so it stays as the backend saw it
                got = java.util.Arrays.copyOf(got, 36);
                want = java.util.Arrays.copyOf(want, 36);
            }
            assertThat(got).as(what).isEqualTo(want);
            assertThat(new Pkt(e.dataOut()).src()).as(what).isEqualTo(from.equals(REMOTE) ? VIP : ROUTER);
            assertIcmpChecksums(e.dataOut());
        }
    }

    /**
     * The attacks: errors that do not quote the pod's own packet to its backend are never
     * translated (they stay exactly as they came, to the verdicts they had before): another port of
     * the backend, a quote too short to carry the ports, an error quoting an error, a quote whose
     * source is another pod, and a quote of a flow that was never translated.
     */
    @Test
    void errorsThatDoNotQuoteTheServiceFlowStayAsTheyAre() {
        service(VIP, 80, TCP, 14, 0, 0, LbService.CLUSTER_IP, 7, REMOTE, 8080);
        byte[] wire = run(lxc, "from_container", Pkt.l4(A_MAC, LXC_A, A, VIP, TCP, 40300, 80, SYN)).dataOut();
        byte[] otherPort = ipOf(wire, 9999);
        otherPort[22] = (byte) 0x23;   // destination port 8080 -> 8995, IP checksum untouched (not in it)
        byte[] truncated = ipOf(wire, 22);
        byte[] nested = ipOf(icmpError(LXC_A, A_MAC, REMOTE, A, 3, 4, ipOf(wire, 28)), 9999);
        byte[] fromB = ipOf(Pkt.l4("0a:00:00:00:00:06", LXC_A, B, REMOTE, TCP, 40300, 8080, SYN), 9999);
        byte[] untranslated = ipOf(run(lxc, "from_container", Pkt.l4(A_MAC, LXC_A, A, REMOTE, TCP, 40301, 8080, SYN)).dataOut(), 9999);
        for (byte[] quote : java.util.List.of(otherPort, truncated, nested, fromB, untranslated)) {
            byte[] in = icmpError(LXC_A, A_MAC, REMOTE, A, 3, 4, quote);
            var r = run(lxc, "to_container", in);
            if (r.retval() == TC_ACT_OK) assertThat(r.dataOut()).as("delivered untouched").isEqualTo(in);
            else assertThat(r.retval()).isEqualTo(TC_ACT_SHOT);
        }
    }

    @Test
    void anIcmpErrorAboutANodePortFlowReachesTheWorldClientFromTheFrontend() {
        service(NODE, 30080, TCP, 15, LbService.EXTERNAL, 0, LbService.NODE_PORT, 5, REMOTE, 80);
        byte[] sent = Pkt.l4(WireNetns.WORLD_MAC, NODE_MAC, WORLD, NODE, TCP, 45100, 30080, SYN);
        var r = run(netdev, "from_netdev", sent);
        assertThat(r.retval()).isEqualTo(TC_ACT_REDIRECT);
        byte[] wire = r.dataOut();
        assertThat(new Pkt(wire).src()).isEqualTo(NODE);   // source-NATed towards the backend's node
        // the backend answers "fragmentation needed" to this node, quoting what it got
        var e = run(netdev, "from_netdev", icmpError(WireNetns.NODE2_MAC, NODE_MAC, REMOTE, NODE, 3, 4, ipOf(wire, 9999)));
        assertThat(e.retval()).isEqualTo(TC_ACT_REDIRECT);   // out of the uplink, to the client
        byte[] o = e.dataOut();
        assertThat(new Pkt(o).dst()).isEqualTo(WORLD);
        assertThat(new Pkt(o).src()).as("from the frontend the client knows").isEqualTo(NODE);
        assertThat(quoteOf(o)).as("the client's own packet to the NodePort").isEqualTo(ipOf(sent, 9999));
        assertIcmpChecksums(o);
        // not about a flow this node translated: left to the node's stack, untouched
        byte[] otherPort = ipOf(wire, 9999);
        otherPort[20] = (byte) 0x11;   // the SNAT source port changed
        byte[] in = icmpError(WireNetns.NODE2_MAC, NODE_MAC, REMOTE, NODE, 3, 4, otherPort);
        var n = run(netdev, "from_netdev", in);
        assertThat(n.retval()).isEqualTo(TC_ACT_OK);
        assertThat(n.dataOut()).isEqualTo(in);
        // a quote whose source is not this node (someone else's flow) is not ours either
        byte[] notOurs = ipOf(Pkt.l4(WireNetns.WORLD_MAC, NODE_MAC, WORLD, REMOTE, TCP, 45100, 80, SYN), 9999);
        byte[] in2 = icmpError(WireNetns.NODE2_MAC, NODE_MAC, REMOTE, NODE, 3, 4, notOurs);
        assertThat(run(netdev, "from_netdev", in2).dataOut()).isEqualTo(in2);
    }

    @Test
    void anIcmpErrorAboutAMasqueradedFlowReachesThePod() {
        config(LbConfig.MASQUERADE, 0);
        byte[] sent = Pkt.l4(A_MAC, LXC_A, A, "8.8.8.8", UDP, 42100, 53, 0);
        byte[] wire = run(lxc, "from_container", sent).dataOut();
        assertThat(new Pkt(wire).src()).isEqualTo(NODE);
        var e = run(netdev, "from_netdev", icmpError("02:00:00:00:00:01", NODE_MAC, "8.8.8.8", NODE, 3, 4, ipOf(wire, 9999)));
        assertThat(e.retval()).isEqualTo(TC_ACT_REDIRECT);   // into A
        byte[] o = e.dataOut();
        assertThat(new Pkt(o).dst()).isEqualTo(A);
        assertThat(new Pkt(o).src()).isEqualTo("8.8.8.8");
        assertThat(quoteOf(o)).isEqualTo(ipOf(sent, 9999));
        assertIcmpChecksums(o);
        // and to_container takes it as related to A's flow, untouched
        var in = run(lxc, "to_container", o);
        assertThat(in.retval()).isEqualTo(TC_ACT_OK);
        assertThat(in.dataOut()).isEqualTo(o);
    }

    /** A TCP segment with {@code payload} bytes and DF set, valid checksums. */
    static byte[] bigDf(String srcMac, String dstMac, String src, String dst, int sport, int dport, int payload) {
        ByteBuffer b = ByteBuffer.allocate(14 + 20 + 20 + payload);
        b.put(Packets.mac(dstMac)).put(Packets.mac(srcMac)).putShort((short) 0x0800);
        b.put((byte) 0x45).put((byte) 0).putShort((short) (40 + payload)).putShort((short) 7).putShort((short) 0x4000)
                .put((byte) 64).put((byte) TCP).putShort((short) 0).putInt(Ip.parse(src)).putInt(Ip.parse(dst));
        b.putShort((short) sport).putShort((short) dport).putInt(1000).putInt(1).put((byte) 0x50).put((byte) ACK).putShort((short) 8192).putInt(0);
        byte[] a = b.array();
        int ipc = Pkt.fold(Pkt.sum(a, 14, 34));
        a[24] = (byte) (ipc >> 8);
        a[25] = (byte) ipc;
        int c = Pkt.fold(Pkt.l4Sum(a));
        a[50] = (byte) (c >> 8);
        a[51] = (byte) c;
        return a;
    }

    /**
     * A NodePort packet for a local backend behind a smaller MTU, DF set: the data path answers
     * "fragmentation needed" itself, from the frontend, quoting the client's packet as the client
     * sent it (the node's stack would quote the backend's address, which the client ignores).
     * Without DF it is delivered as before (the stack fragments it).
     */
    @Test
    void aNodePortPacketTooBigForItsLocalBackendIsAnsweredFromTheFrontend() throws Exception {
        int up1 = Netns.inNetns(wire.path, () -> Netns.ifindex("up1"));
        assertThat(new ProcessBuilder("ip", "-n", wire.name, "link", "set", "up1", "mtu", "1280").start().waitFor()).isZero();
        lxc.map("sl_endpoints").typed(EndpointKey.CODEC, EndpointInfo.CODEC)
                .put(new EndpointKey(Ip.parse("10.0.0.8")), new EndpointInfo(up1, 303, 14, 0, "0a:00:00:00:00:08", "0e:00:00:00:00:08"));
        service(NODE, 30080, TCP, 28, LbService.EXTERNAL, 0, LbService.NODE_PORT, 9, "10.0.0.8", 8080);
        byte[] sent = bigDf(WireNetns.WORLD_MAC, NODE_MAC, WORLD, NODE, 47000, 30080, 1400);
        var r = wire.run(netdev.program("from_netdev"), sent);
        assertThat(r.retval()).isEqualTo(TC_ACT_REDIRECT);   // back where it came from
        byte[] o = r.dataOut();
        assertThat(o).hasSize(14 + 20 + 8 + 28);
        assertThat(Packets.dstMac(o)).isEqualTo(WireNetns.WORLD_MAC);
        Pkt p = new Pkt(o);
        assertThat(p.src()).as("from the frontend").isEqualTo(NODE);
        assertThat(p.dst()).isEqualTo(WORLD);
        assertThat(o[34] & 0xff).isEqualTo(3);
        assertThat(o[35] & 0xff).isEqualTo(4);
        assertThat(ByteBuffer.wrap(o).getShort(40) & 0xffff).as("next-hop MTU").isEqualTo(1280);
        assertThat(quoteOf(o)).as("the client's packet as it sent it").isEqualTo(ipOf(sent, 28));
        assertIcmpChecksums(o);
        assertThat(count(DropReason.FRAG_NEEDED.code, 1)).as("reported with its reason").isEqualTo(1);
        // without DF: delivered through the stack, which fragments it
        byte[] noDf = bigDf(WireNetns.WORLD_MAC, NODE_MAC, WORLD, NODE, 47001, 30080, 1400);
        noDf[20] = 0;
        int c = Pkt.fold(Pkt.sum(noDf, 14, 24) + Pkt.sum(noDf, 26, 34));
        noDf[24] = (byte) (c >> 8);
        noDf[25] = (byte) c;
        assertThat(wire.run(netdev.program("from_netdev"), noDf).retval()).isEqualTo(TC_ACT_OK);
        // a packet that fits is delivered to the backend
        assertThat(wire.run(netdev.program("from_netdev"), bigDf(WireNetns.WORLD_MAC, NODE_MAC, WORLD, NODE, 47002, 30080, 1000)).retval())
                .isEqualTo(TC_ACT_REDIRECT);
    }

    // ---------------------------------------------------------------- DSR (lib/dsr.h)

    static final String NODE2 = "172.30.0.12", LB_IP = "10.200.0.1";

    /** The frame with the DSR option (frontend, entry node) inserted after its 20-byte IP header. */
    static byte[] withDsr(byte[] frame, String vip, int vport, String entry) {
        ByteBuffer b = ByteBuffer.allocate(frame.length + 12);
        b.put(frame, 0, 34).put((byte) 0x9e).put((byte) 12).putShort((short) vport).putInt(Ip.parse(vip)).putInt(Ip.parse(entry))
                .put(frame, 34, frame.length - 34);
        byte[] a = b.array();
        a[14] = 0x48;
        int tot = ((a[16] & 0xff) << 8 | (a[17] & 0xff)) + 12;
        a[16] = (byte) (tot >> 8);
        a[17] = (byte) tot;
        a[24] = 0;
        a[25] = 0;
        int c = Pkt.fold(Pkt.sum(a, 14, 46));
        a[24] = (byte) (c >> 8);
        a[25] = (byte) c;
        return a;
    }

    /** The frame without its 12-byte option (what the pod must receive). */
    static byte[] withoutDsr(byte[] a) {
        byte[] f = new byte[a.length - 12];
        System.arraycopy(a, 0, f, 0, 34);
        System.arraycopy(a, 46, f, 34, a.length - 46);
        f[14] = 0x45;
        int tot = ((f[16] & 0xff) << 8 | (f[17] & 0xff)) - 12;
        f[16] = (byte) (tot >> 8);
        f[17] = (byte) tot;
        f[24] = 0;
        f[25] = 0;
        int c = Pkt.fold(Pkt.sum(f, 14, 34));
        f[24] = (byte) (c >> 8);
        f[25] = (byte) c;
        return f;
    }

    void dsrNode(int lbFlags) {
        config(lbFlags, 0);
        lxc.map("sl_ipcache").typed(IpcacheKey.CODEC, IpcacheValue.CODEC)
                .put(new IpcacheKey(Cidr.parse(NODE2 + "/32")), new IpcacheValue(6, 0, 0));
    }

    @Test
    void dsrKeepsTheClientAndCarriesTheFrontendOnTheSynOnly() {
        dsrNode(LbConfig.DSR_TCP | LbConfig.DSR_UDP);
        service(NODE, 30080, TCP, 20, LbService.EXTERNAL, 0, LbService.NODE_PORT, 5, REMOTE, 80);
        var r = run(netdev, "from_netdev", Pkt.l4(WireNetns.WORLD_MAC, NODE_MAC, WORLD, NODE, TCP, 46000, 30080, SYN));
        assertThat(r.retval()).isEqualTo(TC_ACT_REDIRECT);
        byte[] o = r.dataOut();
        assertThat(o[14]).as("IP header of 32 bytes").isEqualTo((byte) 0x48);
        ByteBuffer b = ByteBuffer.wrap(o);
        assertThat(Ip.format(b.getInt(26))).as("the client stays the source").isEqualTo(WORLD);
        assertThat(Ip.format(b.getInt(30))).isEqualTo(REMOTE);
        assertThat(o[34] & 0xff).isEqualTo(0x9e);
        assertThat(o[35]).isEqualTo((byte) 12);
        assertThat(b.getShort(36) & 0xffff).isEqualTo(30080);
        assertThat(Ip.format(b.getInt(38))).isEqualTo(NODE);
        assertThat(Ip.format(b.getInt(42))).as("entry node").isEqualTo(NODE);
        assertThat(Pkt.fold(Pkt.sum(o, 14, 46))).as("IP checksum over the option").isZero();
        new Pkt(withoutDsr(o)).assertChecksums();   // TCP untouched by the option
        assertThat(new Pkt(withoutDsr(o)).dport()).isEqualTo(80);
        // the rest of the connection: translated, no option, no SNAT
        byte[] ack = run(netdev, "from_netdev", Pkt.l4(WireNetns.WORLD_MAC, NODE_MAC, WORLD, NODE, TCP, 46000, 30080, ACK)).dataOut();
        assertThat(ack[14]).isEqualTo((byte) 0x45);
        assertThat(new Pkt(ack).src()).isEqualTo(WORLD);
        assertThat(new Pkt(ack).dst()).isEqualTo(REMOTE);
        new Pkt(ack).assertChecksums();
        assertThat(lb.snat().all()).isEmpty();
        // UDP: the option on every datagram
        service(NODE, 30053, UDP, 21, LbService.EXTERNAL, 0, LbService.NODE_PORT, 6, REMOTE, 53);
        for (int i = 0; i < 2; i++)
            assertThat(run(netdev, "from_netdev", Pkt.l4(WireNetns.WORLD_MAC, NODE_MAC, WORLD, NODE, UDP, 46001, 30053, 0)).dataOut()[14])
                    .isEqualTo((byte) 0x48);
        // a client with IP options of its own leaves no room: dropped with its reason
        byte[] opts = withDsr(Pkt.l4(WireNetns.WORLD_MAC, NODE_MAC, WORLD, NODE, TCP, 46002, 30080, SYN), "1.1.1.1", 0x0101, "1.1.1.1");
        java.util.Arrays.fill(opts, 34, 46, (byte) 1);   // twelve NOP options
        int c = Pkt.fold(Pkt.sum(opts, 14, 24) + Pkt.sum(opts, 26, 46));
        opts[24] = (byte) (c >> 8);
        opts[25] = (byte) c;
        assertThat(run(netdev, "from_netdev", opts).retval()).isEqualTo(TC_ACT_SHOT);
        assertThat(count(DropReason.DSR_NO_ROOM.code, 1)).isEqualTo(1);
    }

    @Test
    void hybridIsDsrForTcpAndSnatForUdp() {
        dsrNode(LbConfig.DSR_TCP);
        service(NODE, 30080, TCP, 22, LbService.EXTERNAL, 0, LbService.NODE_PORT, 5, REMOTE, 80);
        service(NODE, 30053, UDP, 23, LbService.EXTERNAL, 0, LbService.NODE_PORT, 6, REMOTE, 53);
        assertThat(run(netdev, "from_netdev", Pkt.l4(WireNetns.WORLD_MAC, NODE_MAC, WORLD, NODE, TCP, 46010, 30080, SYN)).dataOut()[14])
                .isEqualTo((byte) 0x48);
        Pkt udp = new Pkt(run(netdev, "from_netdev", Pkt.l4(WireNetns.WORLD_MAC, NODE_MAC, WORLD, NODE, UDP, 46011, 30053, 0)).dataOut());
        assertThat(udp.src()).isEqualTo(NODE);
        // and snat mode never adds the option
        config(0, 0);
        Pkt tcp = new Pkt(run(netdev, "from_netdev", Pkt.l4(WireNetns.WORLD_MAC, NODE_MAC, WORLD, NODE, TCP, 46012, 30080, SYN)).dataOut());
        assertThat(tcp.src()).isEqualTo(NODE);
    }

    @Test
    void theBackendsNodeDeliversWithoutTheOptionAndAnswersFromTheFrontend() {
        dsrNode(LbConfig.DSR_TCP | LbConfig.DSR_UDP);
        service(NODE, 30080, TCP, 24, LbService.EXTERNAL, 0, LbService.NODE_PORT, 5, B, 8080);
        // node2 chose B (here) for a world client of its own NodePort 30080
        byte[] sent = Pkt.l4(WireNetns.NODE2_MAC, NODE_MAC, WORLD, B, TCP, 46100, 8080, SYN);
        var r = run(netdev, "from_netdev", withDsr(sent, NODE2, 30080, NODE2));
        assertThat(r.retval()).isEqualTo(TC_ACT_REDIRECT);   // into B
        byte[] in = r.dataOut();
        assertThat(java.util.Arrays.copyOfRange(in, 12, in.length)).as("the client's packet, without the option")
                .isEqualTo(java.util.Arrays.copyOfRange(sent, 12, sent.length));
        var e = lb.ctTcp().get(new CtKey(Ip.parse(WORLD), Ip.parse(B), 46100, 8080, TCP, CtKey.INGRESS)).orElseThrow();
        assertThat(e.flags() & dev.sluice.datapath.maps.CtEntry.DSR).isNotZero();
        // B's answer leaves this node straight to the client, from node2's NodePort
        var back = run(lxc, "from_container", Pkt.l4("0a:00:00:00:00:06", "0e:00:00:00:00:06", B, WORLD, TCP, 8080, 46100, SYN | ACK));
        assertThat(back.retval()).isEqualTo(TC_ACT_REDIRECT);
        Pkt p = new Pkt(back.dataOut());
        assertThat(p.src()).isEqualTo(NODE2);
        assertThat(p.sport()).isEqualTo(30080);
        assertThat(p.dst()).isEqualTo(WORLD);
        assertThat(p.dport()).isEqualTo(46100);
        p.assertChecksums();
        // a LoadBalancer address, the same on every node
        service(LB_IP, 80, TCP, 25, LbService.EXTERNAL, 0, LbService.LOAD_BALANCER, 5, B, 8080);
        byte[] lbSent = Pkt.l4(WireNetns.NODE2_MAC, NODE_MAC, WORLD, B, TCP, 46101, 8080, SYN);
        assertThat(run(netdev, "from_netdev", withDsr(lbSent, LB_IP, 80, NODE2)).retval()).isEqualTo(TC_ACT_REDIRECT);
        Pkt lbBack = new Pkt(run(lxc, "from_container", Pkt.l4("0a:00:00:00:00:06", "0e:00:00:00:00:06", B, WORLD, TCP, 8080, 46101, SYN | ACK)).dataOut());
        assertThat(lbBack.src()).isEqualTo(LB_IP);
        assertThat(lbBack.sport()).isEqualTo(80);
    }

    /**
     * The attacks: an option this node must not believe, each dropped with DROP_DSR_INVALID and no
     * conntrack entry made (so no reply would ever leave as the claimed frontend): from the world's
     * link address, naming an entry that is no node, a frontend that does not exist, a NodePort at
     * another address than the entry node's, a ClusterIP (not reachable from outside), a
     * destination that is no local pod, a client inside the cluster, a node not in DSR mode, and a
     * pod sending the option itself.
     */
    @Test
    void aForgedDsrOptionIsDroppedAndAnswersAsNothing() {
        dsrNode(LbConfig.DSR_TCP | LbConfig.DSR_UDP);
        service(NODE, 30080, TCP, 26, LbService.EXTERNAL, 0, LbService.NODE_PORT, 5, B, 8080);
        service(VIP, 80, TCP, 27, 0, 0, LbService.CLUSTER_IP, 5, B, 8080);
        byte[] fromNode2 = Pkt.l4(WireNetns.NODE2_MAC, NODE_MAC, WORLD, B, TCP, 46200, 8080, SYN);
        java.util.List<byte[]> forged = java.util.List.of(
                withDsr(Pkt.l4(WireNetns.WORLD_MAC, NODE_MAC, WORLD, B, TCP, 46200, 8080, SYN), NODE2, 30080, NODE2),
                withDsr(Pkt.l4(WireNetns.WORLD_MAC, NODE_MAC, WORLD, B, TCP, 46200, 8080, SYN), WORLD, 30080, WORLD),
                withDsr(fromNode2, "10.99.0.1", 80, NODE2),
                withDsr(fromNode2, "172.30.0.99", 30080, NODE2),
                withDsr(fromNode2, VIP, 80, NODE2),
                withDsr(Pkt.l4(WireNetns.NODE2_MAC, NODE_MAC, WORLD, "10.0.0.99", TCP, 46200, 8080, SYN), NODE2, 30080, NODE2),
                withDsr(Pkt.l4(WireNetns.NODE2_MAC, NODE_MAC, REMOTE, B, TCP, 46200, 8080, SYN), NODE2, 30080, NODE2));
        long before = count(DropReason.DSR_INVALID.code, 1);
        for (byte[] f : forged) assertThat(run(netdev, "from_netdev", f).retval()).isEqualTo(TC_ACT_SHOT);
        assertThat(count(DropReason.DSR_INVALID.code, 1) - before).isEqualTo(forged.size());
        config(0, 0);   // snat mode: even a well-formed option is not believed
        assertThat(run(netdev, "from_netdev", withDsr(fromNode2, NODE2, 30080, NODE2)).retval()).isEqualTo(TC_ACT_SHOT);
        assertThat(lb.ctTcp().all().keySet()).noneMatch(k -> k.dir() == CtKey.INGRESS);
        // a pod may not send the option at all
        dsrNode(LbConfig.DSR_TCP | LbConfig.DSR_UDP);
        assertThat(run(lxc, "from_container", withDsr(Pkt.l4(A_MAC, LXC_A, A, REMOTE, TCP, 46201, 80, SYN), NODE, 30080, NODE)).retval())
                .isEqualTo(TC_ACT_SHOT);
        assertThat(count(DropReason.DSR_INVALID.code, 2)).isEqualTo(1);
    }

    static byte[] u32(int v) { return ByteBuffer.allocate(4).order(ByteOrder.nativeOrder()).putInt(v).array(); }

    /** An IPv4 TCP/UDP frame with valid checksums, and readers for the fields the tests check. */
    record Pkt(byte[] f) {
        static byte[] l4(String srcMac, String dstMac, String src, String dst, int proto, int sport, int dport, int tcpFlags) {
            int l4 = proto == TCP ? 20 : 8, payload = 16;
            ByteBuffer b = ByteBuffer.allocate(14 + 20 + l4 + payload);
            b.put(Packets.mac(dstMac)).put(Packets.mac(srcMac)).putShort((short) 0x0800);
            b.put((byte) 0x45).put((byte) 0).putShort((short) (20 + l4 + payload)).putShort((short) 1).putShort((short) 0)
                    .put((byte) 64).put((byte) proto).putShort((short) 0).putInt(Ip.parse(src)).putInt(Ip.parse(dst));
            b.putShort((short) sport).putShort((short) dport);
            if (proto == TCP) b.putInt(1).putInt(0).put((byte) 0x50).put((byte) tcpFlags).putShort((short) 8192).putInt(0);
            else b.putShort((short) (8 + payload)).putShort((short) 0);
            for (int i = 0; i < payload; i++) b.put((byte) i);
            byte[] a = b.array();
            int ipc = fold(sum(a, 14, 34));
            a[24] = (byte) (ipc >> 8);
            a[25] = (byte) ipc;
            int c = fold(l4Sum(a));
            int off = 34 + (proto == TCP ? 16 : 6);
            a[off] = (byte) (c >> 8);
            a[off + 1] = (byte) c;
            return a;
        }

        static long sum(byte[] a, int from, int to) {
            long s = 0;
            for (int i = from; i < to; i += 2) s += ((a[i] & 0xff) << 8) | (i + 1 < to ? a[i + 1] & 0xff : 0);
            return s;
        }

        static int fold(long s) {
            while ((s >> 16) != 0) s = (s & 0xffff) + (s >> 16);
            return (int) (~s & 0xffff);
        }

        static long l4Sum(byte[] a) {
            int len = a.length - 34;
            return sum(a, 26, 34) + (a[23] & 0xff) + len + sum(a, 34, a.length);
        }

        String src() { return Ip.format(ByteBuffer.wrap(f, 26, 4).getInt()); }
        String dst() { return Ip.format(ByteBuffer.wrap(f, 30, 4).getInt()); }
        int proto() { return f[23] & 0xff; }
        int sport() { return ByteBuffer.wrap(f, 34, 2).getShort() & 0xffff; }
        int dport() { return ByteBuffer.wrap(f, 36, 2).getShort() & 0xffff; }
        int udpChecksum() { return ByteBuffer.wrap(f, 40, 2).getShort() & 0xffff; }

        void assertIpChecksum() { assertThat(fold(sum(f, 14, 34))).as("IPv4 header checksum").isZero(); }

        void assertChecksums() {
            assertIpChecksum();
            assertThat(fold(l4Sum(f))).as("L4 checksum").isZero();
        }
    }
}
