package dev.sluice.datapath;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.bpf.BpfObject;
import dev.sluice.bpf.Bpffs;
import dev.sluice.bpf.Netns;
import dev.sluice.bpf.TestRun;
import dev.sluice.bpf.TypedMap;
import dev.sluice.datapath.maps.EndpointInfo;
import dev.sluice.datapath.maps.EndpointKey;
import dev.sluice.datapath.maps.IpcacheKey;
import dev.sluice.datapath.maps.IpcacheValue;
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
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * BPF_PROG_TEST_RUN of the L7 proxy steering (bpf/lib/proxy.h) on crafted packets. The runs happen
 * inside a private namespace ({@link WireNetns}) that holds the "proxy" sockets, transparent and
 * bound to 127.0.0.1, registered in sl_proxy_socks as the agent does: bpf_sk_assign needs a socket
 * of the packet's own namespace. Pods A 10.0.0.5 (endpoint 11, identity 300) and B 10.0.0.6 (12,
 * 301) both sit on ifindex 1; the node is 172.30.0.11.
 */
@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: network namespaces, BPF, netlink")
class ProxyProgramTest {
    static final int OK = 0, SHOT = 2, REDIRECT = 7, TCP = 6, UDP = 17, SYN = 0x02, ACK = 0x10;
    static final String NODE = "172.30.0.11", NODE2 = "172.30.0.12", R2 = "10.0.1.9", A = "10.0.0.5", B = "10.0.0.6";
    static final String AM = "0a:00:00:00:00:05", BM = "0a:00:00:00:00:06", LXC = "0e:00:00:00:00:01";
    static final int TO_PROXY = ProxySteering.MARK_TO_PROXY;

    Path pins;
    WireNetns ns;
    BpfObject lxc, overlay;
    TypedMap<EndpointKey, EndpointInfo> endpoints;
    TypedMap<PolicyEntryKey, PolicyEntryValue> policy;
    ProxySteering steering;
    final List<TransparentSocket> sockets = new ArrayList<>();

    @BeforeEach
    void load() {
        Bpffs.ensureMounted(Path.of("/sys/fs/bpf"));
        pins = Path.of("/sys/fs/bpf/sl-test-dp-" + UUID.randomUUID().toString().substring(0, 8));
        ns = new WireNetns();
        ns.loopbackUp();
        lxc = open("tests/lxc_test.o");
        overlay = open("tests/overlay_test.o");
        endpoints = lxc.map("sl_endpoints").typed(EndpointKey.CODEC, EndpointInfo.CODEC);
        policy = lxc.map("sl_policy").typed(PolicyEntryKey.CODEC, PolicyEntryValue.CODEC);
        lxc.map("sl_config").typed(NodeConfig.KEY, NodeConfig.CODEC).put(0, new NodeConfig(Ip.parse(NODE), 1, NodeConfig.TUNNEL, 1));
        var ipc = lxc.map("sl_ipcache").typed(IpcacheKey.CODEC, IpcacheValue.CODEC);
        ipc.put(new IpcacheKey(Cidr.parse(NODE + "/32")), new IpcacheValue(1, 0, IpcacheValue.LOCAL_NODE));
        ipc.put(new IpcacheKey(Cidr.parse(A + "/32")), new IpcacheValue(300, 0, 0));
        ipc.put(new IpcacheKey(Cidr.parse(B + "/32")), new IpcacheValue(301, 0, 0));
        ipc.put(new IpcacheKey(Cidr.parse(NODE2 + "/32")), new IpcacheValue(6, Ip.parse(NODE2), 0));
        ipc.put(new IpcacheKey(Cidr.parse(R2 + "/32")), new IpcacheValue(400, Ip.parse(NODE2), 0));
        endpoint(A, 11, 300, AM, 1, 0);
        endpoint(B, 12, 301, BM, 1, 0);
        steering = new ProxySteering(lxc.map(ProxySteering.MAP));
        // the proxy: two HTTP listeners, a DNS UDP socket and a DNS TCP listener, in the namespace of the runs
        Netns.inNetns(ns.path, () -> {
            for (int slot = 1; slot <= 4; slot++) {
                var bind = new TransparentSocket.Addr(Ip.parse("127.0.0.1"), 0);
                TransparentSocket s = slot == ProxySteering.SLOT_DNS_UDP ? TransparentSocket.udp(bind) : TransparentSocket.tcpListener(bind);
                sockets.add(s);
                steering.register(slot, s.fd);
            }
            return null;
        });
    }

