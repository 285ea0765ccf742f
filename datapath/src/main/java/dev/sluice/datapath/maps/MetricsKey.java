package dev.sluice.datapath.maps;

import dev.sluice.bpf.Codec;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/** Key of sl_metrics ({@code struct metrics_key}): reason (0 = forwarded), direction (1 ingress, 2 egress), endpoint id. */
public record MetricsKey(int reason, int direction, int endpoint) {
    public static final MemoryLayout LAYOUT = MemoryLayout.structLayout(
            Layouts.U8.withName("reason"), Layouts.U8.withName("dir"), Layouts.U16.withName("endpoint"));
    private static final VarHandle REASON = Layouts.field(LAYOUT, "reason"), DIR = Layouts.field(LAYOUT, "dir"),
            ENDPOINT = Layouts.field(LAYOUT, "endpoint");

    public static final Codec<MetricsKey> CODEC = new Codec<>() {
        public MemoryLayout layout() { return LAYOUT; }
        public void write(MemorySegment s, MetricsKey k) {
            REASON.set(s, (byte) k.reason);
            DIR.set(s, (byte) k.direction);
            ENDPOINT.set(s, (short) k.endpoint);
        }
        public MetricsKey read(MemorySegment s) {
            return new MetricsKey((byte) REASON.get(s) & 0xff, (byte) DIR.get(s) & 0xff, (short) ENDPOINT.get(s) & 0xffff);
        }
    };
}
