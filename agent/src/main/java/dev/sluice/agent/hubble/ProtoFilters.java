package dev.sluice.agent.hubble;

import dev.sluice.BadInputException;
import dev.sluice.agent.flow.Flow;
import dev.sluice.agent.flow.FlowFilter;
import dev.sluice.hubble.api.flow.DropReason;
import dev.sluice.hubble.api.flow.EventTypeFilter;
import dev.sluice.hubble.api.flow.TCPFlags;
import dev.sluice.hubble.api.flow.Verdict;
import dev.sluice.hubble.api.flow.Workload;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import tools.jackson.databind.json.JsonMapper;

/**
 * Hubble's {@code flow.FlowFilter} as a predicate on our flows, with Hubble's semantics: every field
 * set must match, any one value of a field is enough; a request's whitelist keeps flows any of its
 * filters match (all when empty), its blacklist removes those any of its filters match. Pods,
 * addresses, labels, Services, identities, verdicts, protocols (L4 and L7) and the L7 fields
 * ({@code http_*}, {@code dns_query}) go through {@link FlowFilter} (the agent socket's filter),
 * the rest is checked here. A bad value is a {@link BadInputException}
 * naming the proto field ({@code whitelist[0].source_ip}).
 */
public final class ProtoFilters {
    private ProtoFilters() {}

    private static final JsonMapper JSON = JsonMapper.builder().build();

    /** Fields of Hubble's filter Sluice has nothing to match against: DNS names of flows' ends (source_names) and trace contexts. */
    private static final List<String> UNSUPPORTED = List.of("source_fqdn", "destination_fqdn", "trace_id");
    /** Hubble's HTTP fields: with an event_type filter, it must take L7 flows (type 129), or they could never match. */
    private static final List<String> HTTP_FIELDS = List.of("http_status_code", "http_method", "http_path", "http_url", "http_header");

    /** The request's whitelist and blacklist as one predicate. */
    public static Predicate<Flow> of(List<dev.sluice.hubble.api.flow.FlowFilter> whitelist, List<dev.sluice.hubble.api.flow.FlowFilter> blacklist) {
        List<Predicate<Flow>> white = new ArrayList<>(), black = new ArrayList<>();
        for (int i = 0; i < whitelist.size(); i++) white.add(of("whitelist[" + i + "]", whitelist.get(i)));
        for (int i = 0; i < blacklist.size(); i++) black.add(of("blacklist[" + i + "]", blacklist.get(i)));
        return f -> (white.isEmpty() || white.stream().anyMatch(p -> p.test(f))) && black.stream().noneMatch(p -> p.test(f));
    }