    BpfObject open(String name) {
        BpfObject o = BpfObject.open(DatapathLayoutTest.obj(name), BpfObject.OpenOptions.defaults().withPinRoot(pins));
        o.load();
        return o;
    }

    @AfterEach
    void close() throws IOException {
        sockets.forEach(TransparentSocket::close);
        if (ns != null) ns.close();
        if (lxc != null) lxc.close();
        if (overlay != null) overlay.close();
        if (!Files.isDirectory(pins)) return;
        try (Stream<Path> s = Files.list(pins)) {
            for (Path p : s.toList()) Files.delete(p);
        }
        Files.delete(pins);
    }

    void endpoint(String ip, int id, int identity, String mac, int ifindex, int flags) {
        endpoints.put(new EndpointKey(Ip.parse(ip)), new EndpointInfo(ifindex, identity, id, flags, mac, LXC));
    }

    void rule(int ep, int dir, int identity, int proto, int port, int prefix, int verdict, int l7) {
        policy.put(new PolicyEntryKey(ep, new PolicyMaps.Key(dir, identity, proto, port, prefix)), new PolicyEntryValue(verdict, 7, prefix, l7));
    }

    /** The local port of the socket the last assignment got (lxc_test.c), and how many assignments there were. */
    int assignedPort() { return assigned(0); }

    int assignments() { return assigned(2); }

    private int assigned(int k) {
        byte[] v = lxc.map("sl_test_assigned").lookup(ByteBuffer.allocate(4).order(ByteOrder.nativeOrder()).putInt(k).array()).orElseThrow();
        return ByteBuffer.wrap(v).order(ByteOrder.nativeOrder()).getInt();
    }

    /** The port of the proxy socket in {@code slot}. */
    int slotPort(int slot) { return sockets.get(slot - 1).local().port(); }

    long count(int reason, int dir, int ep) {
        return lxc.map("sl_metrics").typed(MetricsKey.CODEC, MetricsValue.CODEC).getPerCpu(new MetricsKey(reason, dir, ep))
                .map(l -> l.stream().mapToLong(MetricsValue::packets).sum()).orElse(0L);
    }

    static byte[] tcp(String srcMac, String dstMac, String src, String dst, int sport, int dport, int flags) {
        return Packets.raw(srcMac, dstMac, src, dst, TCP, Packets.tcp(sport, dport, flags), 1, 0, false, -1);
    }

    static byte[] udp(String src, String dst, int sport, int dport) {
        return Packets.raw(AM, LXC, src, dst, UDP, Packets.udp(sport, dport, new byte[12]), 1, 0, false, -1);
    }

    /** A's packet to B, leaving A (from_container). */
    TestRun.Result egress(byte[] frame) { return ns.run(lxc.program("from_container"), frame, 1, 0); }

    TestRun.Result egressSyn(int sport, int dport) { return egress(tcp(AM, LXC, A, B, sport, dport, SYN)); }

    /** A packet arriving at B (to_container) with {@code mark}. */
    TestRun.Result ingress(String src, int sport, int dport, int flags, int mark) {
        return ns.run(lxc.program("to_container"), tcp(LXC, BM, src, B, sport, dport, flags), 1, 0, mark);
    }

    /** The re-injected packet for B's ingress proxy, seen again by from_container with {@code mark}. */
    TestRun.Result reinjected(String src, int sport, int dport, int mark) {
        return ns.run(lxc.program("from_container"), tcp(LXC, BM, src, B, sport, dport, SYN), 1, 0, mark);
    }

