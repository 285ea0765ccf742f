package dev.sluice.datapath.maps;

import dev.sluice.bpf.Codec;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;

/**
 * Value of sl_snat ({@code struct nat4_entry}): for NAT_OUT keys the address and port the flow leaves
 * with; for NAT_IN keys the original sender's, and for NodePort flows the frontend id the reply's
 * source becomes.
 */
public record NatEntry(long lifetime, int toAddr, int toPort, int flags, int revNatId) {
    public static final int CLOSING = 1;
    public static final MemoryLayout LAYOUT = MemoryLayout.structLayout(
            Layouts.U64.withName("lifetime"), Layouts.BE32.withName("to_addr"), Layouts.BE16.withName("to_port"),
            Layouts.U16.withName("flags"), Layouts.U32.withName("rev_nat_id"), Layouts.U32.withName("pad"));

    public static final Codec<NatEntry> CODEC = new Codec<>() {
        public MemoryLayout layout() { return LAYOUT; }
        public void write(MemorySegment s, NatEntry v) {
            s.set(Layouts.U64, 0, v.lifetime);
            s.set(Layouts.BE32, 8, v.toAddr);
            s.set(Layouts.BE16, 12, (short) v.toPort);
            s.set(Layouts.U16, 14, (short) v.flags);
            s.set(Layouts.U32, 16, v.revNatId);
        }
        public NatEntry read(MemorySegment s) {
            return new NatEntry(s.get(Layouts.U64, 0), s.get(Layouts.BE32, 8), s.get(Layouts.BE16, 12) & 0xffff,
                    s.get(Layouts.U16, 14) & 0xffff, s.get(Layouts.U32, 16));
        }
    };
}
