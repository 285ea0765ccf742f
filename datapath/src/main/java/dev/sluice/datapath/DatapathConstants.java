package dev.sluice.datapath;

import dev.sluice.bpf.Btf;
import dev.sluice.datapath.maps.CtEntry;
import dev.sluice.datapath.maps.CtKey;
import dev.sluice.datapath.maps.FlowEvent;
import dev.sluice.datapath.maps.IpcacheValue;
import dev.sluice.datapath.maps.LbConfig;
import dev.sluice.datapath.maps.LbService;
import dev.sluice.datapath.maps.NatEntry;
import dev.sluice.datapath.maps.NodeConfig;
import dev.sluice.ipcache.IpcacheModel;
import dev.sluice.policymap.PolicyMaps;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The Java side of the constants the data path defines as C enums (bpf/lib/*.h, kept in BTF by
 * bpf/lib/constants.h), checked against a compiled object: by the layout test, and by the agent
 * every time it loads the objects, so a stale build/bpf is refused with the difference named
 * instead of misreading maps and drop reasons.
 */
public final class DatapathConstants {
    private DatapathConstants() {}

    /**
     * Java's view of one C enum. {@code complete}: Java names every constant of the C enum (drop
     * reasons: a reason Java cannot name would reach users as a number).
     */
    record Mirror(String cEnum, Map<String, Integer> java, boolean complete) {}

    static List<Mirror> mirrors() {
        Map<String, Integer> reasons = new LinkedHashMap<>();
        for (DropReason r : DropReason.values())
            reasons.put(r == DropReason.FORWARDED || r == DropReason.AUDIT ? "REASON_" + r.name() : "DROP_" + r.name(), r.code);
        return List.of(
                new Mirror("sl_reason", reasons, true),
                new Mirror("sl_identity", Map.of("IDENTITY_HOST", IpcacheModel.HOST, "IDENTITY_WORLD", IpcacheModel.WORLD,
                        "IDENTITY_REMOTE_NODE", IpcacheModel.REMOTE_NODE), false),
                new Mirror("sl_direction", Map.of("METRIC_INGRESS", PolicyMaps.INGRESS, "METRIC_EGRESS", PolicyMaps.EGRESS), true),
                new Mirror("sl_event_type", Map.of("EVENT_DROP", FlowEvent.DROP, "EVENT_AUDIT", FlowEvent.AUDIT,
                        "EVENT_TRACE", FlowEvent.TRACE, "EVENT_TRANSLATED", FlowEvent.TRANSLATED), true),
                new Mirror("sl_obs_point", Map.of("OBS_UNKNOWN", FlowEvent.OBS_UNKNOWN, "OBS_TO_PROXY", FlowEvent.OBS_TO_PROXY, "OBS_TO_STACK", FlowEvent.OBS_TO_STACK,
                        "OBS_TO_OVERLAY", FlowEvent.OBS_TO_OVERLAY, "OBS_FROM_ENDPOINT", FlowEvent.OBS_FROM_ENDPOINT,
                        "OBS_FROM_OVERLAY", FlowEvent.OBS_FROM_OVERLAY, "OBS_FROM_NETWORK", FlowEvent.OBS_FROM_NETWORK,
                        "OBS_TO_NETWORK", FlowEvent.OBS_TO_NETWORK, "OBS_TO_ENDPOINT", FlowEvent.OBS_TO_ENDPOINT), true),
                new Mirror("sl_monitor_aggregation", Map.of("MONITOR_AGG_NONE", FlowEvent.AGG_NONE, "MONITOR_AGG_LOW", FlowEvent.AGG_LOW,
                        "MONITOR_AGG_MEDIUM", FlowEvent.AGG_MEDIUM, "MONITOR_AGG_MAXIMUM", FlowEvent.AGG_MAXIMUM), true),
                new Mirror("sl_flow_ct", Map.of("FLOW_CT_UNKNOWN", FlowEvent.CT_UNKNOWN, "FLOW_CT_NEW", FlowEvent.CT_NEW,
                        "FLOW_CT_ESTABLISHED", FlowEvent.CT_ESTABLISHED, "FLOW_CT_REPLY", FlowEvent.CT_REPLY,
                        "FLOW_CT_RELATED", FlowEvent.CT_RELATED), true),
                new Mirror("sl_policy_match", Map.of("POLICY_MATCH_NONE", FlowEvent.MATCH_NONE, "POLICY_MATCH_IDENTITY", FlowEvent.MATCH_IDENTITY,
                        "POLICY_MATCH_ANY", FlowEvent.MATCH_ANY, "POLICY_MATCH_CIDR", FlowEvent.MATCH_CIDR,
                        "POLICY_MATCH_HOST", FlowEvent.MATCH_HOST), true),
                new Mirror("sl_verdict", Map.of("POLICY_REDIRECT", PolicyMaps.REDIRECT, "POLICY_ALLOW", PolicyMaps.ALLOW,
                        "POLICY_DENY", PolicyMaps.DENY), false),
                new Mirror("sl_endpoint_flags", Map.of("EP_F_INGRESS_ENFORCED", PolicyMaps.F_INGRESS_ENFORCED,
                        "EP_F_EGRESS_ENFORCED", PolicyMaps.F_EGRESS_ENFORCED, "EP_F_AUDIT", PolicyMaps.F_AUDIT,
                        "EP_F_POLICY_PENDING", PolicyMaps.F_PENDING, "EP_F_POLICY_OVERFLOW", PolicyMaps.F_OVERFLOW), true),
                new Mirror("sl_ipcache_flags", Map.of("IPCACHE_F_LOCAL_NODE", IpcacheValue.LOCAL_NODE,
                        "IPCACHE_F_POD_CIDR", IpcacheValue.POD_CIDR), true),
                new Mirror("sl_ipcache_flags", Map.of("IPCACHE_F_LOCAL_NODE", IpcacheModel.FLAG_LOCAL_NODE,
                        "IPCACHE_F_POD_CIDR", IpcacheModel.FLAG_POD_CIDR), true),
                new Mirror("sl_config_flags", Map.of("CONFIG_F_TUNNEL", NodeConfig.TUNNEL, "CONFIG_MONITOR_SHIFT", NodeConfig.MONITOR_SHIFT,
                        "CONFIG_MONITOR_MASK", NodeConfig.MONITOR_MASK, "CONFIG_MONITOR_INTERVAL_SHIFT", NodeConfig.MONITOR_INTERVAL_SHIFT), true),
                new Mirror("sl_ct_dir", Map.of("CT_EGRESS", CtKey.EGRESS, "CT_INGRESS", CtKey.INGRESS, "CT_SERVICE", CtKey.SERVICE), true),
                new Mirror("sl_nat_dir", Map.of("NAT_OUT", CtKey.NAT_OUT, "NAT_IN", CtKey.NAT_IN), true),
                new Mirror("sl_ct_flags", Map.of("CT_F_SYN_ONLY", CtEntry.SYN_ONLY, "CT_F_REPLY_SEEN", CtEntry.REPLY_SEEN,
                        "CT_F_CLOSE_TX", CtEntry.CLOSE_TX, "CT_F_CLOSE_RX", CtEntry.CLOSE_RX, "CT_F_HAIRPIN", CtEntry.HAIRPIN,
                        "CT_F_NODEPORT", CtEntry.NODEPORT, "CT_F_DSR", CtEntry.DSR), true),
                new Mirror("sl_nat_flags", Map.of("NAT_F_CLOSING", NatEntry.CLOSING), true),
                new Mirror("sl_lb_flags", Map.of("LB_F_AFFINITY", LbService.AFFINITY, "LB_F_LOCAL", LbService.LOCAL,
                        "LB_F_PRESERVE_CLIENT", LbService.PRESERVE_CLIENT, "LB_F_EXTERNAL", LbService.EXTERNAL,
                        "LB_F_REJECT", LbService.REJECT, "LB_F_MAGLEV", LbService.MAGLEV), true),
                new Mirror("sl_lb_type", Map.of("LB_T_CLUSTER_IP", LbService.CLUSTER_IP, "LB_T_NODE_PORT", LbService.NODE_PORT,
                        "LB_T_EXTERNAL_IP", LbService.EXTERNAL_IP, "LB_T_LOAD_BALANCER", LbService.LOAD_BALANCER), true),
                new Mirror("sl_lb_config_flags", Map.of("LB_CFG_ENABLED", LbConfig.ENABLED, "LB_CFG_MASQUERADE", LbConfig.MASQUERADE,
                        "LB_CFG_STATELESS", LbConfig.STATELESS, "LB_CFG_DSR_TCP", LbConfig.DSR_TCP, "LB_CFG_DSR_UDP", LbConfig.DSR_UDP), true),
                new Mirror("sl_l2_outcome", l2Outcomes(), true),
                new Mirror("sl_l7", Map.of("L7_NONE", PolicyMaps.L7_NONE, "L7_HTTP", PolicyMaps.L7_HTTP, "L7_DNS", PolicyMaps.L7_DNS), true),
                new Mirror("sl_proxy_slot", Map.of("PROXY_SLOT_NONE", 0, "PROXY_SLOT_HTTP_INGRESS", ProxySteering.SLOT_HTTP_INGRESS,
                        "PROXY_SLOT_HTTP_EGRESS", ProxySteering.SLOT_HTTP_EGRESS, "PROXY_SLOT_DNS_UDP", ProxySteering.SLOT_DNS_UDP,
                        "PROXY_SLOT_DNS_TCP", ProxySteering.SLOT_DNS_TCP, "PROXY_SLOTS", ProxySteering.SLOTS,
                        "PROXY_ROUTE_TABLE", ProxySteering.ROUTE_TABLE), true),
                new Mirror("sl_mark", Map.of("MARK_PROXY_EGRESS", ProxySteering.MARK_PROXY_EGRESS, "MARK_PROXY_INGRESS", ProxySteering.MARK_PROXY_INGRESS,
                        "MARK_MAGIC_TO_PROXY", ProxySteering.MARK_TO_PROXY, "MARK_ID_MAGIC_MASK", ProxySteering.MARK_MAGIC_MASK,
                        "MARK_IDENTITY_MASK", ProxySteering.IDENTITY_MASK), false));
    }

    private static Map<String, Integer> l2Outcomes() {
        Map<String, Integer> m = new LinkedHashMap<>();
        var names = dev.sluice.datapath.maps.L2ResponderValue.OUTCOMES;
        for (int i = 0; i < names.size(); i++) m.put(names.get(i), i);
        m.put("L2_OUTCOME_MAX", names.size());
        return m;
    }

    /** Every difference between the object's enums and Java's constants; empty when they agree. */
    public static List<String> differences(Path object) {
        List<String> out = new ArrayList<>();
        List<Mirror> mirrors = mirrors();
        Map<String, Map<String, Integer>> enums = Btf.enums(object, mirrors.stream().map(Mirror::cEnum).distinct().toList());
        for (Mirror m : mirrors) {
            Map<String, Integer> c = enums.get(m.cEnum());
            if (c == null) {
                out.add("enum " + m.cEnum() + ": absent from the object's BTF (expected: bpf/lib/constants.h included by every entry file)");
                continue;
            }
            m.java().forEach((name, value) -> {
                Integer cv = c.get(name);
                if (cv == null) out.add(m.cEnum() + "." + name + ": in Java (" + value + "), absent in C");
                else if (!cv.equals(value)) out.add(m.cEnum() + "." + name + ": " + cv + " in C, " + value + " in Java");
            });
            if (m.complete())
                c.forEach((name, value) -> {
                    if (!m.java().containsKey(name)) out.add(m.cEnum() + "." + name + ": in C (" + value + "), unknown to Java");
                });
        }
        return out;
    }

    /** Refuses an object whose constants differ from Java's, naming every difference. */
    public static void check(Path object) {
        List<String> d = differences(object);
        if (!d.isEmpty())
            throw new IllegalStateException(object + ": constants differ from this agent's (" + String.join("; ", d)
                    + ") (expected: build/bpf from the same source as the agent; run 'make build')");
    }
}
