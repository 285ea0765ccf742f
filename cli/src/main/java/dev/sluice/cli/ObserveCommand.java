package dev.sluice.cli;

import dev.sluice.BadInputException;
import dev.sluice.agent.api.AgentClient;
import dev.sluice.agent.flow.FlowJson;
import dev.sluice.agent.hubble.ProtoFlows;
import dev.sluice.hubble.api.relay.NodeState;
import java.io.PrintStream;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import tools.jackson.databind.JsonNode;

/**
 * {@code sluice observe}: flows from the agents' flow rings, filtered and printed as
 * {@code hubble observe} does (compact lines, or Hubble's JSON). Drops name the policies that
 * denied them, or that isolate the endpoint under default deny.
 */
@Command(name = "observe", description = "Observe flows (forwarded, dropped, audit, translated, and the L7 proxies' HTTP and DNS records) with their endpoints and policies, as hubble observe.")
public final class ObserveCommand implements Callable<Integer> {
    @Mixin AgentOptions agents;
    @Option(names = "--pod", description = "Flows from or to this pod: [namespace/]name-prefix (repeatable).")
    List<String> pods = new ArrayList<>();
    @Option(names = {"-n", "--namespace"}, description = "Flows from or to this namespace; with --pod, the pod's namespace (repeatable).")
    List<String> namespaces = new ArrayList<>();
    @Option(names = "--from-pod", description = "Flows from this pod: [namespace/]name-prefix (repeatable).")
    List<String> fromPods = new ArrayList<>();
    @Option(names = "--to-pod", description = "Flows to this pod: [namespace/]name-prefix (repeatable).")
    List<String> toPods = new ArrayList<>();
    @Option(names = "--from-ip", description = "Flows from this address or CIDR (repeatable).")
    List<String> fromIps = new ArrayList<>();
    @Option(names = "--to-ip", description = "Flows to this address or CIDR (repeatable).")
    List<String> toIps = new ArrayList<>();
    @Option(names = "--ip", description = "Flows from or to this address or CIDR (repeatable).")
    List<String> ips = new ArrayList<>();
    @Option(names = {"-l", "--label"}, description = "Flows from or to an endpoint with these labels: a selector such as app=web,tier!=db or k8s:app (repeatable).")
    List<String> labels = new ArrayList<>();
    @Option(names = "--from-label", description = "Flows from an endpoint with these labels (repeatable).")
    List<String> fromLabels = new ArrayList<>();
    @Option(names = "--to-label", description = "Flows to an endpoint with these labels (repeatable).")
    List<String> toLabels = new ArrayList<>();
    @Option(names = "--from-namespace", description = "Flows from this namespace (repeatable).")
    List<String> fromNamespaces = new ArrayList<>();
    @Option(names = "--to-namespace", description = "Flows to this namespace (repeatable).")
    List<String> toNamespaces = new ArrayList<>();
    @Option(names = "--identity", description = "Flows from or to this numeric identity (repeatable).")
    List<String> identities = new ArrayList<>();
    @Option(names = "--from-identity", description = "Flows from this numeric identity (repeatable).")
    List<String> fromIdentities = new ArrayList<>();
    @Option(names = "--to-identity", description = "Flows to this numeric identity (repeatable).")
    List<String> toIdentities = new ArrayList<>();
    @Option(names = "--from-service", description = "Flows from this Service: [namespace/]name (repeatable).")
    List<String> fromServices = new ArrayList<>();
    @Option(names = "--to-service", description = "Flows to this Service (translated flows name it): [namespace/]name (repeatable).")
    List<String> toServices = new ArrayList<>();
    @Option(names = "--verdict", description = "FORWARDED, DROPPED, ERROR, AUDIT or TRANSLATED (repeatable).")
    List<String> verdicts = new ArrayList<>();
    @Option(names = "--protocol", description = "tcp, udp, icmp, sctp, or http, dns (L7 flows) (repeatable).")
    List<String> protocols = new ArrayList<>();
    @Option(names = {"-t", "--type"}, description = "Event type: drop, trace, policy-verdict or l7 (the proxies' HTTP and DNS flows) (repeatable).")
    List<String> types = new ArrayList<>();
    @Option(names = "--http-status", description = "L7 responses with this status (404) or status prefix (4+, 40+) (repeatable).")
    List<String> httpStatus = new ArrayList<>();
    @Option(names = "--http-method", description = "L7 flows of this HTTP method (repeatable).")
    List<String> httpMethods = new ArrayList<>();
    @Option(names = "--http-path", description = "L7 flows whose URL's path has a match of this regular expression (repeatable).")
    List<String> httpPaths = new ArrayList<>();
    @Option(names = "--http-url", description = "L7 flows whose URL has a match of this regular expression (repeatable).")
    List<String> httpUrls = new ArrayList<>();
    @Option(names = "--http-header", description = "L7 flows with this header: key:value (repeatable).")
    List<String> httpHeaders = new ArrayList<>();
    @Option(names = "--dns-query", description = "DNS flows whose name has a match of this regular expression (repeatable).")
    List<String> dnsQueries = new ArrayList<>();
    @Option(names = "--port", description = "Flows from or to this port (repeatable).")
    List<String> ports = new ArrayList<>();
    @Option(names = "--last", description = "The last N flows of each node (default: 20, or none with --follow).")
    Integer last;
    @Option(names = "--since", description = "Only flows since this time: RFC 3339, or 30s, 5m, 1h back.")
    String since;
    @Option(names = {"-f", "--follow"}, description = "Keep printing new flows.")
    boolean follow;
    @Option(names = {"-o", "--output"}, defaultValue = "compact", description = "compact (one line a flow), table (without --follow) or json (Hubble's, one object per line)")
    String output;
    @Option(names = "--server", description = "Ask a Hubble Observer over gRPC instead of the agents' sockets: an agent's or the relay's, unix:///path or HOST:PORT.")
    String server;
    @Option(names = "--print-policy-names", description = "Also name the allowing policies of forwarded flows (drops always name theirs).")
    boolean policyNames;