    // ------------------------------------------------------------------ egress

    @Test
    void anEgressRedirectWithARegisteredSocketIsAssignedMarkedAndCounted() {
        rule(11, PolicyMaps.EGRESS, 301, TCP, 80, 24, PolicyMaps.REDIRECT, PolicyMaps.L7_HTTP);
        var r = egressSyn(40000, 80);
        assertThat(r.retval()).as("to the node's stack, which delivers it to the assigned socket").isEqualTo(OK);
        assertThat(WireNetns.mark(r)).isEqualTo(TO_PROXY | 300);
        assertThat(assignedPort()).as("the egress listener").isEqualTo(slotPort(ProxySteering.SLOT_HTTP_EGRESS));
        assertThat(count(DropReason.FORWARDED.code, PolicyMaps.EGRESS, 11)).isEqualTo(1);
        // another port of the same peer is not steered: delivered to B's veth as usual
        var other = egressSyn(40001, 81);
        assertThat(other.retval()).isEqualTo(REDIRECT);
        assertThat(WireNetns.mark(other) & ProxySteering.MARK_MAGIC_MASK).isNotEqualTo(TO_PROXY);
    }

    @Test
    void anEmptySlotDropsWithProxyUnavailable() {
        rule(11, PolicyMaps.EGRESS, 301, TCP, 80, 24, PolicyMaps.REDIRECT, PolicyMaps.L7_HTTP);
        assertThat(steering.clear(ProxySteering.SLOT_HTTP_EGRESS)).isTrue();
        assertThat(steering.slots()).containsOnlyKeys(1, 3, 4);
        assertThat(egressSyn(40000, 80).retval()).isEqualTo(SHOT);
        assertThat(count(DropReason.PROXY_UNAVAILABLE.code, PolicyMaps.EGRESS, 11)).isEqualTo(1);
        assertThat(assignments()).isZero();
        // the ingress listener in slot 1 does not stand in for the egress one
        assertThat(steering.clear(ProxySteering.SLOT_HTTP_EGRESS)).isFalse();
    }

    @Test
    void aSegmentOfNoProxyConnectionIsDroppedNotHandedToTheNode() {
        rule(11, PolicyMaps.EGRESS, 301, TCP, 80, 24, PolicyMaps.REDIRECT, PolicyMaps.L7_HTTP);
        // an ACK with no SYN before it: no connection of the proxy has this tuple, and a listener
        // must never get a bare ACK (nor may any socket of the node's own)
        assertThat(egress(tcp(AM, LXC, A, B, 40000, 80, ACK)).retval()).isEqualTo(SHOT);
        assertThat(egress(tcp(AM, LXC, A, B, 40000, 80, SYN | ACK)).retval()).isEqualTo(SHOT);
        assertThat(count(DropReason.PROXY_UNAVAILABLE.code, PolicyMaps.EGRESS, 11)).isEqualTo(2);
        assertThat(assignments()).isZero();
    }

