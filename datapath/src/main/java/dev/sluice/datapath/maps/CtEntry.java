package dev.sluice.datapath.maps;

import dev.sluice.bpf.Codec;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/**
 * Value of sl_ct_tcp and sl_ct_any ({@code struct ct_entry}).
 *
 * @param lifetime  expiry in ns of bpf_ktime_get_ns (CLOCK_MONOTONIC, as {@link System#nanoTime} on Linux)
 * @param natAddr   service entries: the chosen backend's address (host-order int) and port
 * @param flags     {@code CT_F_*} of bpf/lib/conntrack.h, see {@link #flagNames}
 * @param lastTxReport when a packet from the opener was last reported as a flow event (seconds of
 *     bpf_ktime_get_ns(), 0 never; bpf.monitorAggregationInterval), {@code lastRxReport} from the other side
 */
public record CtEntry(long lifetime, int revNatId, int backendId, int natAddr, int natPort, int flags, int srcIdentity,
                      long packets, long bytes, int lastTxReport, int lastRxReport) {
    public static final int SYN_ONLY = 0x01, REPLY_SEEN = 0x02, CLOSE_TX = 0x04, CLOSE_RX = 0x08, HAIRPIN = 0x10, NODEPORT = 0x20, DSR = 0x40;
    public static final MemoryLayout LAYOUT = MemoryLayout.structLayout(
            Layouts.U64.withName("lifetime"), Layouts.U32.withName("rev_nat_id"), Layouts.U32.withName("backend_id"),
            Layouts.BE32.withName("nat_addr"), Layouts.BE16.withName("nat_port"), Layouts.U16.withName("flags"),
            Layouts.U32.withName("src_identity"), Layouts.U8.withName("tx_flags_seen"), Layouts.U8.withName("rx_flags_seen"),
            Layouts.U16.withName("pad"), Layouts.U64.withName("packets"),
            Layouts.U64.withName("bytes"), Layouts.U32.withName("last_tx_report"), Layouts.U32.withName("last_rx_report"));
    private static final VarHandle LIFETIME = Layouts.field(LAYOUT, "lifetime"), REV_NAT_ID = Layouts.field(LAYOUT, "rev_nat_id"),
            BACKEND_ID = Layouts.field(LAYOUT, "backend_id"), NAT_ADDR = Layouts.field(LAYOUT, "nat_addr"),
            NAT_PORT = Layouts.field(LAYOUT, "nat_port"), FLAGS = Layouts.field(LAYOUT, "flags"),
            SRC_IDENTITY = Layouts.field(LAYOUT, "src_identity"), PACKETS = Layouts.field(LAYOUT, "packets"),
            BYTES = Layouts.field(LAYOUT, "bytes"), LAST_TX = Layouts.field(LAYOUT, "last_tx_report"),
            LAST_RX = Layouts.field(LAYOUT, "last_rx_report");

    public static final Codec<CtEntry> CODEC = new Codec<>() {
        public MemoryLayout layout() { return LAYOUT; }
        public void write(MemorySegment s, CtEntry v) {
            LIFETIME.set(s, v.lifetime);
            REV_NAT_ID.set(s, v.revNatId);
            BACKEND_ID.set(s, v.backendId);
            NAT_ADDR.set(s, v.natAddr);
            NAT_PORT.set(s, (short) v.natPort);
            FLAGS.set(s, (short) v.flags);
            SRC_IDENTITY.set(s, v.srcIdentity);
            PACKETS.set(s, v.packets);
            BYTES.set(s, v.bytes);
            LAST_TX.set(s, v.lastTxReport);
            LAST_RX.set(s, v.lastRxReport);
        }
        public CtEntry read(MemorySegment s) {
            return new CtEntry((long) LIFETIME.get(s), (int) REV_NAT_ID.get(s), (int) BACKEND_ID.get(s), (int) NAT_ADDR.get(s),
                    (short) NAT_PORT.get(s) & 0xffff, (short) FLAGS.get(s) & 0xffff, (int) SRC_IDENTITY.get(s),
                    (long) PACKETS.get(s), (long) BYTES.get(s), (int) LAST_TX.get(s), (int) LAST_RX.get(s));
        }
    };

    public String flagNames() {
        var sb = new StringBuilder();
        String[] names = {"syn", "reply-seen", "close-tx", "close-rx", "hairpin", "nodeport"};
        for (int i = 0; i < names.length; i++) if ((flags & (1 << i)) != 0) sb.append(sb.isEmpty() ? "" : ",").append(names[i]);
        return sb.toString();
    }
}
