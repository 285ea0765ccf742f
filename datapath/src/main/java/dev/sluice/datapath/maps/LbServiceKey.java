package dev.sluice.datapath.maps;

import dev.sluice.bpf.Codec;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;

/** Key of sl_lb4_services ({@code struct lb4_key}): a frontend's address (host-order int), port and IP protocol number. */
public record LbServiceKey(int address, int port, int proto) {
    public static final MemoryLayout LAYOUT = MemoryLayout.structLayout(
            Layouts.BE32.withName("address"), Layouts.BE16.withName("dport"), Layouts.U8.withName("proto"), Layouts.U8.withName("pad"));

    public static final Codec<LbServiceKey> CODEC = new Codec<>() {
        public MemoryLayout layout() { return LAYOUT; }
        public void write(MemorySegment s, LbServiceKey k) {
            s.set(Layouts.BE32, 0, k.address);
            s.set(Layouts.BE16, 4, (short) k.port);
            s.set(Layouts.U8, 6, (byte) k.proto);
        }
        public LbServiceKey read(MemorySegment s) {
            return new LbServiceKey(s.get(Layouts.BE32, 0), s.get(Layouts.BE16, 4) & 0xffff, s.get(Layouts.U8, 6) & 0xff);
        }
    };
}