    @Override public Integer call() throws InterruptedException {
        String fmt = Output.format(output, "compact", "table", "json");
        if (fmt.equals("table") && follow) throw new BadInputException("--output: table (expected with --follow: compact or json)");
        if (last != null && last < 0) throw new BadInputException("--last: " + last + " (expected: 0 or more)");
        Map<String, Object> params = params();
        // bad filters are bad input here, before any agent is asked
        dev.sluice.agent.flow.FlowFilter.parse(Output.JSON.valueToTree(params));
        if (since != null) dev.sluice.agent.flow.FlowFilter.since(since);
        if (server != null) return viaServer(fmt, params);
        List<AgentSockets.Target> targets = agents.targets();
        if (!follow) {
            // every node's last flows, merged in time order
            List<JsonNode> all = new ArrayList<>();
            List<String> notes = new ArrayList<>();
            for (var t : targets) {
                AgentClient.stream(t.socket(), "flows", params, line -> {
                    if (line.has("status")) {
                        note(t.node(), line.path("status"), notes);
                        return false;
                    }
                    all.add(line);
                    return true;
                });
            }
            all.sort(Comparator.comparing(l -> Instant.parse(l.path("time").asString())));
            int n = last == null ? 20 : last;
            List<JsonNode> shown = n == 0 || all.size() <= n ? all : all.subList(all.size() - n, all.size());
            if (fmt.equals("table")) table(System.out, shown);
            else for (JsonNode l : shown) print(System.out, fmt, l);
            notes.forEach(System.err::println);
            return 0;
        }
        Object lock = new Object();
        List<Thread> threads = new ArrayList<>();
        for (var t : targets) {
            threads.add(Thread.ofPlatform().daemon().start(() -> AgentClient.stream(t.socket(), "flows", params, line -> {
                if (line.has("heartbeat")) return true;
                if (line.has("status")) return false;
                synchronized (lock) {
                    print(System.out, fmt, line);
                    System.out.flush();
                }
                return true;
            })));
        }
        for (Thread th : threads) th.join();
        return 0;
    }

    /** The same question of a Hubble Observer (an agent's or the relay's) through gRPC; the same output. */
    int viaServer(String fmt, Map<String, Object> params) {
        List<JsonNode> all = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        HubbleFlowStream.getFlows(server, params, r -> {
            if (r.hasLostEvents())
                notes.add("sluice: node " + r.getNodeName() + ": " + r.getLostEvents().getNumEventsLost() + " flows lost (" + r.getLostEvents().getSource() + ")");
            else if (r.hasNodeStatus() && r.getNodeStatus().getStateChange() != NodeState.NODE_CONNECTED)
                notes.add("sluice: " + r.getNodeStatus().getStateChange() + " " + r.getNodeStatus().getNodeNamesList()
                        + (r.getNodeStatus().getMessage().isEmpty() ? "" : ": " + r.getNodeStatus().getMessage()));
            if (!r.hasFlow()) {
                if (follow) {
                    notes.forEach(System.err::println);
                    notes.clear();
                }
                return;
            }
            JsonNode line = Output.JSON.valueToTree(FlowJson.response(ProtoFlows.fromProto(r.getFlow())));
            if (follow) {
                print(System.out, fmt, line);
                System.out.flush();
            } else {
                all.add(line);
            }
        });
        if (fmt.equals("table")) table(System.out, all);
        else for (JsonNode l : all) print(System.out, fmt, l);
        notes.forEach(System.err::println);
        return 0;
    }

