package dev.sluice.datapath.maps;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;

/** A record on the sl_events ring buffer ({@code struct drop_event}); addresses as host-order ints. */
public record DropEvent(int type, int reason, int direction, int protocol, int ifindex, int srcIdentity, int dstIdentity,
                        int saddr, int daddr, int sport, int dport, int length, int endpoint) {
    public static final MemoryLayout LAYOUT = MemoryLayout.structLayout(
            Layouts.U8.withName("type"), Layouts.U8.withName("reason"), Layouts.U8.withName("dir"), Layouts.U8.withName("proto"),
            Layouts.U32.withName("ifindex"), Layouts.U32.withName("src_identity"), Layouts.U32.withName("dst_identity"),
            Layouts.BE32.withName("saddr"), Layouts.BE32.withName("daddr"), Layouts.BE16.withName("sport"),
            Layouts.BE16.withName("dport"), Layouts.U32.withName("len"), Layouts.U16.withName("endpoint"), Layouts.U16.withName("pad"));

    public static DropEvent read(MemorySegment s) {
        return new DropEvent(s.get(Layouts.U8, 0) & 0xff, s.get(Layouts.U8, 1) & 0xff, s.get(Layouts.U8, 2) & 0xff,
                s.get(Layouts.U8, 3) & 0xff, s.get(Layouts.U32, 4), s.get(Layouts.U32, 8), s.get(Layouts.U32, 12),
                s.get(Layouts.BE32, 16), s.get(Layouts.BE32, 20), s.get(Layouts.BE16, 24) & 0xffff,
                s.get(Layouts.BE16, 26) & 0xffff, s.get(Layouts.U32, 28), s.get(Layouts.U16, 32) & 0xffff);
    }
}
