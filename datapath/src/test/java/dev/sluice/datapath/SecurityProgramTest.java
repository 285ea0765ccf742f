package dev.sluice.datapath;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.bpf.BpfMap;
import dev.sluice.bpf.BpfObject;
import dev.sluice.bpf.Bpffs;
import dev.sluice.bpf.TestRun;
import dev.sluice.bpf.TypedMap;
import dev.sluice.bpf.UpdateFlag;
import dev.sluice.datapath.maps.EndpointInfo;
import dev.sluice.datapath.maps.EndpointKey;
import dev.sluice.datapath.maps.IpcacheKey;
import dev.sluice.datapath.maps.IpcacheValue;
import dev.sluice.datapath.maps.LbConfig;
import dev.sluice.datapath.maps.LbMaps;
import dev.sluice.datapath.maps.LxcInfo;
import dev.sluice.datapath.maps.MetricsKey;
import dev.sluice.datapath.maps.MetricsValue;
import dev.sluice.datapath.maps.NodeConfig;
import dev.sluice.datapath.maps.PolicyEntryKey;
import dev.sluice.datapath.maps.PolicyEntryValue;
import dev.sluice.net.Cidr;
import dev.sluice.net.Ip;
import dev.sluice.policymap.PolicyMaps;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The attack classes of docs/security.md on crafted packets (BPF_PROG_TEST_RUN): each attack is
 * dropped with its reason and counted, and the legitimate packet on the same path still passes.
 * The live half, with real sockets in a lab, is SecurityIT.
 *
 * <p>This node 172.30.0.11 holds pods A 10.0.0.5 (endpoint 11, identity 300) and B 10.0.0.6 (12,
 * 301), both on ifindex 1. node2 172.30.0.12 holds R2 10.0.1.9 (400), node3 172.30.0.13 holds R3
 * 10.0.2.9 (500). The overlay runs as bpf/tests/overlay_test.c, whose tunnel key comes from a map.
 */
@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: network namespaces, BPF, netlink")
class SecurityProgramTest {
    static final int OK = 0, SHOT = 2, REDIRECT = 7, TCP = 6, UDP = 17, SCTP = 132, ICMP = 1, SYN = 2, ACK = 0x10;
    static final String NODE = "172.30.0.11", NODE2 = "172.30.0.12", NODE3 = "172.30.0.13", WORLD = "172.30.0.200";
    static final String A = "10.0.0.5", B = "10.0.0.6", R2 = "10.0.1.9", R3 = "10.0.2.9", LOOPBACK = "169.254.42.1";
    static final String AM = "0a:00:00:00:00:05", BM = "0a:00:00:00:00:06", LXC = "0e:00:00:00:00:01", NODE_MAC = "02:00:00:00:00:11";
    static final int TRUSTED = 300, VICTIM = 301;

    Path pins;
    BpfObject lxc, netdev, overlay;
    TypedMap<EndpointKey, EndpointInfo> endpoints;
    TypedMap<PolicyEntryKey, PolicyEntryValue> policy;
    LbMaps lb;
    WireNetns wire;

