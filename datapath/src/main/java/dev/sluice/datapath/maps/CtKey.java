package dev.sluice.datapath.maps;

import dev.sluice.bpf.Codec;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

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
    private static final VarHandle SADDR = Layouts.field(LAYOUT, "saddr"), DADDR = Layouts.field(LAYOUT, "daddr"),
            SPORT = Layouts.field(LAYOUT, "sport"), DPORT = Layouts.field(LAYOUT, "dport"), PROTO = Layouts.field(LAYOUT, "proto"),
            DIR = Layouts.field(LAYOUT, "dir");

    public static final Codec<CtKey> CODEC = new Codec<>() {
        public MemoryLayout layout() { return LAYOUT; }
        public void write(MemorySegment s, CtKey k) {
            SADDR.set(s, k.saddr);
            DADDR.set(s, k.daddr);
            SPORT.set(s, (short) k.sport);
            DPORT.set(s, (short) k.dport);
            PROTO.set(s, (byte) k.proto);
            DIR.set(s, (byte) k.dir);
        }
        public CtKey read(MemorySegment s) {
            return new CtKey((int) SADDR.get(s), (int) DADDR.get(s), (short) SPORT.get(s) & 0xffff,
                    (short) DPORT.get(s) & 0xffff, (byte) PROTO.get(s) & 0xff, (byte) DIR.get(s) & 0xff);
        }
    };

    public String dirName(boolean nat) {
        if (nat) return dir == NAT_OUT ? "out" : dir == NAT_IN ? "in" : "dir" + dir;
        return dir == EGRESS ? "egress" : dir == INGRESS ? "ingress" : dir == SERVICE ? "service" : "dir" + dir;
    }
}
