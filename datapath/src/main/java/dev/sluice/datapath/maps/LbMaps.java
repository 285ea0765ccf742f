package dev.sluice.datapath.maps;

import dev.sluice.bpf.BpfMap;
import dev.sluice.bpf.TypedMap;
import java.util.function.Function;

/** Typed access to the service, conntrack and NAT maps of a loaded data path (names as in bpf/lib). */
public record LbMaps(Function<String, BpfMap> maps) {
    public static final String SERVICES = "sl_lb4_services", BACKENDS = "sl_lb4_backends", SLOTS = "sl_lb4_slots",
            REVERSE_NAT = "sl_lb4_reverse_nat", AFFINITY = "sl_lb4_affinity", MAGLEV = "sl_lb4_maglev", CONFIG = "sl_lb_config",
            CT_TCP = "sl_ct_tcp", CT_ANY = "sl_ct_any", CT_FILL = "sl_ct_fill", CT_LIMITS = "sl_ct_limits", SNAT = "sl_snat";

    public TypedMap<LbServiceKey, LbService> services() { return maps.apply(SERVICES).typed(LbServiceKey.CODEC, LbService.CODEC); }
    public TypedMap<Integer, LbBackend> backends() { return maps.apply(BACKENDS).typed(LbBackend.ID, LbBackend.CODEC); }
    public TypedMap<LbSlotKey, Integer> slots() { return maps.apply(SLOTS).typed(LbSlotKey.CODEC, LbBackend.ID); }
    public TypedMap<Integer, LbReverseNat> reverseNat() { return maps.apply(REVERSE_NAT).typed(LbBackend.ID, LbReverseNat.CODEC); }
    public TypedMap<LbAffinityKey, LbAffinityValue> affinity() { return maps.apply(AFFINITY).typed(LbAffinityKey.CODEC, LbAffinityValue.CODEC); }
    /** Outer Maglev map: frontend id -> inner array map (values written as fds, read back as map ids). */
    public BpfMap maglev() { return maps.apply(MAGLEV); }
    public TypedMap<Integer, LbConfig> config() { return maps.apply(CONFIG).typed(NodeConfig.KEY, LbConfig.CODEC); }
    public TypedMap<CtKey, CtEntry> ctTcp() { return maps.apply(CT_TCP).typed(CtKey.CODEC, CtEntry.CODEC); }
    public TypedMap<CtKey, CtEntry> ctAny() { return maps.apply(CT_ANY).typed(CtKey.CODEC, CtEntry.CODEC); }
    public TypedMap<Integer, Long> ctFill() { return maps.apply(CT_FILL).typed(NodeConfig.KEY, CtLimits.FILL); }
    public TypedMap<Integer, CtLimits> ctLimits() { return maps.apply(CT_LIMITS).typed(NodeConfig.KEY, CtLimits.CODEC); }
    public TypedMap<CtKey, NatEntry> snat() { return maps.apply(SNAT).typed(CtKey.CODEC, NatEntry.CODEC); }
}