    @BeforeEach
    void load() {
        Bpffs.ensureMounted(Path.of("/sys/fs/bpf"));
        pins = Path.of("/sys/fs/bpf/sl-test-" + UUID.randomUUID().toString().substring(0, 8));
        lxc = open("bpf_lxc.o");
        netdev = open("bpf_netdev.o");
        overlay = open("tests/overlay_test.o");
        wire = new WireNetns();
        endpoints = lxc.map("sl_endpoints").typed(EndpointKey.CODEC, EndpointInfo.CODEC);
        policy = lxc.map("sl_policy").typed(PolicyEntryKey.CODEC, PolicyEntryValue.CODEC);
        lb = new LbMaps(lxc::map);
        endpoint(A, 11, 300, AM, 0);
        endpoint(B, 12, 301, BM, 0);
        // drops before the source is known are counted against the veth's endpoint: ifindex 1 is A's
        lxc.map("sl_lxc").typed(LxcInfo.KEY, LxcInfo.CODEC).put(1, new LxcInfo(11, 300));
        var ipc = lxc.map("sl_ipcache").typed(IpcacheKey.CODEC, IpcacheValue.CODEC);
        ipc.put(new IpcacheKey(Cidr.parse(NODE + "/32")), new IpcacheValue(1, 0, IpcacheValue.LOCAL_NODE));
        ipc.put(new IpcacheKey(Cidr.parse(A + "/32")), new IpcacheValue(300, 0, 0));
        ipc.put(new IpcacheKey(Cidr.parse(B + "/32")), new IpcacheValue(301, 0, 0));
        for (String[] n : new String[][] {{NODE2, "10.0.1.0/24", R2, "400"}, {NODE3, "10.0.2.0/24", R3, "500"}}) {
            int node = Ip.parse(n[0]);
            ipc.put(new IpcacheKey(Cidr.parse(n[0] + "/32")), new IpcacheValue(6, node, 0));
            ipc.put(new IpcacheKey(Cidr.parse(n[1])), new IpcacheValue(2, node, IpcacheValue.POD_CIDR));
            ipc.put(new IpcacheKey(Cidr.parse(n[2] + "/32")), new IpcacheValue(Integer.parseInt(n[3]), node, 0));
        }
        tunnelMode(true);
        lb.config().put(0, new LbConfig(Ip.parse(LOOPBACK), 0, LbConfig.ENABLED, 61000, 65535));
    }

    BpfObject open(String name) {
        BpfObject o = BpfObject.open(DatapathLayoutTest.obj(name), BpfObject.OpenOptions.defaults().withPinRoot(pins));
        o.load();
        return o;
    }

    @AfterEach
    void close() throws IOException {
        // null when load() failed half-way: what was made is still removed, pins included
        if (wire != null) wire.close();
        if (lxc != null) lxc.close();
        if (netdev != null) netdev.close();
        if (overlay != null) overlay.close();
        if (!Files.isDirectory(pins)) return;
        try (Stream<Path> s = Files.list(pins)) {
            for (Path p : s.toList()) Files.delete(p);
        }
        Files.delete(pins);
    }

    void tunnelMode(boolean on) {
        lxc.map("sl_config").typed(NodeConfig.KEY, NodeConfig.CODEC).put(0, new NodeConfig(Ip.parse(NODE), 1, on ? NodeConfig.TUNNEL : 0, 1));
    }

    void endpoint(String ip, int id, int identity, String mac, int flags) {
        endpoints.put(new EndpointKey(Ip.parse(ip)), new EndpointInfo(1, identity, id, flags, mac, LXC));
    }

    void rule(int ep, int dir, int identity, int proto, int port, int prefix, int verdict) {
        policy.put(new PolicyEntryKey(ep, new PolicyMaps.Key(dir, identity, proto, port, prefix)), new PolicyEntryValue(verdict, 7));
    }

    long count(int reason, int dir, int ep) {
        return lxc.map("sl_metrics").typed(MetricsKey.CODEC, MetricsValue.CODEC).getPerCpu(new MetricsKey(reason, dir, ep))
                .map(l -> l.stream().mapToLong(MetricsValue::packets).sum()).orElse(0L);
    }

    TestRun.Result run(BpfObject o, String prog, byte[] frame) { return o.program(prog).testRun(TestRun.Input.of(frame)); }

    TestRun.Result run(BpfObject o, String prog, byte[] frame, int mark) {
        ByteBuffer ctx = ByteBuffer.allocate(WireNetns.SK_BUFF_SIZE).order(ByteOrder.nativeOrder()).putInt(8, mark);
        return o.program(prog).testRun(new TestRun.Input(frame, 1, ctx.array(), frame.length + TestRun.DEFAULT_HEADROOM));
    }

    /** A decapsulated packet as from_overlay sees it, having arrived from {@code outer} with VNI {@code vni}. */
    TestRun.Result fromTunnel(String outer, int vni, byte[] inner) {
        BpfMap keys = overlay.map("sl_test_tunnel");
        ByteBuffer k = ByteBuffer.allocate(keys.valueSize()).order(ByteOrder.nativeOrder()).putInt(0, vni).putInt(4, Ip.parse(outer));
        keys.update(u32(0), k.array(), UpdateFlag.ANY);
        return run(overlay, "from_overlay", inner);
    }

