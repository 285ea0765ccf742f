package dev.sluice.datapath.maps;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/** A record on the sl_events ring buffer ({@code struct drop_event}); addresses as host-order ints. */
public record DropEvent(int type, int reason, int direction, int protocol, int ifindex, int srcIdentity, int dstIdentity,
                        int saddr, int daddr, int sport, int dport, int length, int endpoint) {
    /** {@code type}: enum sl_event_type. */
    public static final int DROP = 1, AUDIT = 2;
    public static final MemoryLayout LAYOUT = MemoryLayout.structLayout(
            Layouts.U8.withName("type"), Layouts.U8.withName("reason"), Layouts.U8.withName("dir"), Layouts.U8.withName("proto"),
            Layouts.U32.withName("ifindex"), Layouts.U32.withName("src_identity"), Layouts.U32.withName("dst_identity"),
            Layouts.BE32.withName("saddr"), Layouts.BE32.withName("daddr"), Layouts.BE16.withName("sport"),
            Layouts.BE16.withName("dport"), Layouts.U32.withName("len"), Layouts.U16.withName("endpoint"), Layouts.U16.withName("pad"));
    private static final VarHandle TYPE = Layouts.field(LAYOUT, "type"), REASON = Layouts.field(LAYOUT, "reason"),
            DIR = Layouts.field(LAYOUT, "dir"), PROTO = Layouts.field(LAYOUT, "proto"), IFINDEX = Layouts.field(LAYOUT, "ifindex"),
            SRC_IDENTITY = Layouts.field(LAYOUT, "src_identity"), DST_IDENTITY = Layouts.field(LAYOUT, "dst_identity"),
            SADDR = Layouts.field(LAYOUT, "saddr"), DADDR = Layouts.field(LAYOUT, "daddr"), SPORT = Layouts.field(LAYOUT, "sport"),
            DPORT = Layouts.field(LAYOUT, "dport"), LEN = Layouts.field(LAYOUT, "len"), ENDPOINT = Layouts.field(LAYOUT, "endpoint");

    public static DropEvent read(MemorySegment s) {
        return new DropEvent((byte) TYPE.get(s) & 0xff, (byte) REASON.get(s) & 0xff, (byte) DIR.get(s) & 0xff,
                (byte) PROTO.get(s) & 0xff, (int) IFINDEX.get(s), (int) SRC_IDENTITY.get(s), (int) DST_IDENTITY.get(s),
                (int) SADDR.get(s), (int) DADDR.get(s), (short) SPORT.get(s) & 0xffff,
                (short) DPORT.get(s) & 0xffff, (int) LEN.get(s), (short) ENDPOINT.get(s) & 0xffff);
    }
}
