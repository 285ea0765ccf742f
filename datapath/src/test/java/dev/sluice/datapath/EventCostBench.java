package dev.sluice.datapath;

import dev.sluice.bpf.BpfObject;
import dev.sluice.bpf.RingBufferReader;
import dev.sluice.bpf.TestRun;
import dev.sluice.datapath.maps.EndpointInfo;
import dev.sluice.datapath.maps.EndpointKey;
import dev.sluice.datapath.maps.FlowEvent;
import dev.sluice.datapath.maps.IpcacheKey;
import dev.sluice.datapath.maps.IpcacheValue;
import dev.sluice.datapath.maps.NodeConfig;
import dev.sluice.datapath.maps.PolicyEntryKey;
import dev.sluice.datapath.maps.PolicyEntryValue;
import dev.sluice.net.Cidr;
import dev.sluice.net.Ip;
import dev.sluice.policymap.PolicyMaps;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A measurement, not a test (off unless {@code -Dbench.events=true}): the data path's per-packet
 * cost of flow events, as BPF_PROG_TEST_RUN's mean run time of an established TCP flow's ACK in
 * to_container and from_container (policy enforced both ways), with bpf.monitorAggregation medium
 * (nothing reported for it) and none (one event a packet), and optionally an older build's
 * bpf_lxc.o ({@code -Dbench.baseline=PATH}) that has no forwarded events at all. Medians of 15
 * interleaved rounds of 10,000 runs. See docs/benchmarks.md.
 */
@org.junit.jupiter.api.Tag("privileged")
@org.junit.jupiter.api.condition.EnabledIfSystemProperty(named = "bench.events", matches = "true")
class EventCostBench {
    record Setup(BpfObject o, RingBufferReader ring) {}

    Setup load(Path obj, int agg) {
        BpfObject o = BpfObject.open(obj, BpfObject.OpenOptions.defaults());
        o.load();
        o.map("sl_config").typed(NodeConfig.KEY, NodeConfig.CODEC).put(0, new NodeConfig(Ip.parse("172.30.0.11"), 1,
                NodeConfig.withMonitorInterval(NodeConfig.withMonitorAggregation(0, agg), 5), 1));   // the default interval: an older build ignores it
        var ipc = o.map("sl_ipcache").typed(IpcacheKey.CODEC, IpcacheValue.CODEC);
        ipc.put(new IpcacheKey(Cidr.parse("10.0.0.5/32")), new IpcacheValue(300, 0, 0));
        ipc.put(new IpcacheKey(Cidr.parse("10.0.0.6/32")), new IpcacheValue(301, 0, 0));
        var eps = o.map("sl_endpoints").typed(EndpointKey.CODEC, EndpointInfo.CODEC);
        eps.put(new EndpointKey(Ip.parse("10.0.0.5")), new EndpointInfo(1, 300, 11, PolicyMaps.F_EGRESS_ENFORCED, "0a:00:00:00:00:05", "0e:00:00:00:00:01"));
        eps.put(new EndpointKey(Ip.parse("10.0.0.6")), new EndpointInfo(1, 301, 12, PolicyMaps.F_INGRESS_ENFORCED, "0a:00:00:00:00:06", "0e:00:00:00:00:01"));
        var pol = o.map("sl_policy").typed(PolicyEntryKey.CODEC, PolicyEntryValue.CODEC);
        pol.put(new PolicyEntryKey(12, new PolicyMaps.Key(PolicyMaps.INGRESS, 300, 6, 80, 24)), new PolicyEntryValue(2, 1));
        pol.put(new PolicyEntryKey(11, new PolicyMaps.Key(PolicyMaps.EGRESS, 301, 6, 80, 24)), new PolicyEntryValue(2, 1));
        return new Setup(o, new RingBufferReader(o.map("sl_events"), s -> {}));
    }

    static byte[] tcp(String sm, String dm, String s, String d, int sp, int dp, int fl) {
        return Packets.raw(sm, dm, s, d, 6, Packets.tcp(sp, dp, fl), 1, 0, false, -1);
    }

    long[] run(Setup s, int repeat) {
        byte[] syn = tcp("0e:00:00:00:00:01", "0a:00:00:00:00:06", "10.0.0.5", "10.0.0.6", 40000, 80, 2);
        byte[] ack = tcp("0e:00:00:00:00:01", "0a:00:00:00:00:06", "10.0.0.5", "10.0.0.6", 40000, 80, 0x10);
        byte[] fack = tcp("0a:00:00:00:00:05", "0e:00:00:00:00:01", "10.0.0.5", "10.0.0.6", 40000, 80, 0x10);
        ByteBuffer ctx = ByteBuffer.allocate(WireNetns.SK_BUFF_SIZE).order(ByteOrder.nativeOrder()).putInt(8, 0xa5000000 | 300);
        var to = s.o().program("to_container");
        to.testRun(new TestRun.Input(syn, 1, ctx.array(), syn.length + 256));
        to.testRun(new TestRun.Input(ack, 1, ctx.array(), ack.length + 256));
        s.o().program("from_container").testRun(TestRun.Input.of(tcp("0a:00:00:00:00:05", "0e:00:00:00:00:01", "10.0.0.5", "10.0.0.6", 40000, 80, 2)));
        s.o().program("from_container").testRun(TestRun.Input.of(fack));
        s.ring().poll(0);
        var ra = to.testRun(new TestRun.Input(ack, repeat, ctx.array(), ack.length + 256));
        s.ring().poll(0);
        var rb = s.o().program("from_container").testRun(new TestRun.Input(fack, repeat, null, fack.length + 256));
        org.assertj.core.api.Assertions.assertThat(ra.retval()).as("to_container passes the ACK").isZero();
        org.assertj.core.api.Assertions.assertThat(rb.retval()).as("from_container delivers the ACK").isEqualTo(7);
        long a = ra.durationNs(), b = rb.durationNs();
        s.ring().poll(0);
        return new long[] {a, b};
    }

    @Test
    void measure() {
        String base = System.getProperty("bench.baseline", "");
        Path newObj = DatapathLayoutTest.obj("bpf_lxc.o"), oldObj = base.isEmpty() ? newObj : Path.of(base);
        int repeat = 10000;
        List<long[]> old = new ArrayList<>(), med = new ArrayList<>(), none = new ArrayList<>();
        for (int round = 0; round < 15; round++) {
            for (int k = 0; k < 3; k++) {
                Setup s = load(k == 0 ? oldObj : newObj, k == 2 ? FlowEvent.AGG_NONE : FlowEvent.AGG_MEDIUM);
                try {
                    (k == 0 ? old : k == 1 ? med : none).add(run(s, repeat));
                } finally {
                    s.ring().close();
                    s.o().close();
                }
            }
        }
        String first = base.isEmpty() ? "medium (again)" : "baseline " + base;
        System.out.printf("to_container, established ACK, ns/packet (median): %s %d, medium %d, none %d%n", first, med(old, 0), med(med, 0), med(none, 0));
        System.out.printf("from_container, established ACK, ns/packet (median): %s %d, medium %d, none %d%n", first, med(old, 1), med(med, 1), med(none, 1));
    }

    static long med(List<long[]> l, int i) {
        long[] v = l.stream().mapToLong(x -> x[i]).sorted().toArray();
        return v[v.length / 2];
    }
}