    /** The tunnel key to_overlay set: {VNI, remote address}. */
    int[] sentKey() {
        ByteBuffer k = ByteBuffer.wrap(overlay.map("sl_test_tunnel").lookup(u32(1)).orElseThrow()).order(ByteOrder.nativeOrder());
        return new int[] {k.getInt(0), k.getInt(4)};
    }

    static byte[] u32(int v) { return ByteBuffer.allocate(4).order(ByteOrder.nativeOrder()).putInt(v).array(); }

    static byte[] tcp(String srcMac, String dstMac, String src, String dst, int sport, int dport, int flags) {
        return Packets.raw(srcMac, dstMac, src, dst, TCP, Packets.tcp(sport, dport, flags), 1, 0, false, -1);
    }

    static byte[] udp(String srcMac, String dstMac, String src, String dst, int sport, int dport) {
        return Packets.raw(srcMac, dstMac, src, dst, UDP, Packets.udp(sport, dport, new byte[16]), 1, 0, false, -1);
    }

    // ------------------------------------------------------------------ forged VXLAN

    @Test
    void forgedVxlanIsRefusedUnlessAKnownNodeSentIt() {
        byte[] toVictim = tcp(NODE_MAC, BM, R2, B, 40000, 80, SYN);
        // from the world, or from a pod that built its own VXLAN device: not a node
        assertThat(fromTunnel(WORLD, TRUSTED, toVictim).retval()).isEqualTo(SHOT);
        assertThat(fromTunnel(A, TRUSTED, toVictim).retval()).isEqualTo(SHOT);
        assertThat(count(DropReason.TUNNEL_SOURCE.code, PolicyMaps.INGRESS, 12)).isEqualTo(2);
        // a known node may only send what lives behind it
        assertThat(fromTunnel(NODE2, VICTIM, tcp(NODE_MAC, BM, LOOPBACK, B, 40000, 80, SYN)).retval()).as("service loopback").isEqualTo(SHOT);
        assertThat(fromTunnel(NODE2, TRUSTED, tcp(NODE_MAC, BM, A, B, 40000, 80, SYN)).retval()).as("a local pod").isEqualTo(SHOT);
        assertThat(fromTunnel(NODE2, TRUSTED, tcp(NODE_MAC, BM, NODE, B, 40000, 80, SYN)).retval()).as("this node").isEqualTo(SHOT);
        assertThat(fromTunnel(NODE2, 500, tcp(NODE_MAC, BM, R3, B, 40000, 80, SYN)).retval()).as("node3's pod").isEqualTo(SHOT);
        assertThat(count(DropReason.TUNNEL_SPOOF.code, PolicyMaps.INGRESS, 12)).isEqualTo(4);
        // legitimate: node2's pod, and node2 itself (remote-node)
        var ok = fromTunnel(NODE2, 400, toVictim);
        assertThat(ok.retval()).isEqualTo(REDIRECT);
        assertThat(Packets.dstMac(ok.dataOut())).isEqualTo(BM);
        assertThat(fromTunnel(NODE2, 1, tcp(NODE_MAC, BM, NODE2, B, 40000, 80, SYN)).retval()).isEqualTo(REDIRECT);
    }

    @Test
    void theVniIsTheIdentityPolicySeesOnlyFromAKnownNode() {
        // B admits only identity 300 (A's) on 80; node2 relays its pod R2 (400)
        endpoint(B, 12, VICTIM, BM, PolicyMaps.F_INGRESS_ENFORCED);
        rule(12, PolicyMaps.INGRESS, TRUSTED, TCP, 80, 24, PolicyMaps.ALLOW);
        var relayed = fromTunnel(NODE2, 400, tcp(NODE_MAC, BM, R2, B, 40000, 80, SYN));
        assertThat(relayed.retval()).isEqualTo(REDIRECT);
        // to_container gets the VNI as the identity mark (0xa5 << 24 | identity): R2's, which B does not admit
        assertThat(run(lxc, "to_container", relayed.dataOut(), 0xa5000000 | 400).retval()).isEqualTo(SHOT);
        assertThat(count(DropReason.POLICY.code, PolicyMaps.INGRESS, 12)).isEqualTo(1);
        assertThat(run(lxc, "to_container", tcp(NODE_MAC, BM, R2, B, 40001, 80, SYN), 0xa5000000 | TRUSTED).retval()).isEqualTo(OK);
    }