    /** One filter; {@code path} names it in errors. */
    public static Predicate<Flow> of(String path, dev.sluice.hubble.api.flow.FlowFilter p) {
        for (var e : p.getAllFields().entrySet()) {
            String name = e.getKey().getName();
            if (UNSUPPORTED.contains(name))
                throw new BadInputException(path + "." + name + ": " + e.getValue() + " (expected: empty; Sluice's flows carry no DNS names of their ends or trace contexts)");
            if (HTTP_FIELDS.contains(name) && p.getEventTypeCount() > 0 && p.getEventTypeList().stream().noneMatch(t -> t.getType() == Flow.EVENT_L7))
                throw new BadInputException(path + "." + name + ": " + e.getValue() + " (expected with event_type: the L7 type 129 among them, as only L7 flows have HTTP)");
        }
        // our socket filter's parameters, each named back to its proto field for errors
        Map<String, Object> params = new LinkedHashMap<>();
        Map<String, String> names = new LinkedHashMap<>();
        put(params, names, "fromIp", "source_ip", p.getSourceIpList());
        put(params, names, "toIp", "destination_ip", p.getDestinationIpList());
        put(params, names, "fromPod", "source_pod", p.getSourcePodList());
        put(params, names, "toPod", "destination_pod", p.getDestinationPodList());
        put(params, names, "fromLabel", "source_label", p.getSourceLabelList());
        put(params, names, "toLabel", "destination_label", p.getDestinationLabelList());
        put(params, names, "fromService", "source_service", p.getSourceServiceList());
        put(params, names, "toService", "destination_service", p.getDestinationServiceList());
        put(params, names, "fromIdentity", "source_identity", p.getSourceIdentityList().stream().map(Integer::toUnsignedString).toList());
        put(params, names, "toIdentity", "destination_identity", p.getDestinationIdentityList().stream().map(Integer::toUnsignedString).toList());
        List<String> protocols = new ArrayList<>();
        for (String s : p.getProtocolList()) protocols.add(s.equalsIgnoreCase("icmpv4") ? "icmp" : s);
        put(params, names, "protocol", "protocol", protocols);
        put(params, names, "httpStatus", "http_status_code", p.getHttpStatusCodeList());
        put(params, names, "httpMethod", "http_method", p.getHttpMethodList());
        put(params, names, "httpPath", "http_path", p.getHttpPathList());
        put(params, names, "httpUrl", "http_url", p.getHttpUrlList());
        put(params, names, "dnsQuery", "dns_query", p.getDnsQueryList());
        FlowFilter base;
        try {
            base = FlowFilter.parse(JSON.valueToTree(params));
        } catch (BadInputException e) {
            String m = e.getMessage();
            for (var n : names.entrySet())
                if (m.startsWith(n.getKey() + ":")) throw new BadInputException(path + "." + n.getValue() + m.substring(n.getKey().length()));
            throw new BadInputException(path + "." + m);
        }
        List<Predicate<Flow>> more = new ArrayList<>();
        more.add(base);
        if (p.getHttpHeaderCount() > 0) {
            List<Flow.HttpHeader> want = new ArrayList<>();
            for (var h : p.getHttpHeaderList()) want.add(new Flow.HttpHeader(h.getKey(), h.getValue()));
            more.add(new dev.sluice.agent.flow.L7Filter(List.of(), List.of(), List.of(), List.of(), List.of(), List.of(), want, List.of()));
        }
        if (p.getVerdictCount() > 0) {
            List<String> vs = new ArrayList<>();
            for (Verdict v : p.getVerdictList()) {
                if (v == Verdict.UNRECOGNIZED) throw new BadInputException(path + ".verdict: " + p.getVerdictValueList() + " (expected: a flow.Verdict)");
                vs.add(v.name());
            }
            more.add(f -> vs.contains(f.verdict().name()));
        }
        if (p.getDropReasonDescCount() > 0) {
            List<String> rs = new ArrayList<>();
            for (DropReason r : p.getDropReasonDescList()) {
                if (r == DropReason.UNRECOGNIZED) throw new BadInputException(path + ".drop_reason_desc: " + p.getDropReasonDescValueList() + " (expected: a flow.DropReason)");
                rs.add(r.name());
            }
            more.add(f -> rs.contains(f.dropReasonDesc()));
        }
        if (p.getSourcePortCount() > 0) {
            List<Integer> ports = ports(path + ".source_port", p.getSourcePortList());
            more.add(f -> hasPorts(f) && ports.contains(f.l4().sourcePort()));
        }
        if (p.getDestinationPortCount() > 0) {
            List<Integer> ports = ports(path + ".destination_port", p.getDestinationPortList());
            more.add(f -> hasPorts(f) && ports.contains(f.l4().destinationPort()));
        }
        if (p.getTcpFlagsCount() > 0) {
            List<TCPFlags> want = p.getTcpFlagsList();
            more.add(f -> f.l4() instanceof Flow.Tcp t && want.stream().anyMatch(w -> flagsMatch(w, t.flags())));
        }
        if (p.getNodeNameCount() > 0) {
            List<Pattern> globs = new ArrayList<>();
            for (String s : p.getNodeNameList()) globs.add(nodeGlob(path + ".node_name", s));
            more.add(f -> globs.stream().anyMatch(g -> g.matcher(f.nodeName()).matches()));
        }
        if (p.getEventTypeCount() > 0) {
            List<EventTypeFilter> ets = p.getEventTypeList();
            more.add(f -> ets.stream().anyMatch(e -> e.getType() == f.eventType().type() && (!e.getMatchSubType() || e.getSubType() == f.eventType().subType())));
        }
        if (p.getTrafficDirectionCount() > 0) {
            List<String> ds = p.getTrafficDirectionList().stream().map(Enum::name).toList();
            more.add(f -> ds.contains(f.trafficDirection().name()));
        }
        if (p.getReplyCount() > 0) {
            List<Boolean> rs = p.getReplyList();
            more.add(f -> f.isReply() != null && rs.contains(f.isReply()));
        }
        if (p.getUuidCount() > 0) {
            List<String> us = p.getUuidList();
            more.add(f -> us.contains(f.uuid()));
        }
        if (p.getIpVersionCount() > 0) {
            List<String> vs = p.getIpVersionList().stream().map(Enum::name).toList();
            more.add(f -> vs.contains(f.ip().ipVersion()));
        }
        if (p.getSourceWorkloadCount() > 0) {
            List<Workload> ws = p.getSourceWorkloadList();
            more.add(f -> workloadMatches(ws, f.source()));
        }
        if (p.getDestinationWorkloadCount() > 0) {
            List<Workload> ws = p.getDestinationWorkloadList();
            more.add(f -> workloadMatches(ws, f.destination()));
        }
        return f -> {
            for (Predicate<Flow> x : more) if (!x.test(f)) return false;
            return true;
        };
    }

