package dev.sluice.datapath.maps;

import dev.sluice.bpf.Codec;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;

/** The single value of sl_config ({@code struct node_config}). */
public record NodeConfig(int nodeIp, int tunnelIfindex, int flags, int uplinkIfindex) {
    public static final int TUNNEL = 1;
    public static final MemoryLayout LAYOUT = MemoryLayout.structLayout(
            Layouts.BE32.withName("node_ip"), Layouts.U32.withName("tunnel_ifindex"), Layouts.U32.withName("flags"),
            Layouts.U32.withName("uplink_ifindex"));

    public static final Codec<NodeConfig> CODEC = new Codec<>() {
        public MemoryLayout layout() { return LAYOUT; }
        public void write(MemorySegment s, NodeConfig v) {
            s.set(Layouts.BE32, 0, v.nodeIp);
            s.set(Layouts.U32, 4, v.tunnelIfindex);
            s.set(Layouts.U32, 8, v.flags);
            s.set(Layouts.U32, 12, v.uplinkIfindex);
        }
        public NodeConfig read(MemorySegment s) {
            return new NodeConfig(s.get(Layouts.BE32, 0), s.get(Layouts.U32, 4), s.get(Layouts.U32, 8), s.get(Layouts.U32, 12));
        }
    };

    /** The array map's only key. */
    public static final Codec<Integer> KEY = new Codec<>() {
        public MemoryLayout layout() { return Layouts.U32; }
        public void write(MemorySegment s, Integer v) { s.set(Layouts.U32, 0, v); }
        public Integer read(MemorySegment s) { return s.get(Layouts.U32, 0); }
    };
}
