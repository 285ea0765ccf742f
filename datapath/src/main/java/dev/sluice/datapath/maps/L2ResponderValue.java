package dev.sluice.datapath.maps;

import dev.sluice.bpf.Codec;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/**
 * Value of sl_l2_responder ({@code struct l2_responder_value}, bpf/lib/l2.h).
 *
 * @param expires bpf_ktime_get_ns() time (CLOCK_MONOTONIC, as {@link System#nanoTime()} on Linux)
 *                after which the entry no longer answers
 * @param mac     the interface's MAC, aa:bb:cc:dd:ee:ff
 * @param replies ARP replies sent for the entry (the data path counts them)
 */
public record L2ResponderValue(long expires, String mac, long replies) {
    public static final MemoryLayout LAYOUT = MemoryLayout.structLayout(Layouts.U64.withName("expires"), Layouts.bytes(6, "mac"),
            Layouts.bytes(2, "pad"), Layouts.U64.withName("replies"));
    private static final VarHandle EXPIRES = Layouts.field(LAYOUT, "expires"), MAC = Layouts.field(LAYOUT, "mac"),
            REPLIES = Layouts.field(LAYOUT, "replies");

    public static final Codec<L2ResponderValue> CODEC = new Codec<>() {
        public MemoryLayout layout() { return LAYOUT; }
        public void write(MemorySegment s, L2ResponderValue v) {
            EXPIRES.set(s, v.expires);
            Layouts.mac(s, MAC, v.mac);
            REPLIES.set(s, v.replies);
        }
        public L2ResponderValue read(MemorySegment s) {
            return new L2ResponderValue((long) EXPIRES.get(s), Layouts.mac(s, MAC), (long) REPLIES.get(s));
        }
    };

    /** A __u64 counter of sl_l2_stats. */
    public static final Codec<Long> COUNTER = new Codec<>() {
        public MemoryLayout layout() { return Layouts.U64; }
        public void write(MemorySegment s, Long v) { s.set(Layouts.U64, 0, v); }
        public Long read(MemorySegment s) { return s.get(Layouts.U64, 0); }
    };

    /** sl_l2_stats indexes (enum sl_l2_outcome), in order; DatapathConstants checks them against C. */
    public static final java.util.List<String> OUTCOMES = java.util.List.of("L2_REPLIED", "L2_PASS_TRUNCATED", "L2_PASS_NOT_ETH_IP4",
            "L2_PASS_NOT_REQUEST", "L2_PASS_NOT_FOR_US", "L2_PASS_BAD_SENDER", "L2_PASS_GRATUITOUS", "L2_PASS_NOT_ANNOUNCED",
            "L2_PASS_EXPIRED", "L2_PASS_STORE_FAILED");
    /** The outcomes as users read them: the C name without its prefix, lower case. */
    public static String outcomeName(int i) {
        return i >= 0 && i < OUTCOMES.size() ? OUTCOMES.get(i).substring(3).toLowerCase() : Integer.toString(i);
    }
}