    private static void put(Map<String, Object> params, Map<String, String> names, String key, String field, List<String> values) {
        names.put(key, field);
        if (!values.isEmpty()) params.put(key, values);
    }

    private static boolean hasPorts(Flow f) { return f.l4() instanceof Flow.Tcp || f.l4() instanceof Flow.Udp || f.l4() instanceof Flow.Sctp; }

    private static List<Integer> ports(String field, List<String> values) {
        List<Integer> out = new ArrayList<>();
        for (String s : values) {
            if (!s.matches("\\d{1,5}") || Integer.parseInt(s) > 65535) throw new BadInputException(field + ": " + s + " (expected: a port, 0-65535)");
            out.add(Integer.parseInt(s));
        }
        return out;
    }

    /** Every flag the filter sets is set in the flow. */
    static boolean flagsMatch(TCPFlags want, Flow.TcpFlags got) {
        return (!want.getFIN() || got.FIN()) && (!want.getSYN() || got.SYN()) && (!want.getRST() || got.RST()) && (!want.getPSH() || got.PSH())
                && (!want.getACK() || got.ACK()) && (!want.getURG() || got.URG()) && (!want.getECE() || got.ECE()) && (!want.getCWR() || got.CWR())
                && !want.getNS();
    }

    /** {@code node*} or {@code cluster/node*}: {@code *} any run of characters; the cluster is Sluice's one, "default". */
    static Pattern nodeGlob(String field, String s) {
        String name = s;
        int slash = s.indexOf('/');
        if (slash >= 0) {
            String cluster = s.substring(0, slash);
            if (!Pattern.matches(globRegex(cluster), "default")) return Pattern.compile("(?!)");
            name = s.substring(slash + 1);
            if (name.isEmpty()) name = "*";
        }
        if (name.isEmpty() || !name.matches("[A-Za-z0-9.*_-]+"))
            throw new BadInputException(field + ": \"" + s + "\" (expected: a node name pattern such as node-1 or node-*)");
        return Pattern.compile(globRegex(name));
    }

    private static String globRegex(String glob) {
        StringBuilder sb = new StringBuilder();
        String[] parts = glob.split("\\*", -1);
        for (int i = 0; i < parts.length; i++) {
            if (i > 0) sb.append(".*");
            if (!parts[i].isEmpty()) sb.append(Pattern.quote(parts[i]));
        }
        return sb.toString();
    }

    private static boolean workloadMatches(List<Workload> ws, Flow.Endpoint e) {
        for (Workload w : ws)
            for (Flow.Workload x : e.workloads())
                if ((w.getName().isEmpty() || w.getName().equals(x.name())) && (w.getKind().isEmpty() || w.getKind().equalsIgnoreCase(x.kind())))
                    return true;
        return false;
    }
}
