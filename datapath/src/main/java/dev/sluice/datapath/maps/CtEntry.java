package dev.sluice.datapath.maps;

import dev.sluice.bpf.Codec;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;

/**
 * Value of sl_ct_tcp and sl_ct_any ({@code struct ct_entry}).
 *
 * @param lifetime  expiry in ns of bpf_ktime_get_ns (CLOCK_MONOTONIC, as {@link System#nanoTime} on Linux)
 * @param natAddr   service entries: the chosen backend's address (host-order int) and port
 * @param flags     {@code CT_F_*} of bpf/lib/conntrack.h, see {@link #flagNames}
 */
public record CtEntry(long lifetime, int revNatId, int backendId, int natAddr, int natPort, int flags, int srcIdentity,
                      long packets, long bytes) {
    public static final int SYN_ONLY = 0x01, REPLY_SEEN = 0x02, CLOSE_TX = 0x04, CLOSE_RX = 0x08, HAIRPIN = 0x10, NODEPORT = 0x20;
    public static final MemoryLayout LAYOUT = MemoryLayout.structLayout(
            Layouts.U64.withName("lifetime"), Layouts.U32.withName("rev_nat_id"), Layouts.U32.withName("backend_id"),
            Layouts.BE32.withName("nat_addr"), Layouts.BE16.withName("nat_port"), Layouts.U16.withName("flags"),
            Layouts.U32.withName("src_identity"), Layouts.U32.withName("pad"), Layouts.U64.withName("packets"),
            Layouts.U64.withName("bytes"));

    public static final Codec<CtEntry> CODEC = new Codec<>() {
        public MemoryLayout layout() { return LAYOUT; }
        public void write(MemorySegment s, CtEntry v) {
            s.set(Layouts.U64, 0, v.lifetime);
            s.set(Layouts.U32, 8, v.revNatId);
            s.set(Layouts.U32, 12, v.backendId);
            s.set(Layouts.BE32, 16, v.natAddr);
            s.set(Layouts.BE16, 20, (short) v.natPort);
            s.set(Layouts.U16, 22, (short) v.flags);
            s.set(Layouts.U32, 24, v.srcIdentity);
            s.set(Layouts.U64, 32, v.packets);
            s.set(Layouts.U64, 40, v.bytes);
        }
        public CtEntry read(MemorySegment s) {
            return new CtEntry(s.get(Layouts.U64, 0), s.get(Layouts.U32, 8), s.get(Layouts.U32, 12), s.get(Layouts.BE32, 16),
                    s.get(Layouts.BE16, 20) & 0xffff, s.get(Layouts.U16, 22) & 0xffff, s.get(Layouts.U32, 24),
                    s.get(Layouts.U64, 32), s.get(Layouts.U64, 40));
        }
    };

    public String flagNames() {
        var sb = new StringBuilder();
        String[] names = {"syn", "reply-seen", "close-tx", "close-rx", "hairpin", "nodeport"};
        for (int i = 0; i < names.length; i++) if ((flags & (1 << i)) != 0) sb.append(sb.isEmpty() ? "" : ",").append(names[i]);
        return sb.toString();
    }
}
