package dev.sluice.datapath.maps;

import dev.sluice.bpf.Codec;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;

/** Value of sl_policy ({@code struct policy_value}): verdict (PolicyMaps.ALLOW/DENY/REDIRECT) and rule id. */
public record PolicyEntryValue(int verdict, int rule) {
    public static final MemoryLayout LAYOUT = MemoryLayout.structLayout(
            Layouts.U8.withName("verdict"), Layouts.U8.withName("pad"), Layouts.U16.withName("pad2"), Layouts.U32.withName("rule"));

    public static final Codec<PolicyEntryValue> CODEC = new Codec<>() {
        public MemoryLayout layout() { return LAYOUT; }
        public void write(MemorySegment s, PolicyEntryValue v) {
            s.set(Layouts.U8, 0, (byte) v.verdict);
            s.set(Layouts.U32, 4, v.rule);
        }
        public PolicyEntryValue read(MemorySegment s) { return new PolicyEntryValue(s.get(Layouts.U8, 0) & 0xff, s.get(Layouts.U32, 4)); }
    };
}
