package dev.sluice.datapath.maps;

import dev.sluice.bpf.Codec;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;

/** Value of sl_lb4_backends ({@code struct lb4_backend}), keyed by backend id (u32). */
public record LbBackend(int address, int port, int proto, int flags) {
    public static final MemoryLayout LAYOUT = MemoryLayout.structLayout(
            Layouts.BE32.withName("address"), Layouts.BE16.withName("port"), Layouts.U8.withName("proto"), Layouts.U8.withName("flags"));

    public static final Codec<LbBackend> CODEC = new Codec<>() {
        public MemoryLayout layout() { return LAYOUT; }
        public void write(MemorySegment s, LbBackend v) {
            s.set(Layouts.BE32, 0, v.address);
            s.set(Layouts.BE16, 4, (short) v.port);
            s.set(Layouts.U8, 6, (byte) v.proto);
            s.set(Layouts.U8, 7, (byte) v.flags);
        }
        public LbBackend read(MemorySegment s) {
            return new LbBackend(s.get(Layouts.BE32, 0), s.get(Layouts.BE16, 4) & 0xffff, s.get(Layouts.U8, 6) & 0xff, s.get(Layouts.U8, 7) & 0xff);
        }
    };

    /** The u32 keys of the backend, reverse NAT and Maglev maps. */
    public static final Codec<Integer> ID = NodeConfig.KEY;
}
