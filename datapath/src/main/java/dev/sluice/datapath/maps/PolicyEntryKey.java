package dev.sluice.datapath.maps;

import dev.sluice.bpf.Codec;
import dev.sluice.policymap.PolicyMaps;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/**
 * Key of the sl_policy LPM trie ({@code struct policy_key}): the kernel prefix length is the 72
 * fixed bits (endpoint, identity, direction) plus the model key's protocol/port prefix.
 */
public record PolicyEntryKey(int endpoint, PolicyMaps.Key key) {
    static final int FIXED_BITS = 72;
    public static final MemoryLayout LAYOUT = MemoryLayout.structLayout(
            Layouts.U32.withName("prefixlen"), Layouts.U32.withName("endpoint"), Layouts.U32.withName("identity"),
            Layouts.U8.withName("direction"), Layouts.U8.withName("protocol"), Layouts.BE16.withName("dport"));
    private static final VarHandle PREFIXLEN = Layouts.field(LAYOUT, "prefixlen"), ENDPOINT = Layouts.field(LAYOUT, "endpoint"),
            IDENTITY = Layouts.field(LAYOUT, "identity"), DIRECTION = Layouts.field(LAYOUT, "direction"),
            PROTOCOL = Layouts.field(LAYOUT, "protocol"), DPORT = Layouts.field(LAYOUT, "dport");

    public static final Codec<PolicyEntryKey> CODEC = new Codec<>() {
        public MemoryLayout layout() { return LAYOUT; }
        public void write(MemorySegment s, PolicyEntryKey k) {
            PREFIXLEN.set(s, FIXED_BITS + k.key.prefixLength());
            ENDPOINT.set(s, k.endpoint);
            IDENTITY.set(s, k.key.identity());
            DIRECTION.set(s, (byte) k.key.direction());
            PROTOCOL.set(s, (byte) k.key.protocol());
            DPORT.set(s, (short) k.key.port());
        }
        public PolicyEntryKey read(MemorySegment s) {
            return new PolicyEntryKey((int) ENDPOINT.get(s), new PolicyMaps.Key((byte) DIRECTION.get(s) & 0xff, (int) IDENTITY.get(s),
                    (byte) PROTOCOL.get(s) & 0xff, (short) DPORT.get(s) & 0xffff, (int) PREFIXLEN.get(s) - FIXED_BITS));
        }
    };
}