    @Test
    void dnsGoesToTheDnsSlotsByProtocolAndNothingTakesAMismatchedKind() {
        rule(11, PolicyMaps.EGRESS, 301, UDP, 53, 24, PolicyMaps.REDIRECT, PolicyMaps.L7_DNS);
        rule(11, PolicyMaps.EGRESS, 301, TCP, 53, 24, PolicyMaps.REDIRECT, PolicyMaps.L7_DNS);
        var u = egress(udp(A, B, 5353, 53));
        assertThat(u.retval()).isEqualTo(OK);
        assertThat(WireNetns.mark(u)).isEqualTo(TO_PROXY | 300);
        assertThat(assignedPort()).isEqualTo(slotPort(ProxySteering.SLOT_DNS_UDP));
        assertThat(egressSyn(40000, 53).retval()).isEqualTo(OK);
        assertThat(assignedPort()).isEqualTo(slotPort(ProxySteering.SLOT_DNS_TCP));
        steering.clear(ProxySteering.SLOT_DNS_TCP);
        assertThat(egressSyn(40001, 53).retval()).as("DNS over TCP has its own slot").isEqualTo(SHOT);
        // HTTP over UDP and a REDIRECT naming no proxy fail closed
        rule(11, PolicyMaps.EGRESS, 301, UDP, 80, 24, PolicyMaps.REDIRECT, PolicyMaps.L7_HTTP);
        assertThat(egress(udp(A, B, 5000, 80)).retval()).isEqualTo(SHOT);
        rule(11, PolicyMaps.EGRESS, 301, TCP, 8080, 24, PolicyMaps.REDIRECT, PolicyMaps.L7_NONE);
        assertThat(egressSyn(40002, 8080).retval()).isEqualTo(SHOT);
        assertThat(count(DropReason.PROXY_UNAVAILABLE.code, PolicyMaps.EGRESS, 11)).isEqualTo(3);
    }

    @Test
    void fragmentsAreNeverSteered() {
        rule(11, PolicyMaps.EGRESS, 301, UDP, 53, 24, PolicyMaps.REDIRECT, PolicyMaps.L7_DNS);
        // a first fragment (MF set): reassembly would forget the socket and hand the datagram to the node's own
        byte[] first = Packets.raw(AM, LXC, A, B, UDP, Packets.udp(5353, 53, new byte[16]), 9, 0, true, -1);
        assertThat(egress(first).retval()).isEqualTo(SHOT);
        assertThat(count(DropReason.PROXY_INVALID.code, PolicyMaps.EGRESS, 11)).isEqualTo(1);
    }

    /** CVE-2024-52529 class: an L7 rule on a port inside an allowed range is enforced, not bypassed. */
    @Test
    void denyBeatsRedirectBeatsAllowAcrossLookups() {
        rule(11, PolicyMaps.EGRESS, 301, TCP, 80, 22, PolicyMaps.ALLOW, PolicyMaps.L7_NONE);   // 80-83 to B
        rule(11, PolicyMaps.EGRESS, 0, TCP, 80, 24, PolicyMaps.REDIRECT, PolicyMaps.L7_HTTP);  // L7 on 80, any peer
        var r = egressSyn(40000, 80);
        assertThat(r.retval()).as("steered, not allowed").isEqualTo(OK);
        assertThat(WireNetns.mark(r)).isEqualTo(TO_PROXY | 300);
        assertThat(egressSyn(40001, 81).retval()).as("the rest of the range is plain L4").isEqualTo(REDIRECT);
        rule(11, PolicyMaps.EGRESS, 301, TCP, 80, 24, PolicyMaps.DENY, PolicyMaps.L7_NONE);
        assertThat(egressSyn(40002, 80).retval()).isEqualTo(SHOT);
        assertThat(count(DropReason.POLICY_DENY.code, PolicyMaps.EGRESS, 11)).isEqualTo(1);
    }

    @Test
    void auditModeSteersAndAnEmptySlotThenPassesAsAnAudit() {
        endpoint(A, 11, 300, AM, 1, PolicyMaps.F_EGRESS_ENFORCED | PolicyMaps.F_AUDIT);
        rule(11, PolicyMaps.EGRESS, 301, TCP, 80, 24, PolicyMaps.REDIRECT, PolicyMaps.L7_HTTP);
        assertThat(WireNetns.mark(egressSyn(40000, 80))).isEqualTo(TO_PROXY | 300);
        steering.clear(ProxySteering.SLOT_HTTP_EGRESS);
        assertThat(egressSyn(40001, 80).retval()).isEqualTo(REDIRECT);
        assertThat(count(DropReason.AUDIT.code, PolicyMaps.EGRESS, 11)).isEqualTo(1);
    }

