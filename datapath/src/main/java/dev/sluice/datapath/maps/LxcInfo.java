package dev.sluice.datapath.maps;

import dev.sluice.bpf.Codec;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;

/** Value of sl_lxc ({@code struct lxc_info}), keyed by the host-side veth's ifindex. */
public record LxcInfo(int id, int identity) {
    public static final MemoryLayout LAYOUT = MemoryLayout.structLayout(Layouts.U32.withName("id"), Layouts.U32.withName("identity"));

    public static final Codec<LxcInfo> CODEC = new Codec<>() {
        public MemoryLayout layout() { return LAYOUT; }
        public void write(MemorySegment s, LxcInfo v) {
            s.set(Layouts.U32, 0, v.id);
            s.set(Layouts.U32, 4, v.identity);
        }
        public LxcInfo read(MemorySegment s) { return new LxcInfo(s.get(Layouts.U32, 0), s.get(Layouts.U32, 4)); }
    };

    /** The ifindex key. */
    public static final Codec<Integer> KEY = NodeConfig.KEY;
}