    @Test
    void theHairpinExemptionNeedsFromContainersOwnMark() {
        endpoint(B, 12, VICTIM, BM, PolicyMaps.F_INGRESS_ENFORCED);
        byte[] hairpinLike = tcp(LXC, BM, LOOPBACK, B, 40000, 80, SYN);
        // the identity mark of the victim itself (what a forged tunnel packet used to get) is policed
        assertThat(run(lxc, "to_container", hairpinLike, 0xa5000000 | VICTIM).retval()).isEqualTo(SHOT);
        // only from_container's hairpin mark exempts it
        assertThat(run(lxc, "to_container", hairpinLike, 0x5c200000).retval()).isEqualTo(OK);
    }

    // ------------------------------------------------------------------ the uplink

    @Test
    void theWireCannotClaimThisNodeItsPodsOrInTunnelModeAnyPod() {
        endpoint(B, 12, VICTIM, BM, PolicyMaps.F_INGRESS_ENFORCED);
        String worldMac = WireNetns.WORLD_MAC;
        for (String spoofed : new String[] {NODE, A, LOOPBACK, R2})
            assertThat(wire.run(netdev.program("from_netdev"), udp(worldMac, NODE_MAC, spoofed, B, 5000, 53)).retval())
                    .as("source %s from the wire", spoofed).isEqualTo(SHOT);
        // the world itself, unencapsulated to a pod in tunnel mode: only through a frontend
        assertThat(wire.run(netdev.program("from_netdev"), udp(worldMac, NODE_MAC, WORLD, B, 5000, 53)).retval()).isEqualTo(SHOT);
        assertThat(count(DropReason.WIRE_SPOOF.code, PolicyMaps.INGRESS, 12)).isEqualTo(5);
        // the node's own stack is untouched by all this: a packet to the node itself passes
        assertThat(wire.run(netdev.program("from_netdev"), udp(worldMac, NODE_MAC, WORLD, NODE, 5000, 53)).retval()).isEqualTo(OK);
    }

    @Test
    void nativeRoutingTakesClusterSourcesOnlyFromTheNeighbourThatOwnsThem() {
        tunnelMode(false);
        byte[] fromNode2 = udp(WireNetns.NODE2_MAC, NODE_MAC, R2, B, 5000, 53);
        var ok = wire.run(netdev.program("from_netdev"), fromNode2);
        assertThat(ok.retval()).isEqualTo(REDIRECT);
        assertThat(Packets.dstMac(ok.dataOut())).isEqualTo(BM);
        assertThat(wire.run(netdev.program("from_netdev"), udp(WireNetns.NODE2_MAC, NODE_MAC, NODE2, B, 5000, 53)).retval()).isEqualTo(REDIRECT);
        // the same addresses from the world's MAC
        assertThat(wire.run(netdev.program("from_netdev"), udp(WireNetns.WORLD_MAC, NODE_MAC, R2, B, 5000, 53)).retval()).isEqualTo(SHOT);
        assertThat(wire.run(netdev.program("from_netdev"), udp(WireNetns.WORLD_MAC, NODE_MAC, NODE2, B, 5000, 53)).retval()).isEqualTo(SHOT);
        // node3's pod through node2: node2 is not where 10.0.2.0/24 is routed (no route at all here)
        assertThat(wire.run(netdev.program("from_netdev"), udp(WireNetns.NODE2_MAC, NODE_MAC, R3, B, 5000, 53)).retval()).isEqualTo(SHOT);
        assertThat(count(DropReason.WIRE_SPOOF.code, PolicyMaps.INGRESS, 12)).isEqualTo(3);
        // the world with its own address reaches the pod (policy decides there)
        assertThat(wire.run(netdev.program("from_netdev"), udp(WireNetns.WORLD_MAC, NODE_MAC, WORLD, B, 5000, 53)).retval()).isEqualTo(REDIRECT);
    }

