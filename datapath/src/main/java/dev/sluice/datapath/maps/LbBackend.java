package dev.sluice.datapath.maps;

import dev.sluice.bpf.Codec;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/** Value of sl_lb4_backends ({@code struct lb4_backend}), keyed by backend id (u32). */
public record LbBackend(int address, int port, int proto, int flags) {
    public static final MemoryLayout LAYOUT = MemoryLayout.structLayout(
            Layouts.BE32.withName("address"), Layouts.BE16.withName("port"), Layouts.U8.withName("proto"), Layouts.U8.withName("flags"));
    private static final VarHandle ADDRESS = Layouts.field(LAYOUT, "address"), PORT = Layouts.field(LAYOUT, "port"),
            PROTO = Layouts.field(LAYOUT, "proto"), FLAGS = Layouts.field(LAYOUT, "flags");

    public static final Codec<LbBackend> CODEC = new Codec<>() {
        public MemoryLayout layout() { return LAYOUT; }
        public void write(MemorySegment s, LbBackend v) {
            ADDRESS.set(s, v.address);
            PORT.set(s, (short) v.port);
            PROTO.set(s, (byte) v.proto);
            FLAGS.set(s, (byte) v.flags);
        }
        public LbBackend read(MemorySegment s) {
            return new LbBackend((int) ADDRESS.get(s), (short) PORT.get(s) & 0xffff, (byte) PROTO.get(s) & 0xff, (byte) FLAGS.get(s) & 0xff);
        }
    };

    /** The u32 keys of the backend, reverse NAT and Maglev maps. */
    public static final Codec<Integer> ID = NodeConfig.KEY;
}
