package dev.sluice.datapath.maps;

import dev.sluice.bpf.Codec;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/** Key of sl_lb4_affinity ({@code struct lb_affinity_key}): client address and frontend id. */
public record LbAffinityKey(int client, int id) {
    public static final MemoryLayout LAYOUT = MemoryLayout.structLayout(Layouts.BE32.withName("client"), Layouts.U32.withName("id"));
    private static final VarHandle CLIENT = Layouts.field(LAYOUT, "client"), ID = Layouts.field(LAYOUT, "id");

    public static final Codec<LbAffinityKey> CODEC = new Codec<>() {
        public MemoryLayout layout() { return LAYOUT; }
        public void write(MemorySegment s, LbAffinityKey k) {
            CLIENT.set(s, k.client);
            ID.set(s, k.id);
        }
        public LbAffinityKey read(MemorySegment s) { return new LbAffinityKey((int) CLIENT.get(s), (int) ID.get(s)); }
    };
}
