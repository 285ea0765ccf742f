package dev.sluice.datapath.maps;

import dev.sluice.bpf.Codec;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/**
 * Value of sl_policy ({@code struct policy_value}): verdict (PolicyMaps.ALLOW/DENY/REDIRECT), rule
 * id, and the entry's own key prefix over protocol+port ({@link dev.sluice.policymap.PolicyMaps.Key#prefixLength}),
 * which the data path copies into its events so the agent can name the entry that matched.
 */
public record PolicyEntryValue(int verdict, int rule, int prefixLength, int l7) {
    public static final MemoryLayout LAYOUT = MemoryLayout.structLayout(
            Layouts.U8.withName("verdict"), Layouts.U8.withName("prefixlen"), Layouts.U8.withName("l7"), Layouts.U8.withName("pad"), Layouts.U32.withName("rule"));
    private static final VarHandle VERDICT = Layouts.field(LAYOUT, "verdict"), RULE = Layouts.field(LAYOUT, "rule"),
            PREFIXLEN = Layouts.field(LAYOUT, "prefixlen"), L7 = Layouts.field(LAYOUT, "l7");

    /** An entry whose events name no key prefix (tests that only check verdicts). */
    public PolicyEntryValue(int verdict, int rule) { this(verdict, rule, 0, verdict == dev.sluice.policymap.PolicyMaps.REDIRECT ? dev.sluice.policymap.PolicyMaps.L7_HTTP : 0); }

    public PolicyEntryValue(int verdict, int rule, int prefixLength) { this(verdict, rule, prefixLength, verdict == dev.sluice.policymap.PolicyMaps.REDIRECT ? dev.sluice.policymap.PolicyMaps.L7_HTTP : 0); }

    public static final Codec<PolicyEntryValue> CODEC = new Codec<>() {
        public MemoryLayout layout() { return LAYOUT; }
        public void write(MemorySegment s, PolicyEntryValue v) {
            VERDICT.set(s, (byte) v.verdict);
            PREFIXLEN.set(s, (byte) v.prefixLength);
            L7.set(s, (byte) v.l7);
            RULE.set(s, v.rule);
        }
        public PolicyEntryValue read(MemorySegment s) {
            return new PolicyEntryValue((byte) VERDICT.get(s) & 0xff, (int) RULE.get(s), (byte) PREFIXLEN.get(s) & 0xff, (byte) L7.get(s) & 0xff);
        }
    };
}
