package dev.sluice.datapath;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.bpf.BpfObject;
import dev.sluice.bpf.RingBufferReader;
import dev.sluice.bpf.TestRun;
import dev.sluice.bpf.TypedMap;
import dev.sluice.datapath.maps.CtEntry;
import dev.sluice.datapath.maps.CtKey;
import dev.sluice.datapath.maps.EndpointInfo;
import dev.sluice.datapath.maps.EndpointKey;
import dev.sluice.datapath.maps.FlowEvent;
import dev.sluice.datapath.maps.IpcacheKey;
import dev.sluice.datapath.maps.IpcacheValue;
import dev.sluice.datapath.maps.LbBackend;
import dev.sluice.datapath.maps.LbConfig;
import dev.sluice.datapath.maps.LbMaps;
import dev.sluice.datapath.maps.LbReverseNat;
import dev.sluice.datapath.maps.LbService;
import dev.sluice.datapath.maps.LbServiceKey;
import dev.sluice.datapath.maps.LbSlotKey;
import dev.sluice.datapath.maps.NodeConfig;
import dev.sluice.datapath.maps.PolicyEntryKey;
import dev.sluice.datapath.maps.PolicyEntryValue;
import dev.sluice.net.Cidr;
import dev.sluice.net.Ip;
import dev.sluice.policymap.PolicyMaps;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * The flow events of the pod programs on crafted packets (BPF_PROG_TEST_RUN): one event per
 * verdict, with its observation point, conntrack state, TCP flags and the policy entry that
 * decided, aggregated as bpf.monitorAggregation says. Endpoint A 10.0.0.5 (id 11, identity 300)
 * sends, B 10.0.0.6 (id 12, identity 301) receives; both on ifindex 1.
 */
@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: BPF")
class FlowProgramTest {
    static final int OK = 0, SHOT = 2, REDIRECT = 7, ICMP = 1, TCP = 6, UDP = 17, SYN = 0x02, ACK = 0x10, PSH = 0x08, FIN = 0x01;
    static final String A = "10.0.0.5", B = "10.0.0.6", AM = "0a:00:00:00:00:05", BM = "0a:00:00:00:00:06", LXC = "0e:00:00:00:00:01";
    static final String NODE = "172.30.0.11", VIP = "10.96.0.10";

    BpfObject lxc;
    TypedMap<EndpointKey, EndpointInfo> endpoints;
    TypedMap<PolicyEntryKey, PolicyEntryValue> policy;
    RingBufferReader ring;
    final List<FlowEvent> events = new ArrayList<>();

    @BeforeEach
    void load() {
        lxc = BpfObject.open(DatapathLayoutTest.obj("bpf_lxc.o"), BpfObject.OpenOptions.defaults());
        // a small ring (one page, about 56 events), so that a test can fill it
        lxc.setMaxEntries("sl_events", 4096);
        lxc.load();
        endpoints = lxc.map("sl_endpoints").typed(EndpointKey.CODEC, EndpointInfo.CODEC);
        policy = lxc.map("sl_policy").typed(PolicyEntryKey.CODEC, PolicyEntryValue.CODEC);
        aggregation(FlowEvent.AGG_MEDIUM);
        var ipc = lxc.map("sl_ipcache").typed(IpcacheKey.CODEC, IpcacheValue.CODEC);
        ipc.put(new IpcacheKey(Cidr.parse(A + "/32")), new IpcacheValue(300, 0, 0));
        ipc.put(new IpcacheKey(Cidr.parse(B + "/32")), new IpcacheValue(301, 0, 0));
        endpoint(A, 11, 300, AM, 0);
        endpoint(B, 12, 301, BM, 0);
        ring = new RingBufferReader(lxc.map("sl_events"), seg -> events.add(FlowEvent.read(seg)));
    }

    @AfterEach
    void close() {
        if (ring != null) ring.close();
        if (lxc != null) lxc.close();
    }

    void aggregation(int level) {
        aggregation(level, 0);
    }