    /**
     * Over random policies (seeded, printed; -Dsluice.seed=N replays): each of the three lookups
     * (B's identity, any peer, B's CIDR set) holds nothing, ALLOW, REDIRECT of a random kind or DENY
     * for A's egress to port 80 over TCP or UDP, and each proxy slot is filled or not. The strongest
     * verdict decides: DENY drops (141); REDIRECT goes to the slot its kind and protocol name, or
     * drops with 144 when there is none or it is empty; ALLOW or nothing (egress not enforced)
     * delivers to B.
     */
    @Test
    void theStrongestVerdictDecidesAndARedirectGoesToItsSlotProperty() {
        long seed = Long.getLong("sluice.seed", System.nanoTime());
        System.out.println("proxy steering property seed=" + seed);
        var r = new java.util.SplittableRandom(seed);
        var cidr = lxc.map("sl_policy_cidr").typed(dev.sluice.datapath.maps.PolicyCidrKey.CODEC, dev.sluice.datapath.maps.PolicyCidrKey.VALUE);
        int set = PolicyMaps.CIDR_SET_BASE + 1;
        cidr.put(new dev.sluice.datapath.maps.PolicyCidrKey(11, PolicyMaps.EGRESS, Cidr.parse("10.0.0.0/24")), set);
        int[] peers = {301, 0, set};
        for (int i = 0; i < 60; i++) {
            int proto = r.nextBoolean() ? TCP : UDP;
            int best = 0, kind = PolicyMaps.L7_NONE;
            StringBuilder what = new StringBuilder("seed " + seed + " case " + i + " proto " + proto + ":");
            for (int peer : peers) {
                var key = new PolicyEntryKey(11, new PolicyMaps.Key(PolicyMaps.EGRESS, peer, proto, 80, 24));
                int v = r.nextInt(4), l7 = v == PolicyMaps.REDIRECT ? r.nextInt(3) : PolicyMaps.L7_NONE;
                if (v == 0) policy.remove(key);
                else policy.put(key, new PolicyEntryValue(v, 7, 24, l7));
                what.append(" peer ").append(peer).append("=").append(v).append("/").append(l7);
                // the first lookup with the strongest verdict names the proxy
                if (v > best) {
                    best = v;
                    kind = l7;
                }
            }
            boolean[] filled = new boolean[5];
            for (int slot = 1; slot <= 4; slot++) {
                filled[slot] = r.nextBoolean();
                if (filled[slot]) steering.register(slot, sockets.get(slot - 1).fd);
                else steering.clear(slot);
            }
            what.append(" slots ").append(steering.slots().keySet());
            int wantSlot = kind == PolicyMaps.L7_HTTP && proto == TCP ? ProxySteering.SLOT_HTTP_EGRESS
                    : kind == PolicyMaps.L7_DNS ? (proto == TCP ? ProxySteering.SLOT_DNS_TCP : ProxySteering.SLOT_DNS_UDP) : 0;
            int before = assignments();
            long denies = count(DropReason.POLICY_DENY.code, PolicyMaps.EGRESS, 11), unavailable = count(DropReason.PROXY_UNAVAILABLE.code, PolicyMaps.EGRESS, 11);
            int sport = 20000 + i;
            var res = egress(proto == TCP ? tcp(AM, LXC, A, B, sport, 80, SYN) : udp(A, B, sport, 80));
            String w = what.toString();
            if (best == PolicyMaps.DENY) {
                assertThat(res.retval()).as(w).isEqualTo(SHOT);
                assertThat(count(DropReason.POLICY_DENY.code, PolicyMaps.EGRESS, 11)).as(w).isEqualTo(denies + 1);
            } else if (best == PolicyMaps.REDIRECT && (wantSlot == 0 || !filled[wantSlot])) {
                assertThat(res.retval()).as(w).isEqualTo(SHOT);
                assertThat(count(DropReason.PROXY_UNAVAILABLE.code, PolicyMaps.EGRESS, 11)).as(w).isEqualTo(unavailable + 1);
            } else if (best == PolicyMaps.REDIRECT) {
                assertThat(res.retval()).as(w).isEqualTo(OK);
                assertThat(WireNetns.mark(res)).as(w).isEqualTo(TO_PROXY | 300);
                assertThat(assignments()).as(w).isEqualTo(before + 1);
                assertThat(assignedPort()).as(w).isEqualTo(slotPort(wantSlot));
            } else {
                assertThat(res.retval()).as(w + ": delivered to B").isEqualTo(REDIRECT);
                assertThat(assignments()).as(w).isEqualTo(before);
            }
        }
    }

