package dev.sluice.datapath.maps;

import dev.sluice.bpf.Codec;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;

/** Key of sl_metrics ({@code struct metrics_key}): reason (0 = forwarded), direction (1 ingress, 2 egress), endpoint id. */
public record MetricsKey(int reason, int direction, int endpoint) {
    public static final MemoryLayout LAYOUT = MemoryLayout.structLayout(
            Layouts.U8.withName("reason"), Layouts.U8.withName("dir"), Layouts.U16.withName("endpoint"));

    public static final Codec<MetricsKey> CODEC = new Codec<>() {
        public MemoryLayout layout() { return LAYOUT; }
        public void write(MemorySegment s, MetricsKey k) {
            s.set(Layouts.U8, 0, (byte) k.reason);
            s.set(Layouts.U8, 1, (byte) k.direction);
            s.set(Layouts.U16, 2, (short) k.endpoint);
        }
        public MetricsKey read(MemorySegment s) {
            return new MetricsKey(s.get(Layouts.U8, 0) & 0xff, s.get(Layouts.U8, 1) & 0xff, s.get(Layouts.U16, 2) & 0xffff);
        }
    };
}
