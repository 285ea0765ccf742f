package dev.sluice.agent.flow;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A {@link Flow} as Hubble prints it ({@code hubble observe -o json}): the GetFlowsResponse
 * {@code {"flow":{...},"node_name":...,"time":...}} with the proto's own field names
 * ({@code IP}, {@code l4.TCP.source_port}, {@code source.pod_name}, {@code Type},
 * {@code drop_reason_desc}, {@code ingress_denied_by}...) and, as protojson does, without fields
 * at their default value. Sluice's own facts are under {@code flow.sluice}.
 */
public final class FlowJson {
    private FlowJson() {}

    public static Map<String, Object> response(Flow f) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("flow", flow(f));
        m.put("node_name", f.nodeName());
        m.put("time", f.time().toString());
        return m;
    }

    public static Map<String, Object> flow(Flow f) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("time", f.time().toString());
        put(m, "uuid", f.uuid());
        m.put("verdict", f.verdict().name());
        if (f.dropReason() != 0) m.put("drop_reason", f.dropReason());
        Map<String, Object> ip = new LinkedHashMap<>();
        ip.put("source", f.ip().source());
        ip.put("destination", f.ip().destination());
        ip.put("ipVersion", f.ip().ipVersion());
        m.put("IP", ip);
        m.put("l4", l4(f.l4()));
        m.put("source", endpoint(f.source()));
        m.put("destination", endpoint(f.destination()));
        m.put("Type", f.l7() == null ? "L3_L4" : "L7");
        put(m, "node_name", f.nodeName());
        if (f.l7() != null) m.put("l7", l7(f.l7()));
        if (f.isReply() != null) m.put("is_reply", f.isReply());
        Map<String, Object> et = new LinkedHashMap<>();
        et.put("type", f.eventType().type());
        if (f.eventType().subType() != 0) et.put("sub_type", f.eventType().subType());
        m.put("event_type", et);
        if (f.sourceService() != null) m.put("source_service", service(f.sourceService()));
        if (f.destinationService() != null) m.put("destination_service", service(f.destinationService()));
        if (f.trafficDirection() != Flow.TrafficDirection.TRAFFIC_DIRECTION_UNKNOWN) m.put("traffic_direction", f.trafficDirection().name());
        if (!f.traceObservationPoint().equals("UNKNOWN_POINT")) m.put("trace_observation_point", f.traceObservationPoint());
        put(m, "drop_reason_desc", f.dropReasonDesc());
        policies(m, "ingress_allowed_by", f.ingressAllowedBy());
        policies(m, "egress_allowed_by", f.egressAllowedBy());
        policies(m, "ingress_denied_by", f.ingressDeniedBy());
        policies(m, "egress_denied_by", f.egressDeniedBy());
        put(m, "Summary", f.summary());
        Map<String, Object> x = new LinkedHashMap<>();
        Flow.Extra e = f.extra();
        x.put("reason_code", e.reasonCode());
        put(x, "reason", e.reason());
        put(x, "ct_state", e.ctState());
        put(x, "policy_match", e.policyMatch());
        put(x, "endpoint", e.endpoint());
        if (e.ifindex() != 0) x.put("ifindex", e.ifindex());
        x.put("length", e.length());
        put(x, "frontend", e.frontend());
        m.put("sluice", x);
        return m;
    }

    static Map<String, Object> l4(Flow.L4 l4) {
        Map<String, Object> p = new LinkedHashMap<>();
        String name = switch (l4) {
            case Flow.Tcp t -> "TCP";
            case Flow.Udp u -> "UDP";
            case Flow.Sctp s -> "SCTP";
            case Flow.Icmpv4 i -> "ICMPv4";
            case Flow.Other o -> null;
        };
        if (name == null) return Map.of();
        if (l4 instanceof Flow.Icmpv4 i) {
            // as Hubble's JSON: zero values left out (an echo reply is {})
            if (i.type() > 0) p.put("type", i.type());
            if (i.code() > 0) p.put("code", i.code());
            return Map.of(name, p);
        }
        if (l4.sourcePort() != 0) p.put("source_port", l4.sourcePort());
        if (l4.destinationPort() != 0) p.put("destination_port", l4.destinationPort());
        if (l4 instanceof Flow.Tcp t) {
            Map<String, Object> fl = new LinkedHashMap<>();
            Flow.TcpFlags x = t.flags();
            if (x.FIN()) fl.put("FIN", true);
            if (x.SYN()) fl.put("SYN", true);
            if (x.RST()) fl.put("RST", true);
            if (x.PSH()) fl.put("PSH", true);
            if (x.ACK()) fl.put("ACK", true);
            if (x.URG()) fl.put("URG", true);
            if (x.ECE()) fl.put("ECE", true);
            if (x.CWR()) fl.put("CWR", true);
            if (!fl.isEmpty()) p.put("flags", fl);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put(name, p);
        return out;
    }

    /**
     * Hubble's {@code l7} object as protojson writes it: {@code latency_ns} a string (a uint64),
     * zero values and empty lists left out.
     */
    static Map<String, Object> l7(Flow.Layer7 l7) {
        Map<String, Object> m = new LinkedHashMap<>();
        if (l7.type() != Flow.L7Type.UNKNOWN_L7_TYPE) m.put("type", l7.type().name());
        if (l7.latencyNs() != 0) m.put("latency_ns", Long.toUnsignedString(l7.latencyNs()));
        switch (l7.record()) {
            case Flow.Http h -> {
                Map<String, Object> x = new LinkedHashMap<>();
                if (h.code() != 0) x.put("code", h.code());
                put(x, "method", h.method());
                put(x, "url", h.url());
                put(x, "protocol", h.protocol());
                if (!h.headers().isEmpty()) {
                    List<Map<String, Object>> hs = new ArrayList<>();
                    for (Flow.HttpHeader hh : h.headers()) {
                        Map<String, Object> kv = new LinkedHashMap<>();
                        put(kv, "key", hh.key());
                        put(kv, "value", hh.value());
                        hs.add(kv);
                    }
                    x.put("headers", hs);
                }
                m.put("http", x);
            }
            case Flow.Dns d -> {
                Map<String, Object> x = new LinkedHashMap<>();
                put(x, "query", d.query());
                if (!d.ips().isEmpty()) x.put("ips", d.ips());
                if (d.ttl() != 0) x.put("ttl", Integer.toUnsignedLong(d.ttl()));
                if (!d.cnames().isEmpty()) x.put("cnames", d.cnames());
                put(x, "observation_source", d.observationSource());
                if (d.rcode() != 0) x.put("rcode", d.rcode());
                if (!d.qtypes().isEmpty()) x.put("qtypes", d.qtypes());
                if (!d.rrtypes().isEmpty()) x.put("rrtypes", d.rrtypes());
                m.put("dns", x);
            }
            case null -> { }
        }
        return m;
    }

    static Map<String, Object> endpoint(Flow.Endpoint e) {
        Map<String, Object> m = new LinkedHashMap<>();
        if (e.id() != 0) m.put("ID", e.id());
        if (e.identity() != 0) m.put("identity", e.identity());
        put(m, "namespace", e.namespace());
        if (!e.labels().isEmpty()) m.put("labels", e.labels());
        put(m, "pod_name", e.podName());
        if (!e.workloads().isEmpty()) {
            List<Map<String, Object>> ws = new ArrayList<>();
            for (Flow.Workload w : e.workloads()) {
                Map<String, Object> x = new LinkedHashMap<>();
                x.put("name", w.name());
                x.put("kind", w.kind());
                ws.add(x);
            }
            m.put("workloads", ws);
        }
        return m;
    }

    static Map<String, Object> service(Flow.Service s) {
        Map<String, Object> m = new LinkedHashMap<>();
        put(m, "name", s.name());
        put(m, "namespace", s.namespace());
        return m;
    }

    private static void policies(Map<String, Object> m, String field, List<PolicyRef> refs) {
        if (refs.isEmpty()) return;
        List<Map<String, Object>> out = new ArrayList<>();
        for (PolicyRef r : refs) {
            Map<String, Object> p = new LinkedHashMap<>();
            p.put("name", r.name());
            put(p, "namespace", r.namespace());
            p.put("kind", r.kind());
            out.add(p);
        }
        m.put(field, out);
    }

    private static void put(Map<String, Object> m, String k, String v) {
        if (v != null && !v.isEmpty()) m.put(k, v);
    }
}