    @Test
    void forwardedTrafficEntersTheTunnelAsWorldNotHost() {
        byte[] toR2 = udp(NODE_MAC, "02:00:00:00:00:99", WORLD, R2, 5000, 53);
        // sent by the node's own stack: host
        assertThat(wire.run(overlay.program("to_overlay"), udp(NODE_MAC, "02:00:00:00:00:99", NODE, R2, 5000, 53), 1, 0).retval()).isEqualTo(OK);
        assertThat(sentKey()).containsExactly(1, Ip.parse(NODE2));
        // received on the uplink and routed on: world
        assertThat(wire.run(overlay.program("to_overlay"), toR2, 1, wire.uplink).retval()).isEqualTo(OK);
        assertThat(sentKey()).containsExactly(2, Ip.parse(NODE2));
        // a local pod's packet routed through the stack keeps the pod's identity
        assertThat(wire.run(overlay.program("to_overlay"), udp(AM, LXC, A, R2, 5000, 53), 1, 1).retval()).isEqualTo(OK);
        assertThat(sentKey()).containsExactly(300, Ip.parse(NODE2));
    }

    // ------------------------------------------------------------------ ICMP errors

    static byte[] icmpError(String srcMac, String dstMac, String src, String dst, byte[] quote) {
        return Packets.raw(srcMac, dstMac, src, dst, ICMP, Packets.icmp(3, 3, 0, quote), 1, 0, false, -1);
    }

    @Test
    void anIcmpErrorIsRelatedOnlyToAFlowOfItsOwnAddresses() {
        // A: default-deny egress and ingress; A may receive UDP 53 from R2
        endpoint(A, 11, 300, AM, PolicyMaps.F_EGRESS_ENFORCED | PolicyMaps.F_INGRESS_ENFORCED);
        rule(11, PolicyMaps.INGRESS, 400, UDP, 53, 24, PolicyMaps.ALLOW);
        assertThat(run(lxc, "to_container", udp(LXC, AM, R2, A, 5000, 53), 0xa5000000 | 400).retval()).isEqualTo(OK);
        // B talks to R3: a flow on this node that is not A's
        assertThat(run(lxc, "from_container", udp(BM, LXC, B, R3, 6000, 53)).retval()).isEqualTo(REDIRECT);

        // legitimate: A's port unreachable back to R2 about R2's datagram
        assertThat(run(lxc, "from_container", icmpError(AM, LXC, A, R2, Packets.quote(R2, A, UDP, 5000, 53))).retval()).isEqualTo(REDIRECT);
        // smuggling: the same quote to another destination, and a quote of B's flow
        assertThat(run(lxc, "from_container", icmpError(AM, LXC, A, WORLD, Packets.quote(R2, A, UDP, 5000, 53))).retval()).isEqualTo(SHOT);
        assertThat(run(lxc, "from_container", icmpError(AM, LXC, A, R3, Packets.quote(R3, B, UDP, 53, 6000))).retval()).isEqualTo(SHOT);
        assertThat(count(DropReason.POLICY.code, PolicyMaps.EGRESS, 11)).isEqualTo(2);
        // into A: an error about B's flow is not related to A, and A's ingress is default deny
        assertThat(run(lxc, "to_container", icmpError(LXC, AM, R3, A, Packets.quote(B, R3, UDP, 6000, 53)), 0xa5000000 | 500).retval())
                .isEqualTo(SHOT);
    }

    // ------------------------------------------------------------------ SCTP