    void aggregation(int level, int intervalSeconds) {
        int flags = NodeConfig.withMonitorInterval(NodeConfig.withMonitorAggregation(0, level), intervalSeconds);
        lxc.map("sl_config").typed(NodeConfig.KEY, NodeConfig.CODEC).put(0, new NodeConfig(Ip.parse(NODE), 1, flags, 1));
    }

    void endpoint(String ip, int id, int identity, String mac, int flags) {
        endpoints.put(new EndpointKey(Ip.parse(ip)), new EndpointInfo(1, identity, id, flags, mac, LXC));
    }

    void rule(int ep, int dir, int identity, int proto, int port, int prefix, int verdict, int ruleId) {
        policy.put(new PolicyEntryKey(ep, new PolicyMaps.Key(dir, identity, proto, port, prefix)), new PolicyEntryValue(verdict, ruleId, prefix));
    }

    /** The events since the last call. */
    List<FlowEvent> drain() {
        ring.poll(0);
        List<FlowEvent> out = List.copyOf(events);
        events.clear();
        return out;
    }

    static byte[] tcp(String srcMac, String dstMac, String src, String dst, int sport, int dport, int flags) {
        return Packets.raw(srcMac, dstMac, src, dst, TCP, Packets.tcp(sport, dport, flags), 1, 0, false, -1);
    }

    /** Into B from A (identity mark as the sending hook sets it). */
    int toB(int sport, int flags) {
        byte[] f = tcp(LXC, BM, A, B, sport, 80, flags);
        ByteBuffer ctx = ByteBuffer.allocate(WireNetns.SK_BUFF_SIZE).order(ByteOrder.nativeOrder()).putInt(8, 0xa5000000 | 300);
        return lxc.program("to_container").testRun(new TestRun.Input(f, 1, ctx.array(), f.length + TestRun.DEFAULT_HEADROOM)).retval();
    }

    /** Any frame into the pod behind ifindex 1, its source identity marked as the sending hook marks it. */
    int into(byte[] frame, int srcIdentity) {
        ByteBuffer ctx = ByteBuffer.allocate(WireNetns.SK_BUFF_SIZE).order(ByteOrder.nativeOrder()).putInt(8, 0xa5000000 | srcIdentity);
        return lxc.program("to_container").testRun(new TestRun.Input(frame, 1, ctx.array(), frame.length + TestRun.DEFAULT_HEADROOM)).retval();
    }

    int from(byte[] frame) {
        return lxc.program("from_container").testRun(TestRun.Input.of(frame)).retval();
    }

    int fromA(String dst, int sport, int dport, int flags) {
        return lxc.program("from_container").testRun(TestRun.Input.of(tcp(AM, LXC, A, dst, sport, dport, flags))).retval();
    }

    @Test
    void aNewForwardedFlowIsOneEventAndItsRepeatsNoneUnderMedium() {
        assertThat(toB(40000, SYN)).isEqualTo(OK);
        assertThat(drain()).singleElement().satisfies(e -> {
            assertThat(e.type()).isEqualTo(FlowEvent.TRACE);
            assertThat(e.reason()).isZero();
            assertThat(e.observationPoint()).isEqualTo(FlowEvent.OBS_TO_ENDPOINT);
            assertThat(e.ctState()).isEqualTo(FlowEvent.CT_NEW);
            assertThat(e.tcpFlags()).isEqualTo(SYN);
            assertThat(e.direction()).isEqualTo(PolicyMaps.INGRESS);
            assertThat(e.endpoint()).isEqualTo(12);
            assertThat(Ip.format(e.saddr())).isEqualTo(A);
            assertThat(Ip.format(e.daddr())).isEqualTo(B);
            assertThat(e.sport()).isEqualTo(40000);
            assertThat(e.dport()).isEqualTo(80);
            assertThat(e.srcIdentity()).isEqualTo(300);
            assertThat(e.dstIdentity()).isEqualTo(301);
            assertThat(e.ifindex()).isEqualTo(1);
        });
        // the same flags again: nothing new to say
        assertThat(toB(40000, SYN)).isEqualTo(OK);
        assertThat(drain()).isEmpty();
        // ACK is new in this direction, then PSH|ACK adds PSH: one event each; repeats none
        assertThat(toB(40000, ACK)).isEqualTo(OK);
        assertThat(drain()).singleElement().satisfies(e -> {
            assertThat(e.ctState()).isEqualTo(FlowEvent.CT_ESTABLISHED);
            assertThat(e.tcpFlags()).isEqualTo(ACK);
        });
        assertThat(toB(40000, ACK)).isEqualTo(OK);
        assertThat(toB(40000, PSH | ACK)).isEqualTo(OK);
        assertThat(toB(40000, PSH | ACK)).isEqualTo(OK);
        assertThat(drain()).singleElement().satisfies(e -> assertThat(e.tcpFlags()).isEqualTo(PSH | ACK));
        // another connection is new again
        assertThat(toB(40001, SYN)).isEqualTo(OK);
        assertThat(drain()).singleElement().satisfies(e -> assertThat(e.ctState()).isEqualTo(FlowEvent.CT_NEW));
    }