    // ------------------------------------------------------------------ ingress

    @Test
    void anIngressRedirectIsReinjectedIntoTheVethWithTheSourceIdentity() {
        rule(12, PolicyMaps.INGRESS, 300, TCP, 80, 24, PolicyMaps.REDIRECT, PolicyMaps.L7_HTTP);
        var r = ingress(A, 40000, 80, SYN, 0);
        assertThat(r.retval()).as("bpf_redirect to the veth's own ingress").isEqualTo(REDIRECT);
        assertThat(WireNetns.mark(r)).isEqualTo(TO_PROXY | 300);
        steering.clear(ProxySteering.SLOT_HTTP_INGRESS);
        assertThat(ingress(A, 40001, 80, SYN, 0).retval()).isEqualTo(SHOT);
        assertThat(count(DropReason.PROXY_UNAVAILABLE.code, PolicyMaps.INGRESS, 12)).isEqualTo(1);
    }

    @Test
    void aReinjectedPacketIsAssignedOnlyWhileItsEndpointsPolicyStillRedirectsIt() {
        endpoint(B, 12, 301, BM, 1, PolicyMaps.F_INGRESS_ENFORCED);
        rule(12, PolicyMaps.INGRESS, 300, TCP, 80, 24, PolicyMaps.REDIRECT, PolicyMaps.L7_HTTP);
        var r = reinjected(A, 40000, 80, TO_PROXY | 300);
        assertThat(r.retval()).isEqualTo(OK);
        assertThat(WireNetns.mark(r)).isEqualTo(TO_PROXY | 300);
        assertThat(assignedPort()).as("the ingress listener").isEqualTo(slotPort(ProxySteering.SLOT_HTTP_INGRESS));
        assertThat(count(DropReason.FORWARDED.code, PolicyMaps.INGRESS, 12)).isEqualTo(1);
        // the mark names another identity, one the policy has no REDIRECT for
        assertThat(reinjected(A, 40001, 80, TO_PROXY | 999).retval()).isEqualTo(SHOT);
        assertThat(count(DropReason.POLICY.code, PolicyMaps.INGRESS, 12)).isEqualTo(1);
        // the policy changed to a plain allow: the proxy is not the way in
        rule(12, PolicyMaps.INGRESS, 300, TCP, 80, 24, PolicyMaps.ALLOW, PolicyMaps.L7_NONE);
        assertThat(reinjected(A, 40002, 80, TO_PROXY | 300).retval()).isEqualTo(SHOT);
        assertThat(count(DropReason.PROXY_INVALID.code, PolicyMaps.INGRESS, 12)).isEqualTo(1);
        // ... or to a deny
        rule(12, PolicyMaps.INGRESS, 300, TCP, 80, 24, PolicyMaps.DENY, PolicyMaps.L7_NONE);
        assertThat(reinjected(A, 40003, 80, TO_PROXY | 300).retval()).isEqualTo(SHOT);
        assertThat(count(DropReason.POLICY_DENY.code, PolicyMaps.INGRESS, 12)).isEqualTo(1);
    }

