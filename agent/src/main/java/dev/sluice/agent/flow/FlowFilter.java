package dev.sluice.agent.flow;

import dev.sluice.BadInputException;
import dev.sluice.net.Cidr;
import dev.sluice.net.Ip;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Predicate;
import tools.jackson.databind.JsonNode;

/**
 * Which flows a reader wants, as {@code hubble observe} filters them: every kind given must match,
 * any one value of a kind is enough. {@code pods} and {@code namespaces} match either side;
 * a pod is {@code namespace/name-prefix} or a name prefix in any namespace, as Hubble's
 * source_pod. Addresses are exact or CIDRs.
 */
public record FlowFilter(List<String> pods, List<String> namespaces, List<String> fromPods, List<String> toPods,
                         List<Cidr> fromIps, List<Cidr> toIps, List<Flow.Verdict> verdicts, List<String> protocols,
                         List<Integer> ports) implements Predicate<Flow> {
    public static final FlowFilter ALL = new FlowFilter(List.of(), List.of(), List.of(), List.of(), List.of(), List.of(), List.of(),
            List.of(), List.of());
    static final List<String> PROTOCOLS = List.of("TCP", "UDP", "ICMP", "SCTP");

    public FlowFilter {
        pods = List.copyOf(pods);
        namespaces = List.copyOf(namespaces);
        fromPods = List.copyOf(fromPods);
        toPods = List.copyOf(toPods);
        fromIps = List.copyOf(fromIps);
        toIps = List.copyOf(toIps);
        verdicts = List.copyOf(verdicts);
        protocols = List.copyOf(protocols);
        ports = List.copyOf(ports);
    }

    /**
     * From API parameters ({@code pod, namespace, fromPod, toPod, fromIp, toIp, verdict, protocol,
     * port}: each a string or a list of them); a bad value is a {@link BadInputException} naming the
     * field and what was expected.
     */
    public static FlowFilter parse(JsonNode p) {
        List<Cidr> fromIps = new ArrayList<>(), toIps = new ArrayList<>();
        for (String s : strings(p, "fromIp")) fromIps.add(cidr("fromIp", s));
        for (String s : strings(p, "toIp")) toIps.add(cidr("toIp", s));
        List<Flow.Verdict> verdicts = new ArrayList<>();
        for (String s : strings(p, "verdict")) {
            String v = s.toUpperCase(Locale.ROOT);
            if (!List.of("FORWARDED", "DROPPED", "AUDIT", "TRANSLATED").contains(v))
                throw new BadInputException("verdict: " + s + " (expected one of: FORWARDED, DROPPED, AUDIT, TRANSLATED)");
            verdicts.add(Flow.Verdict.valueOf(v));
        }
        List<String> protocols = new ArrayList<>();
        for (String s : strings(p, "protocol")) {
            String v = s.toUpperCase(Locale.ROOT);
            if (!PROTOCOLS.contains(v)) throw new BadInputException("protocol: " + s + " (expected one of: tcp, udp, icmp, sctp)");
            protocols.add(v);
        }
        List<Integer> ports = new ArrayList<>();
        for (String s : strings(p, "port")) {
            if (!s.matches("\\d{1,5}") || Integer.parseInt(s) < 1 || Integer.parseInt(s) > 65535)
                throw new BadInputException("port: " + s + " (expected: 1-65535)");
            ports.add(Integer.parseInt(s));
        }
        List<String> pods = pods(p, "pod"), fromPods = pods(p, "fromPod"), toPods = pods(p, "toPod");
        List<String> namespaces = strings(p, "namespace");
        for (String n : namespaces)
            if (n.isEmpty() || n.contains("/")) throw new BadInputException("namespace: \"" + n + "\" (expected: a namespace name)");
        return new FlowFilter(pods, namespaces, fromPods, toPods, fromIps, toIps, verdicts, protocols, ports);
    }

    /** {@code since}: an RFC 3339 time, or a duration back from now ({@code 30s}, {@code 5m}, {@code 1h}). */
    public static java.time.Instant since(String s) {
        var m = java.util.regex.Pattern.compile("(\\d{1,9})([smh])").matcher(s);
        if (m.matches()) {
            long n = Long.parseLong(m.group(1));
            return java.time.Instant.now().minusSeconds(switch (m.group(2)) { case "s" -> n; case "m" -> n * 60; default -> n * 3600; });
        }
        try {
            return java.time.Instant.parse(s);
        } catch (java.time.format.DateTimeParseException e) {
            throw new BadInputException("since: " + s + " (expected: an RFC 3339 time such as 2026-01-02T15:04:05Z, or 30s, 5m, 1h)");
        }
    }

    private static List<String> pods(JsonNode p, String field) {
        List<String> out = strings(p, field);
        for (String s : out)
            if (s.isEmpty() || s.indexOf('/') != s.lastIndexOf('/') || s.startsWith("/"))
                throw new BadInputException(field + ": \"" + s + "\" (expected: [namespace/]pod-name-prefix)");
        return out;
    }

    private static Cidr cidr(String field, String s) {
        try {
            return s.contains("/") ? Cidr.parse(s) : new Cidr(Ip.parse(s), 32);
        } catch (IllegalArgumentException e) {
            throw new BadInputException(field + ": " + s + " (expected: an IPv4 address or CIDR)");
        }
    }

    private static List<String> strings(JsonNode p, String field) {
        JsonNode n = p.path(field);
        if (n.isMissingNode() || n.isNull()) return List.of();
        List<String> out = new ArrayList<>();
        if (n.isArray()) {
            for (JsonNode x : n) {
                if (!x.isString() && !x.isNumber()) throw new BadInputException(field + ": " + x + " (expected: a string or a list of strings)");
                out.add(x.asString());
            }
        } else if (n.isString() || n.isNumber()) {
            out.add(n.asString());
        } else {
            throw new BadInputException(field + ": " + n + " (expected: a string or a list of strings)");
        }
        return out;
    }

    @Override public boolean test(Flow f) {
        if (!pods.isEmpty() && pods.stream().noneMatch(p -> podMatches(p, f.source()) || podMatches(p, f.destination()))) return false;
        if (!namespaces.isEmpty() && namespaces.stream().noneMatch(n -> n.equals(f.source().namespace()) || n.equals(f.destination().namespace())))
            return false;
        if (!fromPods.isEmpty() && fromPods.stream().noneMatch(p -> podMatches(p, f.source()))) return false;
        if (!toPods.isEmpty() && toPods.stream().noneMatch(p -> podMatches(p, f.destination()))) return false;
        if (!fromIps.isEmpty() && fromIps.stream().noneMatch(c -> c.contains(Ip.parse(f.ip().source())))) return false;
        if (!toIps.isEmpty() && toIps.stream().noneMatch(c -> c.contains(Ip.parse(f.ip().destination())))) return false;
        if (!verdicts.isEmpty() && !verdicts.contains(f.verdict())) return false;
        if (!protocols.isEmpty() && !protocols.contains(f.l4().protocol())) return false;
        if (!ports.isEmpty() && !ports.contains(f.l4().sourcePort()) && !ports.contains(f.l4().destinationPort())) return false;
        return true;
    }

    static boolean podMatches(String filter, Flow.Endpoint e) {
        if (e.podName().isEmpty()) return false;
        int slash = filter.indexOf('/');
        if (slash < 0) return e.podName().startsWith(filter);
        return filter.substring(0, slash).equals(e.namespace()) && e.podName().startsWith(filter.substring(slash + 1));
    }
}