    @Test
    void withoutAggregationEveryPacketIsReported() {
        aggregation(FlowEvent.AGG_NONE);
        assertThat(toB(40000, SYN)).isEqualTo(OK);
        assertThat(drain()).hasSize(1);
        assertThat(toB(40000, SYN)).isEqualTo(OK);
        assertThat(drain()).singleElement().satisfies(e -> {
            assertThat(e.observationPoint()).isEqualTo(FlowEvent.OBS_TO_ENDPOINT);
            assertThat(e.ctState()).isEqualTo(FlowEvent.CT_ESTABLISHED);
        });
    }

    @Test
    void lowReportsEveryPacketWhereItLeavesAndOnlyNewFlowsWhereTheyEnter() {
        aggregation(FlowEvent.AGG_LOW);
        // leaving towards the node's stack (no tunnel here): the new flow's egress verdict, then where it leaves
        assertThat(fromA("172.30.0.99", 40000, 443, SYN)).isEqualTo(OK);
        assertThat(drain()).extracting(FlowEvent::observationPoint).containsExactly(FlowEvent.OBS_FROM_ENDPOINT, FlowEvent.OBS_TO_STACK);
        // the same packet again: low still reports it where it leaves, medium does not (no new flag)
        assertThat(fromA("172.30.0.99", 40000, 443, SYN)).isEqualTo(OK);
        assertThat(drain()).extracting(FlowEvent::observationPoint).containsExactly(FlowEvent.OBS_TO_STACK);
        aggregation(FlowEvent.AGG_MEDIUM);
        assertThat(fromA("172.30.0.99", 40000, 443, SYN)).isEqualTo(OK);
        assertThat(drain()).isEmpty();
        // maximum is medium's alias
        aggregation(FlowEvent.AGG_MAXIMUM);
        assertThat(fromA("172.30.0.99", 40000, 443, SYN)).isEqualTo(OK);
        assertThat(fromA("172.30.0.99", 40000, 443, ACK)).isEqualTo(OK);
        assertThat(drain()).singleElement().satisfies(e -> {
            assertThat(e.observationPoint()).isEqualTo(FlowEvent.OBS_TO_STACK);
            assertThat(e.tcpFlags()).isEqualTo(ACK);
        });
    }

    @Test
    void theReplyDirectionKeepsItsOwnFlags() {
        // A opens to B (local delivery: from_container reports the egress verdict of the new flow)
        assertThat(fromA(B, 40000, 80, SYN)).isEqualTo(REDIRECT);
        assertThat(drain()).singleElement().satisfies(e -> {
            assertThat(e.observationPoint()).isEqualTo(FlowEvent.OBS_FROM_ENDPOINT);
            assertThat(e.direction()).isEqualTo(PolicyMaps.EGRESS);
            assertThat(e.endpoint()).isEqualTo(11);
            assertThat(e.ctState()).isEqualTo(FlowEvent.CT_NEW);
        });
        // a second packet of the flow from A: not new, reported nowhere under medium (it is delivered locally)
        assertThat(fromA(B, 40000, 80, ACK)).isEqualTo(REDIRECT);
        assertThat(drain()).isEmpty();
        // B's SYN|ACK into A is a reply: its flags are new in the reply direction
        byte[] synAck = tcp(LXC, AM, B, A, 80, 40000, SYN | ACK);
        ByteBuffer ctx = ByteBuffer.allocate(WireNetns.SK_BUFF_SIZE).order(ByteOrder.nativeOrder()).putInt(8, 0xa5000000 | 301);
        TestRun.Input in = new TestRun.Input(synAck, 1, ctx.array(), synAck.length + TestRun.DEFAULT_HEADROOM);
        assertThat(lxc.program("to_container").testRun(in).retval()).isEqualTo(OK);
        assertThat(drain()).singleElement().satisfies(e -> {
            assertThat(e.ctState()).isEqualTo(FlowEvent.CT_REPLY);
            assertThat(e.tcpFlags()).isEqualTo(SYN | ACK);
            assertThat(e.endpoint()).isEqualTo(11);
        });
        assertThat(lxc.program("to_container").testRun(in).retval()).isEqualTo(OK);
        assertThat(drain()).isEmpty();
    }