    @Test
    void aForgedProxyMarkForAnEndpointWithoutARedirectIsDropped() {
        // no policy at all for B: nothing to steer
        assertThat(reinjected(A, 40000, 80, TO_PROXY | 300).retval()).isEqualTo(SHOT);
        assertThat(count(DropReason.PROXY_INVALID.code, PolicyMaps.INGRESS, 12)).isEqualTo(1);
        // an endpoint behind another veth, or no endpoint at all
        rule(12, PolicyMaps.INGRESS, 300, TCP, 80, 24, PolicyMaps.REDIRECT, PolicyMaps.L7_HTTP);
        endpoint(B, 12, 301, BM, 77, 0);
        assertThat(reinjected(A, 40001, 80, TO_PROXY | 300).retval()).isEqualTo(SHOT);
        var r = ns.run(lxc.program("from_container"), tcp(LXC, BM, A, "10.0.0.99", 40002, 80, SYN), 1, 0, TO_PROXY | 300);
        assertThat(r.retval()).isEqualTo(SHOT);
        assertThat(count(DropReason.PROXY_INVALID.code, PolicyMaps.INGRESS, 0)).isEqualTo(2);
    }

    @Test
    void aProxysUpstreamMarkGivesToContainerTheClientsIdentity() {
        endpoint(B, 12, 301, BM, 1, PolicyMaps.F_INGRESS_ENFORCED);
        rule(12, PolicyMaps.INGRESS, 300, TCP, 80, 24, PolicyMaps.ALLOW, PolicyMaps.L7_NONE);
        // from the node's address, which alone would be the host (always let in): the mark's identity decides
        assertThat(ingress(NODE, 40000, 80, SYN, ProxySteering.upstreamMark(false, 300)).retval()).isEqualTo(OK);
        assertThat(ingress(NODE, 40001, 80, SYN, ProxySteering.upstreamMark(false, 999)).retval()).isEqualTo(SHOT);
        assertThat(ingress(NODE, 40002, 80, SYN, ProxySteering.upstreamMark(true, 999)).retval()).isEqualTo(SHOT);
        assertThat(count(DropReason.POLICY.code, PolicyMaps.INGRESS, 12)).isEqualTo(2);
        assertThat(ingress(NODE, 40003, 80, SYN, 0).retval()).as("the node itself").isEqualTo(OK);
    }

    @Test
    void theIngressProxysFlowIsNotSteeredAgainTheEgressProxysIsAndDenyStillDrops() {
        endpoint(B, 12, 301, BM, 1, PolicyMaps.F_INGRESS_ENFORCED);
        rule(12, PolicyMaps.INGRESS, 300, TCP, 80, 24, PolicyMaps.REDIRECT, PolicyMaps.L7_HTTP);
        assertThat(ingress(NODE, 40000, 80, SYN, ProxySteering.upstreamMark(true, 300)).retval()).as("L7 done: delivered").isEqualTo(OK);
        var again = ingress(NODE, 40001, 80, SYN, ProxySteering.upstreamMark(false, 300));
        assertThat(again.retval()).as("the destination's own L7 rules still apply").isEqualTo(REDIRECT);
        assertThat(WireNetns.mark(again)).isEqualTo(TO_PROXY | 300);
        // L3 deny of the client, and default deny of another client, still drop the ingress proxy's flow
        assertThat(ingress(NODE, 40002, 80, SYN, ProxySteering.upstreamMark(true, 500)).retval()).isEqualTo(SHOT);
        rule(12, PolicyMaps.INGRESS, 0, TCP, 0, 8, PolicyMaps.DENY, PolicyMaps.L7_NONE);   // any peer, any TCP port
        assertThat(ingress(NODE, 40003, 80, SYN, ProxySteering.upstreamMark(true, 300)).retval()).isEqualTo(SHOT);
        assertThat(count(DropReason.POLICY.code, PolicyMaps.INGRESS, 12)).isEqualTo(1);
        assertThat(count(DropReason.POLICY_DENY.code, PolicyMaps.INGRESS, 12)).isEqualTo(1);
    }

