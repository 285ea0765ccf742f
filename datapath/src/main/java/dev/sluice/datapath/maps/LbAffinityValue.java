package dev.sluice.datapath.maps;

import dev.sluice.bpf.Codec;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;

/** Value of sl_lb4_affinity ({@code struct lb_affinity_value}): last use (bpf_ktime_get_ns) and the backend. */
public record LbAffinityValue(long lastUsed, int backendId) {
    public static final MemoryLayout LAYOUT = MemoryLayout.structLayout(
            Layouts.U64.withName("last_used"), Layouts.U32.withName("backend_id"), Layouts.U32.withName("pad"));

    public static final Codec<LbAffinityValue> CODEC = new Codec<>() {
        public MemoryLayout layout() { return LAYOUT; }
        public void write(MemorySegment s, LbAffinityValue v) {
            s.set(Layouts.U64, 0, v.lastUsed);
            s.set(Layouts.U32, 8, v.backendId);
        }
        public LbAffinityValue read(MemorySegment s) { return new LbAffinityValue(s.get(Layouts.U64, 0), s.get(Layouts.U32, 8)); }
    };
}