    @Test
    void aDefaultDenyDropNamesTheDirectionAndNoEntry() {
        endpoint(B, 12, 301, BM, PolicyMaps.F_INGRESS_ENFORCED);
        assertThat(toB(40000, SYN)).isEqualTo(SHOT);
        assertThat(drain()).singleElement().satisfies(e -> {
            assertThat(e.type()).isEqualTo(FlowEvent.DROP);
            assertThat(e.reason()).isEqualTo(DropReason.POLICY.code);
            assertThat(e.observationPoint()).isEqualTo(FlowEvent.OBS_TO_ENDPOINT);
            assertThat(e.policyMatch()).isEqualTo(FlowEvent.MATCH_NONE);
            assertThat(e.policyDirection()).isEqualTo(PolicyMaps.INGRESS);
            assertThat(e.endpoint()).isEqualTo(12);
            assertThat(e.ctState()).isEqualTo(FlowEvent.CT_NEW);
            assertThat(e.tcpFlags()).isEqualTo(SYN);
        });
        // every drop is reported, repeats too, whatever the aggregation
        assertThat(toB(40000, SYN)).isEqualTo(SHOT);
        assertThat(drain()).hasSize(1);
    }

    @Test
    void aDenyDropAndAnAllowNameTheMatchedEntry() {
        endpoint(B, 12, 301, BM, PolicyMaps.F_INGRESS_ENFORCED);
        rule(12, PolicyMaps.INGRESS, 0, TCP, 0, 8, PolicyMaps.ALLOW, 55);          // any peer, any TCP port
        rule(12, PolicyMaps.INGRESS, 300, TCP, 80, 24, PolicyMaps.DENY, 66);       // A on 80: denied
        assertThat(toB(40000, SYN)).isEqualTo(SHOT);
        assertThat(drain()).singleElement().satisfies(e -> {
            assertThat(e.reason()).isEqualTo(DropReason.POLICY_DENY.code);
            assertThat(e.policyMatch()).isEqualTo(FlowEvent.MATCH_IDENTITY);
            assertThat(e.policyIdentity()).isEqualTo(300);
            assertThat(e.policyPrefixLength()).isEqualTo(24);
            assertThat(e.policyRule()).isEqualTo(66);
            assertThat(e.policyDirection()).isEqualTo(PolicyMaps.INGRESS);
        });
        // without the deny, the any-peer entry allows it and is named
        policy.remove(new PolicyEntryKey(12, new PolicyMaps.Key(PolicyMaps.INGRESS, 300, TCP, 80, 24)));
        assertThat(toB(40001, SYN)).isEqualTo(OK);
        assertThat(drain()).singleElement().satisfies(e -> {
            assertThat(e.type()).isEqualTo(FlowEvent.TRACE);
            assertThat(e.policyMatch()).isEqualTo(FlowEvent.MATCH_ANY);
            assertThat(e.policyIdentity()).isZero();
            assertThat(e.policyPrefixLength()).isEqualTo(8);
            assertThat(e.policyRule()).isEqualTo(55);
        });
    }

