package dev.sluice.datapath.maps;

import dev.sluice.bpf.Codec;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/** Key of sl_lb4_services ({@code struct lb4_key}): a frontend's address (host-order int), port and IP protocol number. */
public record LbServiceKey(int address, int port, int proto) {
    public static final MemoryLayout LAYOUT = MemoryLayout.structLayout(
            Layouts.BE32.withName("address"), Layouts.BE16.withName("dport"), Layouts.U8.withName("proto"), Layouts.U8.withName("pad"));
    private static final VarHandle ADDRESS = Layouts.field(LAYOUT, "address"), DPORT = Layouts.field(LAYOUT, "dport"),
            PROTO = Layouts.field(LAYOUT, "proto");

    public static final Codec<LbServiceKey> CODEC = new Codec<>() {
        public MemoryLayout layout() { return LAYOUT; }
        public void write(MemorySegment s, LbServiceKey k) {
            ADDRESS.set(s, k.address);
            DPORT.set(s, (short) k.port);
            PROTO.set(s, (byte) k.proto);
        }
        public LbServiceKey read(MemorySegment s) {
            return new LbServiceKey((int) ADDRESS.get(s), (short) DPORT.get(s) & 0xffff, (byte) PROTO.get(s) & 0xff);
        }
    };
}
