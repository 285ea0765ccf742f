package dev.sluice.datapath.maps;

import dev.sluice.bpf.Codec;
import dev.sluice.net.Cidr;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;

/** Key of the sl_policy_cidr LPM trie ({@code struct policy_cidr_key}): 64 fixed bits then the address prefix. */
public record PolicyCidrKey(int endpoint, int direction, Cidr prefix) {
    static final int FIXED_BITS = 64;
    public static final MemoryLayout LAYOUT = MemoryLayout.structLayout(
            Layouts.U32.withName("prefixlen"), Layouts.U32.withName("endpoint"), Layouts.U8.withName("direction"),
            Layouts.bytes(3, "pad"), Layouts.BE32.withName("addr"));

    public static final Codec<PolicyCidrKey> CODEC = new Codec<>() {
        public MemoryLayout layout() { return LAYOUT; }
        public void write(MemorySegment s, PolicyCidrKey k) {
            s.set(Layouts.U32, 0, FIXED_BITS + k.prefix.prefixLength());
            s.set(Layouts.U32, 4, k.endpoint);
            s.set(Layouts.U8, 8, (byte) k.direction);
            s.set(Layouts.BE32, 12, k.prefix.network());
        }
        public PolicyCidrKey read(MemorySegment s) {
            return new PolicyCidrKey(s.get(Layouts.U32, 4), s.get(Layouts.U8, 8) & 0xff,
                    new Cidr(s.get(Layouts.BE32, 12), s.get(Layouts.U32, 0) - FIXED_BITS));
        }
    };

    /** The value: a CIDR-set identity. */
    public static final Codec<Integer> VALUE = NodeConfig.KEY;
}