    @Test
    void sctpPortRulesMatchSctpPorts() {
        endpoint(B, 12, VICTIM, BM, PolicyMaps.F_INGRESS_ENFORCED);
        rule(12, PolicyMaps.INGRESS, TRUSTED, SCTP, 5000, 24, PolicyMaps.ALLOW);
        assertThat(run(lxc, "to_container", sctp(A, B, 5000), 0xa5000000 | TRUSTED).retval()).isEqualTo(OK);
        assertThat(run(lxc, "to_container", sctp(A, B, 5001), 0xa5000000 | TRUSTED).retval()).isEqualTo(SHOT);
        // a deny on one SCTP port under an any-port SCTP allow
        rule(12, PolicyMaps.INGRESS, TRUSTED, SCTP, 0, 8, PolicyMaps.ALLOW);
        rule(12, PolicyMaps.INGRESS, TRUSTED, SCTP, 5002, 24, PolicyMaps.DENY);
        assertThat(run(lxc, "to_container", sctp(A, B, 5001), 0xa5000000 | TRUSTED).retval()).isEqualTo(OK);
        assertThat(run(lxc, "to_container", sctp(A, B, 5002), 0xa5000000 | TRUSTED).retval()).isEqualTo(SHOT);
        assertThat(count(DropReason.POLICY_DENY.code, PolicyMaps.INGRESS, 12)).isEqualTo(1);
    }

    static byte[] sctp(String src, String dst, int dport) {
        return Packets.raw(LXC, BM, src, dst, SCTP, Packets.sctp(40000, dport), 1, 0, false, -1);
    }

    // ------------------------------------------------------------------ truncated L4

    @Test
    void aCutShortL4HeaderIsMalformedNotPortZero() {
        endpoint(B, 12, VICTIM, BM, PolicyMaps.F_INGRESS_ENFORCED);
        rule(12, PolicyMaps.INGRESS, TRUSTED, TCP, 0, 8, PolicyMaps.ALLOW);
        byte[] l4 = Arrays.copyOf(Packets.tcp(40000, 80, SYN), 10);
        assertThat(run(lxc, "from_container", Packets.raw(AM, LXC, A, B, TCP, l4, 1, 0, false, -1)).retval()).isEqualTo(SHOT);
        // an honest frame whose IP total length cuts the TCP header short
        byte[] frame = Packets.raw(AM, LXC, A, B, TCP, Packets.tcp(40000, 80, SYN), 1, 0, false, 30);
        assertThat(run(lxc, "from_container", frame).retval()).isEqualTo(SHOT);
        assertThat(count(DropReason.INVALID_PACKET.code, PolicyMaps.EGRESS, 11)).isEqualTo(2);
        assertThat(run(lxc, "from_container", tcp(AM, LXC, A, B, 40000, 80, SYN)).retval()).isEqualTo(REDIRECT);
    }

    // ------------------------------------------------------------------ fragments

    @Test
    void fragmentsUnderMasqueradeKeepTheirPayloadAndFollowTheirFirst() {
        lb.config().put(0, new LbConfig(Ip.parse(LOOPBACK), 0, LbConfig.ENABLED | LbConfig.MASQUERADE, 61000, 65535));
        byte[] payload = new byte[24];
        for (int i = 0; i < payload.length; i++) payload[i] = (byte) (0x40 + i);
        byte[] first = Packets.raw(AM, LXC, A, "8.8.8.8", UDP, Packets.udp(42000, 53, payload), 77, 0, true, -1);
        var r1 = run(lxc, "from_container", first);
        assertThat(r1.retval()).isEqualTo(REDIRECT);
        assertThat(ip(r1.dataOut(), 26)).isEqualTo(NODE);
        // the next fragment: no UDP header, just payload at offset 4 (32 bytes); only its address changes
        byte[] rest = Packets.raw(AM, LXC, A, "8.8.8.8", UDP, payload, 77, 4, false, -1);
        var r2 = run(lxc, "from_container", rest);
        assertThat(r2.retval()).isEqualTo(REDIRECT);
        assertThat(ip(r2.dataOut(), 26)).isEqualTo(NODE);
        assertThat(Arrays.copyOfRange(r2.dataOut(), 34, 34 + payload.length)).isEqualTo(payload);
        assertThat(Packets.csum(r2.dataOut(), 14, 34)).as("IPv4 header checksum").isZero();
        // a non-first fragment whose first never passed: no mapping, dropped
        assertThat(run(lxc, "from_container", Packets.raw(AM, LXC, A, "8.8.8.8", UDP, payload, 78, 4, false, -1)).retval()).isEqualTo(SHOT);
        assertThat(count(DropReason.FRAGMENT.code, PolicyMaps.EGRESS, 11)).isEqualTo(1);
    }

