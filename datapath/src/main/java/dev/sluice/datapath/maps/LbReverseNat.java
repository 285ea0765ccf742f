package dev.sluice.datapath.maps;

import dev.sluice.bpf.Codec;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;

/** Value of sl_lb4_reverse_nat ({@code struct lb4_reverse_nat}), keyed by frontend id: the source replies get. */
public record LbReverseNat(int address, int port) {
    public static final MemoryLayout LAYOUT = MemoryLayout.structLayout(
            Layouts.BE32.withName("address"), Layouts.BE16.withName("port"), Layouts.U16.withName("pad"));

    public static final Codec<LbReverseNat> CODEC = new Codec<>() {
        public MemoryLayout layout() { return LAYOUT; }
        public void write(MemorySegment s, LbReverseNat v) {
            s.set(Layouts.BE32, 0, v.address);
            s.set(Layouts.BE16, 4, (short) v.port);
        }
        public LbReverseNat read(MemorySegment s) { return new LbReverseNat(s.get(Layouts.BE32, 0), s.get(Layouts.BE16, 4) & 0xffff); }
    };
}
