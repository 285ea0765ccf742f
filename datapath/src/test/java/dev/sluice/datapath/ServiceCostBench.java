package dev.sluice.datapath;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.bpf.BpfObject;
import dev.sluice.bpf.TestRun;
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
import org.junit.jupiter.api.Test;

/**
 * A measurement, not a test (off unless {@code -Dbench.service=true}): what the socket load
 * balancer saves per packet. An established TCP flow's ACK through from_container (client egress)
 * and its reply through to_container (client ingress), pod A to a ClusterIP (per-packet
 * translation: CT_SERVICE lookup, DNAT, reverse NAT of the reply) and pod A to the backend's own
 * address (what the per-packet programs see of a flow the socket LB translated at connect, and of
 * pod-to-pod), policy enforced both ways. BPF_PROG_TEST_RUN's run time per packet, one run per call
 * (a translation rewrites the packet, so runs cannot repeat on it); the kernel leaves time the run
 * was preempted out of it, so a busy host moves it far less than a throughput test. Medians over
 * 20 interleaved rounds of 2,000 calls each. See docs/benchmarks.md.
 */
@org.junit.jupiter.api.Tag("privileged")
@org.junit.jupiter.api.condition.EnabledIfSystemProperty(named = "bench.service", matches = "true")
class ServiceCostBench {
    static final String A = "10.0.0.5", B = "10.0.0.6", VIP = "10.96.0.10", A_MAC = "0a:00:00:00:00:05", B_MAC = "0a:00:00:00:00:06",
            LXC = "0e:00:00:00:00:01";

    BpfObject load() {
        BpfObject o = BpfObject.open(DatapathLayoutTest.obj("bpf_lxc.o"), BpfObject.OpenOptions.defaults());
        o.load();
        o.map("sl_config").typed(NodeConfig.KEY, NodeConfig.CODEC).put(0, new NodeConfig(Ip.parse("172.30.0.11"), 1,
                NodeConfig.withMonitorInterval(NodeConfig.withMonitorAggregation(0, 2), 5), 1));
        var ipc = o.map("sl_ipcache").typed(IpcacheKey.CODEC, IpcacheValue.CODEC);
        ipc.put(new IpcacheKey(Cidr.parse(A + "/32")), new IpcacheValue(300, 0, 0));
        ipc.put(new IpcacheKey(Cidr.parse(B + "/32")), new IpcacheValue(301, 0, 0));
        var eps = o.map("sl_endpoints").typed(EndpointKey.CODEC, EndpointInfo.CODEC);
        eps.put(new EndpointKey(Ip.parse(A)), new EndpointInfo(1, 300, 11, PolicyMaps.F_EGRESS_ENFORCED, A_MAC, LXC));
        eps.put(new EndpointKey(Ip.parse(B)), new EndpointInfo(1, 301, 12, PolicyMaps.F_INGRESS_ENFORCED, B_MAC, LXC));
        var pol = o.map("sl_policy").typed(PolicyEntryKey.CODEC, PolicyEntryValue.CODEC);
        pol.put(new PolicyEntryKey(12, new PolicyMaps.Key(PolicyMaps.INGRESS, 300, 6, 80, 24)), new PolicyEntryValue(2, 1));
        pol.put(new PolicyEntryKey(11, new PolicyMaps.Key(PolicyMaps.EGRESS, 301, 6, 80, 24)), new PolicyEntryValue(2, 1));
        LbMaps lb = new LbMaps(o::map);
        lb.config().put(0, new LbConfig(Ip.parse("169.254.42.1"), 0, LbConfig.ENABLED, 61000, 65535));
        lb.backends().put(7, new LbBackend(Ip.parse(B), 80, 6, 0));
        lb.slots().put(new LbSlotKey(1, 1), 7);
        lb.reverseNat().put(1, new LbReverseNat(Ip.parse(VIP), 80));
        lb.services().put(new LbServiceKey(Ip.parse(VIP), 80, 6), new LbService(1, 1, LbService.REJECT, 0, LbService.CLUSTER_IP));
        return o;
    }

    static byte[] tcp(String sm, String dm, String s, String d, int sp, int dp, int fl) {
        return Packets.raw(sm, dm, s, d, 6, Packets.tcp(sp, dp, fl), 1, 0, false, -1);
    }

    /** Median ns per packet {from_container ACK, to_container reply} of a flow A:sport -> dst:80. */
    long[] run(BpfObject o, String dst, int sport, int calls) {
        var from = o.program("from_container");
        var to = o.program("to_container");
        byte[] ctx = ByteBuffer.allocate(WireNetns.SK_BUFF_SIZE).order(ByteOrder.nativeOrder()).putInt(8, 0xa5000000 | 301).array();
        // open the flow: SYN out, SYN-ACK back (from B, its source as the wire has it: B), ACK out
        assertThat(from.testRun(TestRun.Input.of(tcp(A_MAC, LXC, A, dst, sport, 80, 2))).retval()).as("SYN to " + dst).isEqualTo(7);
        assertThat(to.testRun(new TestRun.Input(tcp(LXC, A_MAC, B, A, 80, sport, 0x12), 1, ctx, 512)).retval()).as("SYN-ACK").isZero();
        byte[] ack = tcp(A_MAC, LXC, A, dst, sport, 80, 0x10), reply = tcp(LXC, A_MAC, B, A, 80, sport, 0x10);
        long[] f = new long[calls], t = new long[calls];
        for (int i = 0; i < calls; i++) {
            var rf = from.testRun(TestRun.Input.of(ack));
            var rt = to.testRun(new TestRun.Input(reply, 1, ctx, 512));
            if (i == 0) {
                assertThat(rf.retval()).as("ACK delivered").isEqualTo(7);
                assertThat(rt.retval()).as("reply passes").isZero();
                assertThat(new LbProgramTest.Pkt(rf.dataOut()).dst()).as("the ACK goes to the backend").isEqualTo(B);
                assertThat(new LbProgramTest.Pkt(rt.dataOut()).src()).as("the reply's source as the client knows its peer").isEqualTo(dst);
            }
            f[i] = rf.durationNs();
            t[i] = rt.durationNs();
        }
        java.util.Arrays.sort(f);
        java.util.Arrays.sort(t);
        return new long[] {f[calls / 2], t[calls / 2]};
    }

    @Test
    void measure() {
        int rounds = 20, calls = 2000;
        List<long[]> svc = new ArrayList<>(), direct = new ArrayList<>();
        for (int round = 0; round < rounds; round++) {
            for (int k = 0; k < 2; k++) {
                BpfObject o = load();
                try {
                    boolean viaService = (k + round) % 2 == 0;
                    (viaService ? svc : direct).add(run(o, viaService ? VIP : B, 40000 + round, calls));
                } finally {
                    o.close();
                }
            }
        }
        System.out.printf("from_container, established ACK, ns/packet (median of %d rounds): to the ClusterIP %d, to the backend directly %d%n",
                rounds, med(svc, 0), med(direct, 0));
        System.out.printf("to_container, its reply, ns/packet (median of %d rounds): from the ClusterIP (reverse NAT) %d, from the backend %d%n",
                rounds, med(svc, 1), med(direct, 1));
    }

    static long med(List<long[]> l, int i) {
        long[] v = l.stream().mapToLong(x -> x[i]).sorted().toArray();
        return v[v.length / 2];
    }
}
