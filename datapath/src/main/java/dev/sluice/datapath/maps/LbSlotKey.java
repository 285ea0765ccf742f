package dev.sluice.datapath.maps;

import dev.sluice.bpf.Codec;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/** Key of sl_lb4_slots ({@code struct lb4_slot_key}): frontend id and slot 1..count; the value is a backend id. */
public record LbSlotKey(int id, int slot) {
    public static final MemoryLayout LAYOUT = MemoryLayout.structLayout(Layouts.U32.withName("id"), Layouts.U32.withName("slot"));
    private static final VarHandle ID = Layouts.field(LAYOUT, "id"), SLOT = Layouts.field(LAYOUT, "slot");

    public static final Codec<LbSlotKey> CODEC = new Codec<>() {
        public MemoryLayout layout() { return LAYOUT; }
        public void write(MemorySegment s, LbSlotKey k) {
            ID.set(s, k.id);
            SLOT.set(s, k.slot);
        }
        public LbSlotKey read(MemorySegment s) { return new LbSlotKey((int) ID.get(s), (int) SLOT.get(s)); }
    };
}