    @Test
    void aServicePacketIsReportedTranslatedOncePerFlow() {
        var lb = new LbMaps(lxc::map);
        lb.config().put(0, new LbConfig(Ip.parse("169.254.42.1"), 0, LbConfig.ENABLED, 61000, 65535));
        lb.backends().put(1, new LbBackend(Ip.parse(B), 8080, TCP, 0));
        lb.slots().put(new LbSlotKey(7, 1), 1);
        lb.reverseNat().put(7, new LbReverseNat(Ip.parse(VIP), 80));
        lb.services().put(new LbServiceKey(Ip.parse(VIP), 80, TCP), new LbService(7, 1, 0, 0, LbService.CLUSTER_IP));
        assertThat(fromA(VIP, 40000, 80, SYN)).isEqualTo(REDIRECT);
        List<FlowEvent> got = drain();
        assertThat(got).filteredOn(e -> e.type() == FlowEvent.TRANSLATED).singleElement().satisfies(e -> {
            assertThat(Ip.format(e.origDaddr())).isEqualTo(VIP);
            assertThat(e.origDport()).isEqualTo(80);
            assertThat(Ip.format(e.daddr())).isEqualTo(B);
            assertThat(e.dport()).isEqualTo(8080);
            assertThat(e.revNatId()).isEqualTo(7);
            assertThat(e.observationPoint()).isEqualTo(FlowEvent.OBS_FROM_ENDPOINT);
            assertThat(e.endpoint()).isEqualTo(11);
        });
        // the forwarded event of the same packet names the backend and the frontend it came through
        assertThat(got).filteredOn(e -> e.type() == FlowEvent.TRACE).singleElement()
                .satisfies(e -> assertThat(e.revNatId()).isEqualTo(7));
        // the next packet of the flow keeps its backend: no new translation to report under medium
        assertThat(fromA(VIP, 40000, 80, ACK)).isEqualTo(REDIRECT);
        assertThat(drain()).isEmpty();
        aggregation(FlowEvent.AGG_NONE);
        assertThat(fromA(VIP, 40000, 80, ACK)).isEqualTo(REDIRECT);
        assertThat(drain()).filteredOn(e -> e.type() == FlowEvent.TRANSLATED).hasSize(1);
    }

    @Test
    void aFullRingCountsWhatItLost() {
        aggregation(FlowEvent.AGG_NONE);
        for (int i = 0; i < 100; i++) assertThat(toB(40000, ACK)).isEqualTo(OK);
        long lost = FlowEvent.lost(lxc.map("sl_events_lost"));
        int seen = drain().size();
        assertThat(seen).isBetween(1, 99);
        assertThat(seen + lost).isEqualTo(100);
    }

    // ------------------------------------------------------------------ ICMP type and code

    static byte[] icmp(String srcMac, String dstMac, String src, String dst, int type, int code, int rest, byte[] body) {
        return Packets.raw(srcMac, dstMac, src, dst, ICMP, Packets.icmp(type, code, rest, body), 1, 0, false, -1);
    }

    @Test
    void anEchoAndItsReplyCarryTheirTypeAndCode() {
        byte[] request = icmp(AM, LXC, A, B, 8, 0, (0x77 << 16) | 1, new byte[8]);
        byte[] reply = icmp(BM, LXC, B, A, 0, 0, (0x77 << 16) | 1, new byte[8]);
        // A pings B (both local): A's egress verdict, then the request delivered into B
        assertThat(from(request)).isEqualTo(REDIRECT);
        assertThat(into(request, 300)).isEqualTo(OK);
        assertThat(drain()).hasSize(2).allSatisfy(e -> {
            assertThat(e.protocol()).isEqualTo(ICMP);
            assertThat(e.icmpKnown()).isTrue();
            assertThat(e.icmpType()).isEqualTo(8);
            assertThat(e.icmpCode()).isZero();
            assertThat(e.sport()).as("the echo identifier").isEqualTo(0x77);
            assertThat(e.ctState()).isEqualTo(FlowEvent.CT_NEW);
        });
        // B answers: the flow's first reply is reported where it reaches A, under medium too (ICMP
        // has no flags to tell it by)
        assertThat(from(reply)).isEqualTo(REDIRECT);
        assertThat(into(reply, 301)).isEqualTo(OK);
        assertThat(drain()).singleElement().satisfies(e -> {
            assertThat(e.icmpType()).isZero();
            assertThat(e.icmpKnown()).isTrue();
            assertThat(e.ctState()).isEqualTo(FlowEvent.CT_REPLY);
            assertThat(e.observationPoint()).isEqualTo(FlowEvent.OBS_TO_ENDPOINT);
            assertThat(e.endpoint()).isEqualTo(11);
        });
        // the same ping again: nothing new
        assertThat(from(request)).isEqualTo(REDIRECT);
        assertThat(into(request, 300)).isEqualTo(OK);
        assertThat(from(reply)).isEqualTo(REDIRECT);
        assertThat(into(reply, 301)).isEqualTo(OK);
        assertThat(drain()).isEmpty();
        // TCP and UDP events say nothing of ICMP
        assertThat(toB(40000, SYN)).isEqualTo(OK);
        assertThat(drain()).singleElement().satisfies(e -> assertThat(e.icmpKnown()).isFalse());
    }

