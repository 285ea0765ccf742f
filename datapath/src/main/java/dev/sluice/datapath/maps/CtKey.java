package dev.sluice.datapath.maps;

import dev.sluice.bpf.Codec;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;

/**
 * Key of sl_ct_tcp, sl_ct_any and sl_snat ({@code struct ct4_key}): addresses as host-order ints,
 * ports as numbers; {@code dir} is {@link #EGRESS}, {@link #INGRESS} or {@link #SERVICE} in the
 * conntrack maps and {@link #NAT_OUT} or {@link #NAT_IN} in sl_snat.
 */
public record CtKey(int saddr, int daddr, int sport, int dport, int proto, int dir) {
    public static final int EGRESS = 1, INGRESS = 2, SERVICE = 3;
    public static final int NAT_OUT = 1, NAT_IN = 2;
    public static final MemoryLayout LAYOUT = MemoryLayout.structLayout(
            Layouts.BE32.withName("saddr"), Layouts.BE32.withName("daddr"), Layouts.BE16.withName("sport"),
            Layouts.BE16.withName("dport"), Layouts.U8.withName("proto"), Layouts.U8.withName("dir"), Layouts.U16.withName("pad"));

    public static final Codec<CtKey> CODEC = new Codec<>() {
        public MemoryLayout layout() { return LAYOUT; }
        public void write(MemorySegment s, CtKey k) {
            s.set(Layouts.BE32, 0, k.saddr);
            s.set(Layouts.BE32, 4, k.daddr);
            s.set(Layouts.BE16, 8, (short) k.sport);
            s.set(Layouts.BE16, 10, (short) k.dport);
            s.set(Layouts.U8, 12, (byte) k.proto);
            s.set(Layouts.U8, 13, (byte) k.dir);
        }
        public CtKey read(MemorySegment s) {
            return new CtKey(s.get(Layouts.BE32, 0), s.get(Layouts.BE32, 4), s.get(Layouts.BE16, 8) & 0xffff,
                    s.get(Layouts.BE16, 10) & 0xffff, s.get(Layouts.U8, 12) & 0xff, s.get(Layouts.U8, 13) & 0xff);
        }
    };

    public String dirName(boolean nat) {
        if (nat) return dir == NAT_OUT ? "out" : dir == NAT_IN ? "in" : "dir" + dir;
        return dir == EGRESS ? "egress" : dir == INGRESS ? "ingress" : dir == SERVICE ? "service" : "dir" + dir;
    }
}