    static String ip(byte[] f, int off) { return Ip.format(ByteBuffer.wrap(f, off, 4).getInt()); }

    @Test
    void icmpEchoIsMasqueradedAndItsReplyComesBack() {
        lb.config().put(0, new LbConfig(Ip.parse(LOOPBACK), 0, LbConfig.ENABLED | LbConfig.MASQUERADE, 61000, 65535));
        byte[] echo = Packets.raw(AM, LXC, A, "8.8.8.8", ICMP, Packets.icmp(8, 0, (0x1234 << 16) | 1, new byte[8]), 1, 0, false, -1);
        var out = run(lxc, "from_container", echo);
        assertThat(out.retval()).isEqualTo(REDIRECT);
        assertThat(ip(out.dataOut(), 26)).isEqualTo(NODE);
        assertThat(Packets.csum(out.dataOut(), 34, out.dataOut().length)).as("ICMP checksum").isZero();
        int id = ByteBuffer.wrap(out.dataOut(), 38, 2).getShort() & 0xffff;
        byte[] reply = Packets.raw("02:00:00:00:00:01", NODE_MAC, "8.8.8.8", NODE, ICMP, Packets.icmp(0, 0, (id << 16) | 1, new byte[8]), 1, 0, false, -1);
        var back = wire.run(netdev.program("from_netdev"), reply);
        assertThat(back.retval()).isEqualTo(REDIRECT);
        assertThat(ip(back.dataOut(), 30)).isEqualTo(A);
        assertThat(ByteBuffer.wrap(back.dataOut(), 38, 2).getShort() & 0xffff).isEqualTo(0x1234);
        assertThat(Packets.csum(back.dataOut(), 34, back.dataOut().length)).as("ICMP checksum").isZero();
    }

    // ------------------------------------------------------------------ revoked policy

    @Test
    void aRevokedPolicyEndsTheFlowInBothDirections() {
        // A may open to B:80 (egress), and R2 may open to A:80 (ingress)
        endpoint(A, 11, 300, AM, PolicyMaps.F_EGRESS_ENFORCED | PolicyMaps.F_INGRESS_ENFORCED);
        rule(11, PolicyMaps.EGRESS, VICTIM, TCP, 80, 24, PolicyMaps.ALLOW);
        rule(11, PolicyMaps.INGRESS, 400, TCP, 80, 24, PolicyMaps.ALLOW);
        assertThat(run(lxc, "from_container", tcp(AM, LXC, A, B, 40000, 80, SYN)).retval()).isEqualTo(REDIRECT);
        assertThat(run(lxc, "to_container", tcp(LXC, AM, R2, A, 41000, 80, SYN), 0xa5000000 | 400).retval()).isEqualTo(OK);
        byte[] replyFromB = tcp(LXC, AM, B, A, 80, 40000, SYN | ACK), replyToR2 = tcp(AM, LXC, A, R2, 80, 41000, SYN | ACK);
        assertThat(run(lxc, "to_container", replyFromB, 0xa5000000 | VICTIM).retval()).isEqualTo(OK);
        assertThat(run(lxc, "from_container", replyToR2).retval()).isEqualTo(REDIRECT);
        // both permissions revoked: the peers' packets of the established flows stop
        policy.remove(new PolicyEntryKey(11, new PolicyMaps.Key(PolicyMaps.EGRESS, VICTIM, TCP, 80, 24)));
        policy.remove(new PolicyEntryKey(11, new PolicyMaps.Key(PolicyMaps.INGRESS, 400, TCP, 80, 24)));
        assertThat(run(lxc, "to_container", tcp(LXC, AM, B, A, 80, 40000, ACK), 0xa5000000 | VICTIM).retval()).isEqualTo(SHOT);
        assertThat(run(lxc, "from_container", tcp(AM, LXC, A, R2, 80, 41000, ACK)).retval()).isEqualTo(SHOT);
        assertThat(count(DropReason.POLICY_REVOKED.code, PolicyMaps.INGRESS, 11)).isEqualTo(1);
        assertThat(count(DropReason.POLICY_REVOKED.code, PolicyMaps.EGRESS, 11)).isEqualTo(1);
    }
}
