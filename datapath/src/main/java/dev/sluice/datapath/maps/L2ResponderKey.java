package dev.sluice.datapath.maps;

import dev.sluice.bpf.Codec;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/** Key of sl_l2_responder ({@code struct l2_responder_key}, bpf/lib/l2.h): an announced address on one interface. */
public record L2ResponderKey(int address, int ifindex) {
    public static final MemoryLayout LAYOUT = MemoryLayout.structLayout(Layouts.BE32.withName("ip4"), Layouts.U32.withName("ifindex"));
    private static final VarHandle IP4 = Layouts.field(LAYOUT, "ip4"), IFINDEX = Layouts.field(LAYOUT, "ifindex");

    public static final Codec<L2ResponderKey> CODEC = new Codec<>() {
        public MemoryLayout layout() { return LAYOUT; }
        public void write(MemorySegment s, L2ResponderKey v) {
            IP4.set(s, v.address);
            IFINDEX.set(s, v.ifindex);
        }
        public L2ResponderKey read(MemorySegment s) { return new L2ResponderKey((int) IP4.get(s), (int) IFINDEX.get(s)); }
    };
}
