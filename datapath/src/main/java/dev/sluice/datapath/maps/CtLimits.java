package dev.sluice.datapath.maps;

import dev.sluice.bpf.Codec;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/** The single value of sl_ct_limits ({@code struct ct_limits}): fill levels at which new flows are refused. */
public record CtLimits(int tcpMax, int anyMax) {
    public static final MemoryLayout LAYOUT = MemoryLayout.structLayout(Layouts.U32.withName("tcp_max"), Layouts.U32.withName("any_max"));
    private static final VarHandle TCP_MAX = Layouts.field(LAYOUT, "tcp_max"), ANY_MAX = Layouts.field(LAYOUT, "any_max");

    public static final Codec<CtLimits> CODEC = new Codec<>() {
        public MemoryLayout layout() { return LAYOUT; }
        public void write(MemorySegment s, CtLimits v) {
            TCP_MAX.set(s, v.tcpMax);
            ANY_MAX.set(s, v.anyMax);
        }
        public CtLimits read(MemorySegment s) { return new CtLimits((int) TCP_MAX.get(s), (int) ANY_MAX.get(s)); }
    };

    /** The values of sl_ct_fill (__s64): entries inserted minus entries the GC removed. */
    public static final Codec<Long> FILL = new Codec<>() {
        public MemoryLayout layout() { return Layouts.U64; }
        public void write(MemorySegment s, Long v) { s.set(Layouts.U64, 0, v); }
        public Long read(MemorySegment s) { return s.get(Layouts.U64, 0); }
    };
}
