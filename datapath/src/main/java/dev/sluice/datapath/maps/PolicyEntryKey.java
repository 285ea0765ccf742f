package dev.sluice.datapath.maps;

import dev.sluice.bpf.Codec;
import dev.sluice.policymap.PolicyMaps;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;

/**
 * Key of the sl_policy LPM trie ({@code struct policy_key}): the kernel prefix length is the 72
 * fixed bits (endpoint, identity, direction) plus the model key's protocol/port prefix.
 */
public record PolicyEntryKey(int endpoint, PolicyMaps.Key key) {
    static final int FIXED_BITS = 72;
    public static final MemoryLayout LAYOUT = MemoryLayout.structLayout(
            Layouts.U32.withName("prefixlen"), Layouts.U32.withName("endpoint"), Layouts.U32.withName("identity"),
            Layouts.U8.withName("direction"), Layouts.U8.withName("protocol"), Layouts.BE16.withName("dport"));

    public static final Codec<PolicyEntryKey> CODEC = new Codec<>() {
        public MemoryLayout layout() { return LAYOUT; }
        public void write(MemorySegment s, PolicyEntryKey k) {
            s.set(Layouts.U32, 0, FIXED_BITS + k.key.prefixLength());
            s.set(Layouts.U32, 4, k.endpoint);
            s.set(Layouts.U32, 8, k.key.identity());
            s.set(Layouts.U8, 12, (byte) k.key.direction());
            s.set(Layouts.U8, 13, (byte) k.key.protocol());
            s.set(Layouts.BE16, 14, (short) k.key.port());
        }
        public PolicyEntryKey read(MemorySegment s) {
            return new PolicyEntryKey(s.get(Layouts.U32, 4), new PolicyMaps.Key(s.get(Layouts.U8, 12) & 0xff, s.get(Layouts.U32, 8),
                    s.get(Layouts.U8, 13) & 0xff, s.get(Layouts.BE16, 14) & 0xffff, s.get(Layouts.U32, 0) - FIXED_BITS));
        }
    };
}