    @Test
    void anErrorReportsItsOwnTypeNotThePacketItQuotesAndItsVerdictIsUnchanged() {
        String r = "172.30.0.99";
        endpoint(B, 12, 301, BM, PolicyMaps.F_INGRESS_ENFORCED);
        // B sends a datagram out; R's host unreachable about it is related to B's flow: delivered despite default deny
        assertThat(from(Packets.raw(BM, LXC, B, r, UDP, Packets.udp(6000, 53, new byte[4]), 1, 0, false, -1))).isEqualTo(OK);
        drain();
        byte[] related = icmp(LXC, BM, r, B, 3, 1, 0, Packets.quote(B, r, UDP, 6000, 53));
        assertThat(into(related, 2)).isEqualTo(OK);
        assertThat(drain()).singleElement().satisfies(e -> {
            assertThat(e.type()).isEqualTo(FlowEvent.TRACE);
            assertThat(e.ctState()).isEqualTo(FlowEvent.CT_RELATED);
            assertThat(e.icmpType()).isEqualTo(3);
            assertThat(e.icmpCode()).isEqualTo(1);
            assertThat(Ip.format(e.saddr())).isEqualTo(r);
        });
        // an error whose quote the sender made up (an echo request, type 8, of a flow B never had):
        // dropped by B's default deny as before, and reported as the error it is, not as what it quotes
        byte[] forged = icmp(LXC, BM, r, B, 3, 3, 0, Packets.quote(B, r, ICMP, 0x0800, 0x77));
        assertThat(into(forged, 2)).isEqualTo(SHOT);
        assertThat(drain()).singleElement().satisfies(e -> {
            assertThat(e.type()).isEqualTo(FlowEvent.DROP);
            assertThat(e.reason()).isEqualTo(DropReason.POLICY.code);
            assertThat(e.icmpKnown()).isTrue();
            assertThat(e.icmpType()).isEqualTo(3);
            assertThat(e.icmpCode()).isEqualTo(3);
            assertThat(e.ctState()).isEqualTo(FlowEvent.CT_NEW);
        });
        // a time exceeded quoting a packet of the related flow but with a forged inner type: related, type 11
        assertThat(into(icmp(LXC, BM, r, B, 11, 0, 0, Packets.quote(B, r, UDP, 6000, 53)), 2)).isEqualTo(OK);
        assertThat(drain()).singleElement().satisfies(e -> {
            assertThat(e.icmpType()).isEqualTo(11);
            assertThat(e.icmpCode()).isZero();
        });
    }

    @Test
    void aNonFirstFragmentDoesNotClaimAnIcmpType() {
        aggregation(FlowEvent.AGG_NONE);
        byte[] frag = Packets.raw(LXC, BM, A, B, ICMP, new byte[16], 9, 3, false, -1);
        assertThat(into(frag, 300)).isEqualTo(OK);
        assertThat(drain()).singleElement().satisfies(e -> {
            assertThat(e.protocol()).isEqualTo(ICMP);
            assertThat(e.icmpKnown()).isFalse();
            assertThat(e.icmpType()).isZero();
        });
    }

