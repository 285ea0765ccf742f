package dev.sluice.datapath.maps;

import dev.sluice.bpf.Codec;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/** Key of sl_sock_rev ({@code struct sock_rev_key}): a socket (its cookie) and the backend it was sent to. */
public record SockRevKey(long cookie, int address, int port) {
    public static final MemoryLayout LAYOUT = MemoryLayout.structLayout(
            Layouts.U64.withName("cookie"), Layouts.BE32.withName("address"), Layouts.BE16.withName("port"), Layouts.U16.withName("pad"));
    private static final VarHandle COOKIE = Layouts.field(LAYOUT, "cookie"), ADDRESS = Layouts.field(LAYOUT, "address"),
            PORT = Layouts.field(LAYOUT, "port");

    public static final Codec<SockRevKey> CODEC = new Codec<>() {
        public MemoryLayout layout() { return LAYOUT; }
        public void write(MemorySegment s, SockRevKey v) {
            COOKIE.set(s, v.cookie);
            ADDRESS.set(s, v.address);
            PORT.set(s, (short) v.port);
        }
        public SockRevKey read(MemorySegment s) {
            return new SockRevKey((long) COOKIE.get(s), (int) ADDRESS.get(s), (short) PORT.get(s) & 0xffff);
        }
    };

    /** Value of sl_sock_rev ({@code struct sock_rev_value}): the frontend the socket named. */
    public record Value(int address, int port, int revNatId) {
        public static final MemoryLayout LAYOUT = MemoryLayout.structLayout(
                Layouts.BE32.withName("address"), Layouts.BE16.withName("port"), Layouts.U16.withName("rev_nat_id"));
        private static final VarHandle ADDRESS = Layouts.field(LAYOUT, "address"), PORT = Layouts.field(LAYOUT, "port"),
                REV = Layouts.field(LAYOUT, "rev_nat_id");

        public static final Codec<Value> CODEC = new Codec<>() {
            public MemoryLayout layout() { return LAYOUT; }
            public void write(MemorySegment s, Value v) {
                ADDRESS.set(s, v.address);
                PORT.set(s, (short) v.port);
                REV.set(s, (short) v.revNatId);
            }
            public Value read(MemorySegment s) {
                return new Value((int) ADDRESS.get(s), (short) PORT.get(s) & 0xffff, (short) REV.get(s) & 0xffff);
            }
        };
    }
}
