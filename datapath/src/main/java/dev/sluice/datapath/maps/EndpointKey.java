package dev.sluice.datapath.maps;

import dev.sluice.bpf.Codec;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/** Key of sl_endpoints ({@code struct endpoint_key}): a local pod's IPv4 address (host-order int). */
public record EndpointKey(int ip4) {
    public static final MemoryLayout LAYOUT = MemoryLayout.structLayout(
            MemoryLayout.unionLayout(Layouts.BE32.withName("ip4"), Layouts.bytes(16, "ip6")), Layouts.U8.withName("family"), Layouts.bytes(3, "pad"));
    private static final VarHandle IP4 = Layouts.field(LAYOUT, "ip4"), FAMILY = Layouts.field(LAYOUT, "family");

    public static final Codec<EndpointKey> CODEC = new Codec<>() {
        public MemoryLayout layout() { return LAYOUT; }
        public void write(MemorySegment s, EndpointKey k) {
            IP4.set(s, k.ip4);
            FAMILY.set(s, (byte) Layouts.AF_INET4);
        }
        public EndpointKey read(MemorySegment s) { return new EndpointKey((int) IP4.get(s)); }
    };
}
