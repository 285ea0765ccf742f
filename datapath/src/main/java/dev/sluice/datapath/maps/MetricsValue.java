package dev.sluice.datapath.maps;

import dev.sluice.bpf.Codec;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/** One CPU's slot of sl_metrics ({@code struct metrics_value}). */
public record MetricsValue(long packets, long bytes) {
    public static final MemoryLayout LAYOUT = MemoryLayout.structLayout(Layouts.U64.withName("packets"), Layouts.U64.withName("bytes"));
    private static final VarHandle PACKETS = Layouts.field(LAYOUT, "packets"), BYTES = Layouts.field(LAYOUT, "bytes");

    public static final Codec<MetricsValue> CODEC = new Codec<>() {
        public MemoryLayout layout() { return LAYOUT; }
        public void write(MemorySegment s, MetricsValue v) {
            PACKETS.set(s, v.packets);
            BYTES.set(s, v.bytes);
        }
        public MetricsValue read(MemorySegment s) { return new MetricsValue((long) PACKETS.get(s), (long) BYTES.get(s)); }
    };

    public MetricsValue plus(MetricsValue o) { return new MetricsValue(packets + o.packets, bytes + o.bytes); }
}