    @Test
    void repliesOfASteeredFlowPass() {
        // A's egress and ingress enforced; A may reach B:80 through the proxy
        endpoint(A, 11, 300, AM, 1, PolicyMaps.F_EGRESS_ENFORCED | PolicyMaps.F_INGRESS_ENFORCED);
        rule(11, PolicyMaps.EGRESS, 301, TCP, 80, 24, PolicyMaps.REDIRECT, PolicyMaps.L7_HTTP);
        assertThat(egressSyn(40000, 80).retval()).isEqualTo(OK);
        // the proxy's SYN-ACK as B:80 (transparent) reaches A's to_container: the reply of A's flow
        var reply = ns.run(lxc.program("to_container"), tcp(LXC, AM, B, A, 80, 40000, SYN | ACK), 1, 0, 0);
        assertThat(reply.retval()).isEqualTo(OK);
        // not so for a port A never opened
        assertThat(ns.run(lxc.program("to_container"), tcp(LXC, AM, B, A, 80, 40001, SYN | ACK), 1, 0, 0).retval()).isEqualTo(SHOT);
    }

    @Test
    void repliesToAProxysUpstreamFromAnotherNodeAreCheckedAgainstTheClientNotTheNode() {
        endpoint(B, 12, 301, BM, 1, PolicyMaps.F_INGRESS_ENFORCED);
        rule(12, PolicyMaps.INGRESS, 300, TCP, 8080, 24, PolicyMaps.ALLOW, PolicyMaps.L7_NONE);
        // node2's egress proxy, for a client of identity 300: from_overlay delivered it with the VNI's identity
        int fromTunnel = 0xa5000000 | 300;
        assertThat(ingress(NODE2, 40000, 8080, SYN, fromTunnel).retval()).isEqualTo(OK);
        // B's answer to node2's address (remote-node, which no rule allows) is the reply of the flow 300 opened
        byte[] synAck = tcp(BM, LXC, B, NODE2, 8080, 40000, SYN | ACK);
        assertThat(egress(synAck).retval()).as("into the tunnel").isEqualTo(REDIRECT);
        assertThat(count(DropReason.POLICY_REVOKED.code, PolicyMaps.EGRESS, 12)).isZero();
        // once 300 loses the allow, its replies stop too
        policy.remove(new PolicyEntryKey(12, new PolicyMaps.Key(PolicyMaps.INGRESS, 300, TCP, 8080, 24)));
        assertThat(egress(synAck).retval()).isEqualTo(SHOT);
        assertThat(count(DropReason.POLICY_REVOKED.code, PolicyMaps.EGRESS, 12)).isEqualTo(1);
    }

    // ------------------------------------------------------------------ overlay

    int[] sentKey() {
        ByteBuffer k = ByteBuffer.wrap(overlay.map("sl_test_tunnel").lookup(ByteBuffer.allocate(4).order(ByteOrder.nativeOrder()).putInt(1).array())
                .orElseThrow()).order(ByteOrder.nativeOrder());
        return new int[] {k.getInt(0), k.getInt(4)};
    }

    @Test
    void aProxysUpstreamCarriesTheClientsIdentityIntoTheTunnel() {
        byte[] toR2 = Packets.raw("02:00:00:00:00:11", "02:00:00:00:00:99", NODE, R2, TCP, Packets.tcp(40000, 80, SYN), 1, 0, false, -1);
        assertThat(ns.run(overlay.program("to_overlay"), toR2, 1, 0, ProxySteering.upstreamMark(false, 300)).retval()).isEqualTo(OK);
        assertThat(sentKey()).containsExactly(300, Ip.parse(NODE2));
        assertThat(ns.run(overlay.program("to_overlay"), toR2, 1, 0, 0).retval()).isEqualTo(OK);
        assertThat(sentKey()).as("the node's own").containsExactly(1, Ip.parse(NODE2));
        // a forwarded packet (received on an interface) never takes an identity from a mark
        assertThat(ns.run(overlay.program("to_overlay"), toR2, 1, ns.uplink, ProxySteering.upstreamMark(false, 300)).retval()).isEqualTo(OK);
        assertThat(sentKey()).containsExactly(2, Ip.parse(NODE2));
    }
}
