package dev.sluice.datapath.maps;

import dev.sluice.bpf.Codec;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

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
    private static final VarHandle LIFETIME = Layouts.field(LAYOUT, "lifetime"), TO_ADDR = Layouts.field(LAYOUT, "to_addr"),
            TO_PORT = Layouts.field(LAYOUT, "to_port"), FLAGS = Layouts.field(LAYOUT, "flags"),
            REV_NAT_ID = Layouts.field(LAYOUT, "rev_nat_id");

    public static final Codec<NatEntry> CODEC = new Codec<>() {
        public MemoryLayout layout() { return LAYOUT; }
        public void write(MemorySegment s, NatEntry v) {
            LIFETIME.set(s, v.lifetime);
            TO_ADDR.set(s, v.toAddr);
            TO_PORT.set(s, (short) v.toPort);
            FLAGS.set(s, (short) v.flags);
            REV_NAT_ID.set(s, v.revNatId);
        }
        public NatEntry read(MemorySegment s) {
            return new NatEntry((long) LIFETIME.get(s), (int) TO_ADDR.get(s), (short) TO_PORT.get(s) & 0xffff,
                    (short) FLAGS.get(s) & 0xffff, (int) REV_NAT_ID.get(s));
        }
    };
}
