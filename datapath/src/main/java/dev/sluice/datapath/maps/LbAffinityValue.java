package dev.sluice.datapath.maps;

import dev.sluice.bpf.Codec;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/** Value of sl_lb4_affinity ({@code struct lb_affinity_value}): last use (bpf_ktime_get_ns) and the backend. */
public record LbAffinityValue(long lastUsed, int backendId) {
    public static final MemoryLayout LAYOUT = MemoryLayout.structLayout(
            Layouts.U64.withName("last_used"), Layouts.U32.withName("backend_id"), Layouts.U32.withName("pad"));
    private static final VarHandle LAST_USED = Layouts.field(LAYOUT, "last_used"), BACKEND_ID = Layouts.field(LAYOUT, "backend_id");

    public static final Codec<LbAffinityValue> CODEC = new Codec<>() {
        public MemoryLayout layout() { return LAYOUT; }
        public void write(MemorySegment s, LbAffinityValue v) {
            LAST_USED.set(s, v.lastUsed);
            BACKEND_ID.set(s, v.backendId);
        }
        public LbAffinityValue read(MemorySegment s) { return new LbAffinityValue((long) LAST_USED.get(s), (int) BACKEND_ID.get(s)); }
    };
}
