package dev.sluice.datapath.maps;

import dev.sluice.bpf.Codec;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;

/** One CPU's slot of sl_metrics ({@code struct metrics_value}). */
public record MetricsValue(long packets, long bytes) {
    public static final MemoryLayout LAYOUT = MemoryLayout.structLayout(Layouts.U64.withName("packets"), Layouts.U64.withName("bytes"));

    public static final Codec<MetricsValue> CODEC = new Codec<>() {
        public MemoryLayout layout() { return LAYOUT; }
        public void write(MemorySegment s, MetricsValue v) {
            s.set(Layouts.U64, 0, v.packets);
            s.set(Layouts.U64, 8, v.bytes);
        }
        public MetricsValue read(MemorySegment s) { return new MetricsValue(s.get(Layouts.U64, 0), s.get(Layouts.U64, 8)); }
    };

    public MetricsValue plus(MetricsValue o) { return new MetricsValue(packets + o.packets, bytes + o.bytes); }
}
