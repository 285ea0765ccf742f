package dev.sluice.datapath.maps;

import dev.sluice.bpf.Codec;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/** The single value of sl_config ({@code struct node_config}). */
public record NodeConfig(int nodeIp, int tunnelIfindex, int flags, int uplinkIfindex) {
    public static final int TUNNEL = 1;
    /** flags bits 8-9: bpf.monitorAggregation ({@code FlowEvent.AGG_*}). */
    public static final int MONITOR_SHIFT = 8, MONITOR_MASK = 0x300;
    /** flags bits 16-31: bpf.monitorAggregationInterval in seconds (0: no periodic report). */
    public static final int MONITOR_INTERVAL_SHIFT = 16, MONITOR_INTERVAL_MAX = 0xffff;

    /** {@code flags} with the monitor aggregation level set. */
    public static int withMonitorAggregation(int flags, int level) {
        if (level < 0 || level > 3) throw new IllegalArgumentException("monitor aggregation: " + level + " (expected: 0-3)");
        return (flags & ~MONITOR_MASK) | (level << MONITOR_SHIFT);
    }

    /** {@code flags} with the monitor aggregation interval set, in whole seconds. */
    public static int withMonitorInterval(int flags, int seconds) {
        if (seconds < 0 || seconds > MONITOR_INTERVAL_MAX)
            throw new IllegalArgumentException("monitor aggregation interval: " + seconds + "s (expected: 0-" + MONITOR_INTERVAL_MAX + "s)");
        return (flags & ((1 << MONITOR_INTERVAL_SHIFT) - 1)) | (seconds << MONITOR_INTERVAL_SHIFT);
    }
    public static final MemoryLayout LAYOUT = MemoryLayout.structLayout(
            Layouts.BE32.withName("node_ip"), Layouts.U32.withName("tunnel_ifindex"), Layouts.U32.withName("flags"),
            Layouts.U32.withName("uplink_ifindex"));
    private static final VarHandle NODE_IP = Layouts.field(LAYOUT, "node_ip"), TUNNEL_IFINDEX = Layouts.field(LAYOUT, "tunnel_ifindex"),
            FLAGS = Layouts.field(LAYOUT, "flags"), UPLINK_IFINDEX = Layouts.field(LAYOUT, "uplink_ifindex");

    public static final Codec<NodeConfig> CODEC = new Codec<>() {
        public MemoryLayout layout() { return LAYOUT; }
        public void write(MemorySegment s, NodeConfig v) {
            NODE_IP.set(s, v.nodeIp);
            TUNNEL_IFINDEX.set(s, v.tunnelIfindex);
            FLAGS.set(s, v.flags);
            UPLINK_IFINDEX.set(s, v.uplinkIfindex);
        }
        public NodeConfig read(MemorySegment s) {
            return new NodeConfig((int) NODE_IP.get(s), (int) TUNNEL_IFINDEX.get(s), (int) FLAGS.get(s), (int) UPLINK_IFINDEX.get(s));
        }
    };

    /** The array map's only key. */
    public static final Codec<Integer> KEY = new Codec<>() {
        public MemoryLayout layout() { return Layouts.U32; }
        public void write(MemorySegment s, Integer v) { s.set(Layouts.U32, 0, v); }
        public Integer read(MemorySegment s) { return s.get(Layouts.U32, 0); }
    };
}
