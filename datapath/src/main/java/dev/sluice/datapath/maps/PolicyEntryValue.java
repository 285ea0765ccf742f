package dev.sluice.datapath.maps;

import dev.sluice.bpf.Codec;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/** Value of sl_policy ({@code struct policy_value}): verdict (PolicyMaps.ALLOW/DENY/REDIRECT) and rule id. */
public record PolicyEntryValue(int verdict, int rule) {
    public static final MemoryLayout LAYOUT = MemoryLayout.structLayout(
            Layouts.U8.withName("verdict"), Layouts.U8.withName("pad"), Layouts.U16.withName("pad2"), Layouts.U32.withName("rule"));
    private static final VarHandle VERDICT = Layouts.field(LAYOUT, "verdict"), RULE = Layouts.field(LAYOUT, "rule");

    public static final Codec<PolicyEntryValue> CODEC = new Codec<>() {
        public MemoryLayout layout() { return LAYOUT; }
        public void write(MemorySegment s, PolicyEntryValue v) {
            VERDICT.set(s, (byte) v.verdict);
            RULE.set(s, v.rule);
        }
        public PolicyEntryValue read(MemorySegment s) { return new PolicyEntryValue((byte) VERDICT.get(s) & 0xff, (int) RULE.get(s)); }
    };
}