    // ------------------------------------------------------------------ bpf.monitorAggregationInterval

    TypedMap<CtKey, CtEntry> ctAny() { return lxc.map("sl_ct_any").typed(CtKey.CODEC, CtEntry.CODEC); }

    /**
     * Sets an entry's last reports to that many seconds ago (-1: unchanged), as if its flow had been
     * quiet that long. bpf_ktime_get_ns() and System.nanoTime() are both CLOCK_MONOTONIC; the next
     * packet may see a second more (a second boundary passed), never less.
     */
    void lastReported(CtKey k, int txSecondsAgo, int rxSecondsAgo) {
        CtEntry e = ctAny().get(k).orElseThrow();
        int now = (int) (System.nanoTime() / 1_000_000_000L);
        ctAny().put(k, new CtEntry(e.lifetime(), e.revNatId(), e.backendId(), e.natAddr(), e.natPort(), e.flags(), e.srcIdentity(),
                e.packets(), e.bytes(), txSecondsAgo < 0 ? e.lastTxReport() : now - txSecondsAgo,
                rxSecondsAgo < 0 ? e.lastRxReport() : now - rxSecondsAgo));
    }

    @Test
    void aQuietFlowIsReportedOncePerIntervalInEachDirection() {
        String r = "172.30.0.99";
        aggregation(FlowEvent.AGG_MEDIUM, 5);
        byte[] out = Packets.raw(BM, LXC, B, r, UDP, Packets.udp(6000, 53, new byte[4]), 1, 0, false, -1);
        byte[] back = Packets.raw(LXC, BM, r, B, UDP, Packets.udp(53, 6000, new byte[4]), 1, 0, false, -1);
        CtKey k = new CtKey(Ip.parse(B), Ip.parse(r), 6000, 53, UDP, CtKey.EGRESS);
        assertThat(from(out)).isEqualTo(OK);
        assertThat(drain()).extracting(FlowEvent::observationPoint).containsExactly(FlowEvent.OBS_FROM_ENDPOINT, FlowEvent.OBS_TO_STACK);
        assertThat(ctAny().get(k).orElseThrow().lastTxReport()).as("the new flow's report").isPositive();
        assertThat(into(back, 2)).isEqualTo(OK);
        assertThat(drain()).singleElement().satisfies(e -> assertThat(e.ctState()).isEqualTo(FlowEvent.CT_REPLY));
        // within the interval, nothing in either direction
        assertThat(from(out)).isEqualTo(OK);
        assertThat(into(back, 2)).isEqualTo(OK);
        assertThat(drain()).isEmpty();
        // the replies' last report 10 s old: the next reply is reported, once; the other direction stays quiet
        lastReported(k, -1, 10);
        assertThat(into(back, 2)).isEqualTo(OK);
        assertThat(into(back, 2)).isEqualTo(OK);
        assertThat(from(out)).isEqualTo(OK);
        assertThat(drain()).singleElement().satisfies(e -> {
            assertThat(e.ctState()).isEqualTo(FlowEvent.CT_REPLY);
            assertThat(e.observationPoint()).isEqualTo(FlowEvent.OBS_TO_ENDPOINT);
        });
        // 2 s ago is within the interval (a second boundary passing makes it 3), 5 s ago is not
        lastReported(k, 2, -1);
        assertThat(from(out)).isEqualTo(OK);
        assertThat(drain()).isEmpty();
        lastReported(k, 5, -1);
        assertThat(from(out)).isEqualTo(OK);
        assertThat(drain()).singleElement().satisfies(e -> {
            assertThat(e.ctState()).isEqualTo(FlowEvent.CT_ESTABLISHED);
            assertThat(e.observationPoint()).isEqualTo(FlowEvent.OBS_TO_STACK);
        });
        // no interval: a quiet flow is not reported again however long it was quiet
        aggregation(FlowEvent.AGG_MEDIUM, 0);
        lastReported(k, 3600, 3600);
        assertThat(from(out)).isEqualTo(OK);
        assertThat(into(back, 2)).isEqualTo(OK);
        assertThat(drain()).isEmpty();
    }
}
