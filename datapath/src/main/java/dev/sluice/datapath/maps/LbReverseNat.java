package dev.sluice.datapath.maps;

import dev.sluice.bpf.Codec;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/** Value of sl_lb4_reverse_nat ({@code struct lb4_reverse_nat}), keyed by frontend id: the source replies get. */
public record LbReverseNat(int address, int port) {
    public static final MemoryLayout LAYOUT = MemoryLayout.structLayout(
            Layouts.BE32.withName("address"), Layouts.BE16.withName("port"), Layouts.U16.withName("pad"));
    private static final VarHandle ADDRESS = Layouts.field(LAYOUT, "address"), PORT = Layouts.field(LAYOUT, "port");

    public static final Codec<LbReverseNat> CODEC = new Codec<>() {
        public MemoryLayout layout() { return LAYOUT; }
        public void write(MemorySegment s, LbReverseNat v) {
            ADDRESS.set(s, v.address);
            PORT.set(s, (short) v.port);
        }
        public LbReverseNat read(MemorySegment s) { return new LbReverseNat((int) ADDRESS.get(s), (short) PORT.get(s) & 0xffff); }
    };
}
