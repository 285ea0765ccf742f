package dev.sluice.datapath.maps;

import dev.sluice.bpf.Codec;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;

/** Key of sl_endpoints ({@code struct endpoint_key}): a local pod's IPv4 address (host-order int). */
public record EndpointKey(int ip4) {
    public static final MemoryLayout LAYOUT = MemoryLayout.structLayout(
            MemoryLayout.unionLayout(Layouts.BE32.withName("ip4"), Layouts.bytes(16, "ip6")), Layouts.U8.withName("family"), Layouts.bytes(3, "pad"));

    public static final Codec<EndpointKey> CODEC = new Codec<>() {
        public MemoryLayout layout() { return LAYOUT; }
        public void write(MemorySegment s, EndpointKey k) {
            s.set(Layouts.BE32, 0, k.ip4);
            s.set(Layouts.U8, 16, (byte) Layouts.AF_INET4);
        }
        public EndpointKey read(MemorySegment s) { return new EndpointKey(s.get(Layouts.BE32, 0)); }
    };
}