    Map<String, Object> params() {
        Map<String, Object> p = new LinkedHashMap<>();
        List<String> podFilter = new ArrayList<>();
        for (String pod : pods) {
            if (pod.contains("/") || namespaces.isEmpty()) podFilter.add(pod);
            else for (String ns : namespaces) podFilter.add(ns + "/" + pod);
        }
        if (!podFilter.isEmpty()) p.put("pod", podFilter);
        else if (!namespaces.isEmpty()) p.put("namespace", namespaces);
        if (!fromPods.isEmpty()) p.put("fromPod", fromPods);
        if (!toPods.isEmpty()) p.put("toPod", toPods);
        if (!fromIps.isEmpty()) p.put("fromIp", fromIps);
        if (!toIps.isEmpty()) p.put("toIp", toIps);
        if (!ips.isEmpty()) p.put("ip", ips);
        if (!labels.isEmpty()) p.put("label", labels);
        if (!fromLabels.isEmpty()) p.put("fromLabel", fromLabels);
        if (!toLabels.isEmpty()) p.put("toLabel", toLabels);
        if (!fromNamespaces.isEmpty()) p.put("fromNamespace", fromNamespaces);
        if (!toNamespaces.isEmpty()) p.put("toNamespace", toNamespaces);
        if (!identities.isEmpty()) p.put("identity", identities);
        if (!fromIdentities.isEmpty()) p.put("fromIdentity", fromIdentities);
        if (!toIdentities.isEmpty()) p.put("toIdentity", toIdentities);
        if (!fromServices.isEmpty()) p.put("fromService", fromServices);
        if (!toServices.isEmpty()) p.put("toService", toServices);
        if (!verdicts.isEmpty()) p.put("verdict", verdicts);
        if (!protocols.isEmpty()) p.put("protocol", protocols);
        if (!ports.isEmpty()) p.put("port", ports);
        if (!types.isEmpty()) p.put("type", types);
        if (!httpStatus.isEmpty()) p.put("httpStatus", httpStatus);
        if (!httpMethods.isEmpty()) p.put("httpMethod", httpMethods);
        if (!httpPaths.isEmpty()) p.put("httpPath", httpPaths);
        if (!httpUrls.isEmpty()) p.put("httpUrl", httpUrls);
        if (!httpHeaders.isEmpty()) p.put("httpHeader", httpHeaders);
        if (!dnsQueries.isEmpty()) p.put("dnsQuery", dnsQueries);
        if (since != null) p.put("since", since);
        p.put("follow", follow);
        p.put("number", last != null ? last : follow ? 0 : 20);
        return p;
    }

    static void note(String node, JsonNode status, List<String> out) {
        long lost = status.path("lostEvents").asLong(0), over = status.path("overwritten").asLong(0);
        if (lost > 0) out.add("sluice: node " + node + ": " + lost + " data path events lost (the event ring buffer was full)");
        if (over > 0) out.add("sluice: node " + node + ": " + over + " older flows overwritten (ring capacity " + status.path("capacity").asInt() + ")");
    }

    /** As {@code hubble observe -o table}: a header, then a row a flow. */
    void table(PrintStream out, List<JsonNode> lines) {
        List<List<String>> rows = new ArrayList<>();
        rows.add(Output.row("TIMESTAMP", "NODE", "SOURCE", "DESTINATION", "TYPE", "VERDICT", "SUMMARY"));
        for (JsonNode line : lines) {
            JsonNode f = line.path("flow");
            rows.add(Output.row(TIME.format(Instant.parse(f.path("time").asString())), f.path("node_name").asString(),
                    source(f), destination(f), type(f), f.path("verdict").asString(), printable(f.path("Summary").asString("")) + policies(f, policyNames)));
        }
        Output.table(out, rows);
    }

    void print(PrintStream out, String fmt, JsonNode line) {
        out.println(fmt.equals("json") ? line.toString() : compact(line.path("flow"), policyNames));
    }

    static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("MMM d HH:mm:ss.SSS", Locale.ENGLISH).withZone(ZoneOffset.UTC);

