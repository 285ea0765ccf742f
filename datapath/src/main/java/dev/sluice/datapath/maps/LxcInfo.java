package dev.sluice.datapath.maps;

import dev.sluice.bpf.Codec;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/** Value of sl_lxc ({@code struct lxc_info}), keyed by the host-side veth's ifindex. */
public record LxcInfo(int id, int identity) {
    public static final MemoryLayout LAYOUT = MemoryLayout.structLayout(Layouts.U32.withName("id"), Layouts.U32.withName("identity"));
    private static final VarHandle ID = Layouts.field(LAYOUT, "id"), IDENTITY = Layouts.field(LAYOUT, "identity");

    public static final Codec<LxcInfo> CODEC = new Codec<>() {
        public MemoryLayout layout() { return LAYOUT; }
        public void write(MemorySegment s, LxcInfo v) {
            ID.set(s, v.id);
            IDENTITY.set(s, v.identity);
        }
        public LxcInfo read(MemorySegment s) { return new LxcInfo((int) ID.get(s), (int) IDENTITY.get(s)); }
    };

    /** The ifindex key. */
    public static final Codec<Integer> KEY = NodeConfig.KEY;
}
