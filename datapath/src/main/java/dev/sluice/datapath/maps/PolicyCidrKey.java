package dev.sluice.datapath.maps;

import dev.sluice.bpf.Codec;
import dev.sluice.net.Cidr;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/** Key of the sl_policy_cidr LPM trie ({@code struct policy_cidr_key}): 64 fixed bits then the address prefix. */
public record PolicyCidrKey(int endpoint, int direction, Cidr prefix) {
    static final int FIXED_BITS = 64;
    public static final MemoryLayout LAYOUT = MemoryLayout.structLayout(
            Layouts.U32.withName("prefixlen"), Layouts.U32.withName("endpoint"), Layouts.U8.withName("direction"),
            Layouts.bytes(3, "pad"), Layouts.BE32.withName("addr"));
    private static final VarHandle PREFIXLEN = Layouts.field(LAYOUT, "prefixlen"), ENDPOINT = Layouts.field(LAYOUT, "endpoint"),
            DIRECTION = Layouts.field(LAYOUT, "direction"), ADDR = Layouts.field(LAYOUT, "addr");

    public static final Codec<PolicyCidrKey> CODEC = new Codec<>() {
        public MemoryLayout layout() { return LAYOUT; }
        public void write(MemorySegment s, PolicyCidrKey k) {
            PREFIXLEN.set(s, FIXED_BITS + k.prefix.prefixLength());
            ENDPOINT.set(s, k.endpoint);
            DIRECTION.set(s, (byte) k.direction);
            ADDR.set(s, k.prefix.network());
        }
        public PolicyCidrKey read(MemorySegment s) {
            return new PolicyCidrKey((int) ENDPOINT.get(s), (byte) DIRECTION.get(s) & 0xff,
                    new Cidr((int) ADDR.get(s), (int) PREFIXLEN.get(s) - FIXED_BITS));
        }
    };

    /** The value: a CIDR-set identity. */
    public static final Codec<Integer> VALUE = NodeConfig.KEY;
}
