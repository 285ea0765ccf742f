package dev.sluice.datapath.maps;

import dev.sluice.bpf.Codec;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;

/** Key of sl_lb4_affinity ({@code struct lb_affinity_key}): client address and frontend id. */
public record LbAffinityKey(int client, int id) {
    public static final MemoryLayout LAYOUT = MemoryLayout.structLayout(Layouts.BE32.withName("client"), Layouts.U32.withName("id"));

    public static final Codec<LbAffinityKey> CODEC = new Codec<>() {
        public MemoryLayout layout() { return LAYOUT; }
        public void write(MemorySegment s, LbAffinityKey k) {
            s.set(Layouts.BE32, 0, k.client);
            s.set(Layouts.U32, 4, k.id);
        }
        public LbAffinityKey read(MemorySegment s) { return new LbAffinityKey(s.get(Layouts.BE32, 0), s.get(Layouts.U32, 4)); }
    };
}
