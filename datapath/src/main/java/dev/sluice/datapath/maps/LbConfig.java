package dev.sluice.datapath.maps;

import dev.sluice.bpf.Codec;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/**
 * The single value of sl_lb_config ({@code struct lb_config}).
 *
 * @param loopback   the service loopback address (host-order int): the source a pod sees when it reaches itself through a Service
 * @param maglevSize M, or 0 when the algorithm is random
 * @param flags      {@link #ENABLED} (kubeProxyReplacement), {@link #MASQUERADE}, {@link #STATELESS} (conntrack.enabled false),
 *                   {@link #DSR_TCP} / {@link #DSR_UDP} (loadBalancer.mode dsr: both; hybrid: TCP)
 * @param snatMin    source NAT port range
 */
public record LbConfig(int loopback, int maglevSize, int flags, int snatMin, int snatMax) {
    public static final int ENABLED = 1, MASQUERADE = 2, STATELESS = 4, DSR_TCP = 8, DSR_UDP = 16;
    public static final MemoryLayout LAYOUT = MemoryLayout.structLayout(
            Layouts.BE32.withName("loopback"), Layouts.U32.withName("maglev_size"), Layouts.U32.withName("flags"),
            Layouts.U16.withName("snat_min"), Layouts.U16.withName("snat_max"));
    private static final VarHandle LOOPBACK = Layouts.field(LAYOUT, "loopback"), MAGLEV_SIZE = Layouts.field(LAYOUT, "maglev_size"),
            FLAGS = Layouts.field(LAYOUT, "flags"), SNAT_MIN = Layouts.field(LAYOUT, "snat_min"), SNAT_MAX = Layouts.field(LAYOUT, "snat_max");

    public static final Codec<LbConfig> CODEC = new Codec<>() {
        public MemoryLayout layout() { return LAYOUT; }
        public void write(MemorySegment s, LbConfig v) {
            LOOPBACK.set(s, v.loopback);
            MAGLEV_SIZE.set(s, v.maglevSize);
            FLAGS.set(s, v.flags);
            SNAT_MIN.set(s, (short) v.snatMin);
            SNAT_MAX.set(s, (short) v.snatMax);
        }
        public LbConfig read(MemorySegment s) {
            return new LbConfig((int) LOOPBACK.get(s), (int) MAGLEV_SIZE.get(s), (int) FLAGS.get(s), (short) SNAT_MIN.get(s) & 0xffff,
                    (short) SNAT_MAX.get(s) & 0xffff);
        }
    };
}
