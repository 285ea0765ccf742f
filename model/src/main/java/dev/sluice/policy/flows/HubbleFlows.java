package dev.sluice.policy.flows;

import dev.sluice.BadInputException;
import dev.sluice.net.Ip;
import dev.sluice.policy.Direction;
import java.io.BufferedReader;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Reads flows in Hubble's JSON, as {@code hubble observe -o json} and {@code sluice observe -o json}
 * print them: one {@code GetFlowsResponse} ({@code {"flow":{...},"node_name":...}}) or bare
 * {@code Flow} object a line; responses without a flow (node status, lost events) are passed over.
 * A line that is not such a flow is bad input naming the line and the field.
 *
 * <p>Which flows carry a policy verdict: forwarded, dropped by policy (Hubble's POLICY_DENIED,
 * POLICY_DENY; with Sluice's reason code: 140, 141, 144, 146, 152) and audited flows that were
 * checked against an endpoint's policy where they were seen: Sluice's flows say so
 * ({@code sluice.policy_match} set); other Hubble flows are taken as checked at their endpoint
 * (to-endpoint, from-endpoint, and drops). Translations, other drops and flows without a traffic
 * direction or without a pod on the checked side are kept but skipped, with the reason.
 */
public final class HubbleFlows {
    private HubbleFlows() {}

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final Set<Integer> POLICY_REASONS = Set.of(140, 141, 144, 146, 152);
    private static final Set<String> POLICY_REASON_NAMES = Set.of("POLICY_DENIED", "POLICY_DENY");
    /** Labels that describe the namespace or the source of an identity, not the pod. */
    private static final String NS_LABEL = "io.kubernetes.pod.namespace", NS_LABELS = "io.cilium.k8s.namespace.labels.";

    /** Every flow of a stream of JSON lines; {@code name} names it in errors ({@code name:line}). */
    public static List<RecordedFlow> read(String name, BufferedReader in) throws IOException {
        List<RecordedFlow> out = new ArrayList<>();
        String line;
        int n = 0;
        while ((line = in.readLine()) != null) {
            n++;
            if (line.isBlank()) continue;
            RecordedFlow f = parse(line, name + ":" + n);
            if (f != null) out.add(f);
        }
        return out;
    }

    /** One line; null when it is a response without a flow. */
    public static RecordedFlow parse(String line, String where) {
        JsonNode j;
        try {
            j = JSON.readTree(line);
        } catch (JacksonException e) {
            throw new BadInputException(where + ": not JSON (expected: one Hubble flow object a line, as hubble observe -o json prints them)");
        }
        return parse(j, where);
    }

    public static RecordedFlow parse(JsonNode j, String where) {
        if (j == null || !j.isObject()) throw new BadInputException(where + ": " + (j == null ? "empty" : j.getNodeType().name().toLowerCase()) + " (expected: a Hubble flow object)");
        JsonNode f = j.has("flow") ? j.get("flow") : j;
        if (!j.has("flow") && (j.has("node_status") || j.has("lost_events") || j.has("status") || j.has("heartbeat"))) return null;
        if (!f.isObject()) throw new BadInputException(where + ": flow: " + f + " (expected: an object)");
        String verdict = text(f, "verdict", where, "FORWARDED, DROPPED, AUDIT, TRANSLATED, ...");
        if (!verdict.matches("[A-Z_]+")) throw bad(where, "verdict", verdict, "one of FORWARDED, DROPPED, AUDIT, TRANSLATED, ...");
        JsonNode ip = f.path("IP");
        if (!ip.isObject()) throw bad(where, "IP", ip.isMissingNode() ? "missing" : ip.toString(), "an object with source and destination addresses");
        String src = address(ip, "source", where), dst = address(ip, "destination", where);
        int proto = 0, sport = 0, dport = 0;
        JsonNode l4 = f.path("l4");
        if (!l4.isMissingNode() && !l4.isObject()) throw bad(where, "l4", l4.toString(), "an object such as {\"TCP\":{...}}");
        for (var e : l4.properties()) {
            proto = switch (e.getKey()) {
                case "TCP" -> 6;
                case "UDP" -> 17;
                case "SCTP" -> 132;
                case "ICMPv4" -> 1;
                default -> throw bad(where, "l4." + e.getKey(), "unknown", "TCP, UDP, SCTP or ICMPv4");
            };
            if (proto != 1) {
                sport = port(e.getValue(), "l4." + e.getKey() + ".source_port", where);
                dport = port(e.getValue(), "l4." + e.getKey() + ".destination_port", where);
            }
        }
        RecordedFlow.Peer s = peer(f.path("source"), src, "source", where), d = peer(f.path("destination"), dst, "destination", where);
        String td = f.path("traffic_direction").asString("");
        Direction dir = switch (td) {
            case "INGRESS" -> Direction.INGRESS;
            case "EGRESS" -> Direction.EGRESS;
            case "", "TRAFFIC_DIRECTION_UNKNOWN" -> null;
            default -> throw bad(where, "traffic_direction", td, "INGRESS, EGRESS or TRAFFIC_DIRECTION_UNKNOWN");
        };
        JsonNode extra = f.path("sluice");
        boolean reply = f.path("is_reply").asBoolean(false) || extra.path("ct_state").asString("").equals("reply");
        String reason = f.path("drop_reason_desc").asString("");
        String skip = skip(f, extra, verdict, reason, dir, proto, reply ? d : s, reply ? s : d);
        String node = f.path("node_name").asString(j.path("node_name").asString(""));
        return new RecordedFlow(where, f.path("time").asString(j.path("time").asString("")), node, s, d, proto, sport, dport, dir, reply,
                verdict, reason, skip);
    }

    private static String skip(JsonNode f, JsonNode extra, String verdict, String reason, Direction dir, int proto,
                               RecordedFlow.Peer opener, RecordedFlow.Peer responder) {
        switch (verdict) {
            case "FORWARDED", "AUDIT" -> {}
            case "DROPPED" -> {
                boolean policy = extra.has("reason_code") ? POLICY_REASONS.contains(extra.path("reason_code").asInt()) : POLICY_REASON_NAMES.contains(reason);
                if (!policy) return "dropped, not by policy (" + (reason.isEmpty() ? "no reason" : reason) + ")";
            }
            default -> { return verdict.toLowerCase() + ": no policy verdict"; }
        }
        if (extra.isObject()) {
            if (extra.path("policy_match").asString("").isEmpty()) return "no policy check where it was seen";
        } else if (verdict.equals("FORWARDED")) {
            String point = f.path("trace_observation_point").asString("");
            if (!point.equals("TO_ENDPOINT") && !point.equals("FROM_ENDPOINT")) return "no policy check where it was seen";
        }
        if (dir == null) return "no traffic direction";
        if (proto == 0) return "no L4 protocol";
        RecordedFlow.Peer local = dir == Direction.INGRESS ? responder : opener;
        if (!local.isPod()) return "the checked endpoint is not a pod";
        return "";
    }

    private static RecordedFlow.Peer peer(JsonNode e, String ip, String field, String where) {
        if (!e.isMissingNode() && !e.isObject()) throw bad(where, field, e.toString(), "an endpoint object");
        String ns = e.path("namespace").asString(""), pod = e.path("pod_name").asString("");
        if (pod.isEmpty() != ns.isEmpty()) throw bad(where, field + (pod.isEmpty() ? ".pod_name" : ".namespace"), "missing", "pod_name and namespace together");
        Map<String, String> labels = new TreeMap<>(), nsLabels = new TreeMap<>();
        List<String> reserved = new ArrayList<>();
        JsonNode ls = e.path("labels");
        if (!ls.isMissingNode() && !ls.isArray()) throw bad(where, field + ".labels", ls.toString(), "a list of source:key=value strings");
        for (JsonNode l : ls) {
            String s = l.asString("");
            int colon = s.indexOf(':'), eq = s.indexOf('=');
            String source = colon < 0 || (eq >= 0 && eq < colon) ? "k8s" : s.substring(0, colon);
            String kv = colon < 0 || (eq >= 0 && eq < colon) ? s : s.substring(colon + 1);
            if (source.equals("reserved")) {
                reserved.add(kv.endsWith("=") ? kv.substring(0, kv.length() - 1) : kv);
                continue;
            }
            if (!source.equals("k8s")) continue;
            int x = kv.indexOf('=');
            String k = x < 0 ? kv : kv.substring(0, x), v = x < 0 ? "" : kv.substring(x + 1);
            if (k.isEmpty()) throw bad(where, field + ".labels", s, "source:key=value");
            if (k.equals(NS_LABEL)) continue;
            if (k.startsWith(NS_LABELS)) nsLabels.put(k.substring(NS_LABELS.length()), v);
            else labels.put(k, v);
        }
        long identity = e.path("identity").asLong(0);
        String workload = "";
        if (!pod.isEmpty()) {
            JsonNode w = e.path("workloads");
            workload = w.isArray() && !w.isEmpty() && !w.get(0).path("name").asString("").isEmpty() ? w.get(0).path("name").asString() : Workloads.of(pod, labels);
        }
        return new RecordedFlow.Peer(ip, identity, ns, pod, labels, nsLabels, reserved, workload);
    }

    private static String address(JsonNode ip, String field, String where) {
        String s = ip.path(field).asString("");
        if (!Ip.isIpv4(s)) throw bad(where, "IP." + field, s.isEmpty() ? "missing" : s, "an IPv4 address");
        return s;
    }

    private static int port(JsonNode l4, String field, String where) {
        String last = field.substring(field.lastIndexOf('.') + 1);
        JsonNode p = l4.path(last);
        if (p.isMissingNode()) return 0;
        if (!p.isIntegralNumber() || p.asLong() < 0 || p.asLong() > 65535) throw bad(where, field, p.toString(), "0-65535");
        return p.asInt();
    }

    private static String text(JsonNode f, String field, String where, String expected) {
        JsonNode v = f.path(field);
        if (!v.isString() || v.asString().isEmpty()) throw bad(where, field, v.isMissingNode() ? "missing" : v.toString(), expected);
        return v.asString();
    }

    private static BadInputException bad(String where, String field, String value, String expected) {
        return new BadInputException(where + ": " + field + ": " + value + " (expected: " + expected + ")");
    }

    /** Pods of the flows with the latest labels and address each had (flows in their order). */
    static Map<String, RecordedFlow.Peer> pods(List<RecordedFlow> flows) {
        Map<String, RecordedFlow.Peer> out = new HashMap<>();
        for (RecordedFlow f : flows) for (RecordedFlow.Peer p : List.of(f.source(), f.destination())) if (p.isPod()) out.put(p.key(), p);
        return out;
    }
}