    /**
     * One line, as {@code hubble observe} prints it:
     * {@code Dec 2 16:00:00.000 [node1]: x/a:40000 (ID:300) -> y/b:80 (ID:301) to-endpoint FORWARDED (TCP Flags: SYN)};
     * drops with their reason and the policies that denied them. An L7 flow's type is its record's
     * ({@code http-request}, {@code dns-response}) and, as Hubble, a response is printed from the
     * client's side: {@code client <- server}. What a pod chose (a URL, a DNS name) is printed with
     * its control characters escaped, so that it cannot rewrite the reader's terminal.
     */
    static String compact(JsonNode f, boolean allPolicies) {
        var sb = new StringBuilder();
        sb.append(TIME.format(Instant.parse(f.path("time").asString()))).append(" [").append(f.path("node_name").asString()).append("]: ");
        if (f.has("l7") && f.path("is_reply").asBoolean(false)) sb.append(destination(f)).append(" <- ").append(source(f));
        else sb.append(source(f)).append(" -> ").append(destination(f));
        JsonNode svc = f.path("destination_service");
        if (!svc.isMissingNode()) {
            String frontend = f.path("sluice").path("frontend").asString("");
            sb.append(" (service ").append(svc.path("namespace").asString()).append('/').append(svc.path("name").asString())
                    .append(frontend.isEmpty() ? "" : " " + frontend).append(')');
        }
        String type = type(f);
        if (!type.isEmpty()) sb.append(' ').append(type);
        sb.append(' ').append(f.path("verdict").asString());
        String summary = f.path("Summary").asString("");
        if (!summary.isEmpty()) sb.append(" (").append(printable(summary)).append(')');
        return sb.append(policies(f, allPolicies)).toString();
    }

    /** {@code s} with control characters (and DEL, and C1 controls) as {@code \xNN}. */
    static String printable(String s) {
        StringBuilder sb = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean control = c < 0x20 || c >= 0x7f && c <= 0x9f;
            if (control && sb == null) sb = new StringBuilder(s.length() + 8).append(s, 0, i);
            if (sb != null) {
                if (control) sb.append(String.format("\\x%02x", (int) c));
                else sb.append(c);
            }
        }
        return sb == null ? s : sb.toString();
    }

    /** What a flow's TYPE is: an L7 record's kind ({@code http-request}), a drop's reason, else where it was seen ({@code to-endpoint}). */
    static String type(JsonNode f) {
        JsonNode l7 = f.path("l7");
        if (!l7.isMissingNode()) {
            String kind = l7.has("http") ? "http" : l7.has("dns") ? "dns" : "l7";
            return kind + "-" + l7.path("type").asString("unknown_l7_type").toLowerCase(Locale.ROOT);
        }
        return f.path("verdict").asString().equals("DROPPED") ? f.path("drop_reason_desc").asString()
                : f.path("trace_observation_point").asString("").toLowerCase(Locale.ROOT).replace('_', '-');
    }

    static String source(JsonNode f) { return end(f, "source"); }

    static String destination(JsonNode f) { return end(f, "destination"); }

    private static String end(JsonNode f, String side) {
        JsonNode l4 = f.path("l4");
        JsonNode ports = l4.path(l4.propertyNames().stream().findFirst().orElse(""));
        return endpoint(f.path("IP").path(side).asString(), ports.path(side + "_port").asInt(0), f.path(side));
    }

    /** "; ingress denied by ..." and so on: a refused flow's policies always, the allowing ones when asked. */
    static String policies(JsonNode f, boolean allPolicies) {
        String verdict = f.path("verdict").asString();
        boolean refused = verdict.equals("DROPPED") || verdict.equals("AUDIT");
        var sb = new StringBuilder();
        policies(sb, "ingress denied by", f.path("ingress_denied_by"), refused || allPolicies);
        policies(sb, "egress denied by", f.path("egress_denied_by"), refused || allPolicies);
        policies(sb, "ingress allowed by", f.path("ingress_allowed_by"), allPolicies);
        policies(sb, "egress allowed by", f.path("egress_allowed_by"), allPolicies);
        return sb.toString();
    }

    private static void policies(StringBuilder sb, String what, JsonNode list, boolean show) {
        if (!show || !list.isArray() || list.isEmpty()) return;
        List<String> names = new ArrayList<>();
        for (JsonNode p : list) {
            String ns = p.path("namespace").asString("");
            names.add(p.path("kind").asString() + " " + (ns.isEmpty() ? "" : ns + "/") + p.path("name").asString());
        }
        sb.append("; ").append(what).append(' ').append(String.join(", ", names));
    }

    static String endpoint(String ip, int port, JsonNode e) {
        String ns = e.path("namespace").asString(""), pod = e.path("pod_name").asString("");
        String where = (pod.isEmpty() ? ip : ns + "/" + pod) + (port == 0 ? "" : ":" + port);
        long id = e.path("identity").asLong(0);
        if (pod.isEmpty()) {
            for (JsonNode l : e.path("labels")) {
                String s = l.asString();
                if (s.startsWith("reserved:")) return where + " (" + s.substring("reserved:".length()) + ")";
            }
        }
        return where + (id == 0 ? "" : " (ID:" + id + ")");
    }
}
