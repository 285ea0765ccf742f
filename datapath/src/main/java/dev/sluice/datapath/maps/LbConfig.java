package dev.sluice.datapath.maps;

import dev.sluice.bpf.Codec;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;

/**
 * The single value of sl_lb_config ({@code struct lb_config}).
 *
 * @param loopback   the service loopback address (host-order int): the source a pod sees when it reaches itself through a Service
 * @param maglevSize M, or 0 when the algorithm is random
 * @param flags      {@link #ENABLED} (kubeProxyReplacement), {@link #MASQUERADE}, {@link #STATELESS} (conntrack.enabled false)
 * @param snatMin    source NAT port range
 */
public record LbConfig(int loopback, int maglevSize, int flags, int snatMin, int snatMax) {
    public static final int ENABLED = 1, MASQUERADE = 2, STATELESS = 4;
    public static final MemoryLayout LAYOUT = MemoryLayout.structLayout(
            Layouts.BE32.withName("loopback"), Layouts.U32.withName("maglev_size"), Layouts.U32.withName("flags"),
            Layouts.U16.withName("snat_min"), Layouts.U16.withName("snat_max"));

    public static final Codec<LbConfig> CODEC = new Codec<>() {
        public MemoryLayout layout() { return LAYOUT; }
        public void write(MemorySegment s, LbConfig v) {
            s.set(Layouts.BE32, 0, v.loopback);
            s.set(Layouts.U32, 4, v.maglevSize);
            s.set(Layouts.U32, 8, v.flags);
            s.set(Layouts.U16, 12, (short) v.snatMin);
            s.set(Layouts.U16, 14, (short) v.snatMax);
        }
        public LbConfig read(MemorySegment s) {
            return new LbConfig(s.get(Layouts.BE32, 0), s.get(Layouts.U32, 4), s.get(Layouts.U32, 8), s.get(Layouts.U16, 12) & 0xffff,
                    s.get(Layouts.U16, 14) & 0xffff);
        }
    };
}
