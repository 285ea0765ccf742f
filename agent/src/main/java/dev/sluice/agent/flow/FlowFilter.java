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
 * Which flows a reader wants, as {@code hubble observe} filters them: every criterion given must
 * match, and any one value of a criterion is enough. Criteria on {@link #either} side match the
 * source or the destination, those on {@link #from} the source, on {@link #to} the destination.
 * A pod is {@code namespace/name-prefix} or a name prefix in any namespace, as Hubble's
 * source_pod; addresses are exact or CIDRs; a label is a selector of comma-separated terms
 * ({@code app=web}, {@code app!=web}, {@code app}), each key with or without its source
 * ({@code k8s:app=web}); a service is {@code [namespace/]name}.
 */
public record FlowFilter(Side either, Side from, Side to, List<Flow.Verdict> verdicts, List<String> protocols,
                         List<Integer> ports, L7Filter l7) implements Predicate<Flow> {
    public static final FlowFilter ALL = new FlowFilter(Side.NONE, Side.NONE, Side.NONE, List.of(), List.of(), List.of(), L7Filter.NONE);
    /** L4 protocols, then Hubble's L7 ones (a flow whose L7 record is of that protocol). */
    static final List<String> PROTOCOLS = List.of("TCP", "UDP", "ICMP", "SCTP", "HTTP", "DNS", "KAFKA");

    /** What one side of a flow (or either) must be; an empty list asks nothing. */
    public record Side(List<String> pods, List<String> namespaces, List<Cidr> ips, List<List<LabelTerm>> labels,
                       List<Long> identities, List<String> services) {
        static final Side NONE = new Side(List.of(), List.of(), List.of(), List.of(), List.of(), List.of());

        public Side {
            pods = List.copyOf(pods);
            namespaces = List.copyOf(namespaces);
            ips = List.copyOf(ips);
            labels = List.copyOf(labels);
            identities = List.copyOf(identities);
            services = List.copyOf(services);
        }

        /** Reads the parameters named {@code prefix + "Pod"}, ... ({@code pod}, ... for either side). */
        static Side parse(JsonNode p, String prefix) {
            String pod = name(prefix, "pod"), ns = name(prefix, "namespace"), ip = name(prefix, "ip"), label = name(prefix, "label"),
                    identity = name(prefix, "identity"), service = name(prefix, "service");
            List<Cidr> ips = new ArrayList<>();
            for (String x : strings(p, ip)) ips.add(cidr(ip, x));
            List<String> namespaces = strings(p, ns);
            for (String n : namespaces)
                if (n.isEmpty() || n.contains("/")) throw new BadInputException(ns + ": \"" + n + "\" (expected: a namespace name)");
            List<List<LabelTerm>> labels = new ArrayList<>();
            for (String x : strings(p, label)) labels.add(LabelTerm.parse(label, x));
            List<Long> ids = new ArrayList<>();
            for (String x : strings(p, identity)) {
                if (!x.matches("\\d{1,10}") || Long.parseLong(x) > 0xffffffffL)
                    throw new BadInputException(identity + ": " + x + " (expected: a numeric identity)");
                ids.add(Long.parseLong(x));
            }
            List<String> services = strings(p, service);
            for (String x : services)
                if (x.isEmpty() || x.indexOf('/') != x.lastIndexOf('/') || x.startsWith("/") || x.endsWith("/"))
                    throw new BadInputException(service + ": \"" + x + "\" (expected: [namespace/]service-name)");
            return new Side(FlowFilter.pods(p, pod), namespaces, ips, labels, ids, services);
        }

        private static String name(String prefix, String what) {
            return prefix.isEmpty() ? what : prefix + Character.toUpperCase(what.charAt(0)) + what.substring(1);
        }

        boolean isEmpty() { return equals(NONE); }

        /** Does one end of a flow (its endpoint, address and service) meet every criterion? */
        boolean test(Flow.Endpoint e, String ip, Flow.Service service) {
            if (!pods.isEmpty() && pods.stream().noneMatch(p -> podMatches(p, e))) return false;
            if (!namespaces.isEmpty() && !namespaces.contains(e.namespace())) return false;
            if (!ips.isEmpty() && (ip == null || !Ip.isIpv4(ip) || ips.stream().noneMatch(c -> c.contains(Ip.parse(ip))))) return false;
            if (!labels.isEmpty() && labels.stream().noneMatch(sel -> sel.stream().allMatch(t -> t.test(e.labels())))) return false;
            if (!identities.isEmpty() && !identities.contains(e.identity())) return false;
            if (!services.isEmpty() && (service == null || services.stream().noneMatch(x -> serviceMatches(x, service)))) return false;
            return true;
        }
    }

    /** One term of a label selector: {@code key=value}, {@code key!=value} or {@code key} (present). */
    public record LabelTerm(String source, String key, String value, boolean negated) {
        static List<LabelTerm> parse(String field, String selector) {
            List<LabelTerm> out = new ArrayList<>();
            for (String t : selector.split(",", -1)) {
                t = t.strip();
                int ne = t.indexOf("!="), eq = t.indexOf('=');
                String k = ne >= 0 ? t.substring(0, ne) : eq >= 0 ? t.substring(0, eq) : t;
                String v = ne >= 0 ? t.substring(ne + 2) : eq >= 0 ? t.substring(eq + 1) : null;
                String src = "";
                int colon = k.indexOf(':');
                if (colon >= 0) {
                    src = k.substring(0, colon);
                    k = k.substring(colon + 1);
                }
                if (k.isEmpty() || (v != null && v.contains("=")))
                    throw new BadInputException(field + ": \"" + selector + "\" (expected: a label selector such as app=web,tier!=db or k8s:app)");
                out.add(new LabelTerm(src, k, v, ne >= 0));
            }
            return out;
        }

        /** Against a flow endpoint's labels ({@code source:key=value}). */
        boolean test(List<String> labels) {
            boolean found = false;
            for (String l : labels) {
                int colon = l.indexOf(':'), eq = l.indexOf('=', Math.max(colon, 0));
                String src = colon >= 0 && (eq < 0 || colon < eq) ? l.substring(0, colon) : "";
                String k = l.substring(src.isEmpty() ? 0 : colon + 1, eq < 0 ? l.length() : eq);
                String v = eq < 0 ? "" : l.substring(eq + 1);
                if (!k.equals(key) || (!source.isEmpty() && !source.equals(src))) continue;
                if (value == null || value.equals(v)) found = true;
            }
            return negated != found;
        }
    }

    public FlowFilter(Side either, Side from, Side to, List<Flow.Verdict> verdicts, List<String> protocols, List<Integer> ports) {
        this(either, from, to, verdicts, protocols, ports, L7Filter.NONE);
    }

    public FlowFilter {
        if (l7 == null) l7 = L7Filter.NONE;
        verdicts = List.copyOf(verdicts);
        protocols = List.copyOf(protocols);
        ports = List.copyOf(ports);
    }

    /**
     * From API parameters, each a string or a list of them: {@code pod, namespace, ip, label,
     * identity} (either side), the same with {@code from}/{@code to} before them ({@code fromPod,
     * toLabel, ...}), {@code fromService, toService}, {@code verdict, protocol, port}, and the
     * event type and L7 criteria of {@link L7Filter} ({@code type, httpStatus, httpMethod,
     * httpPath, httpUrl, httpHeader, dnsQuery}). A bad value is a {@link BadInputException} naming
     * the field and what was expected.
     */
    public static FlowFilter parse(JsonNode p) {
        List<Flow.Verdict> verdicts = new ArrayList<>();
        for (String s : strings(p, "verdict")) {
            String v = s.toUpperCase(Locale.ROOT);
            if (!List.of("FORWARDED", "DROPPED", "ERROR", "AUDIT", "TRANSLATED").contains(v))
                throw new BadInputException("verdict: " + s + " (expected one of: FORWARDED, DROPPED, ERROR, AUDIT, TRANSLATED)");
            verdicts.add(Flow.Verdict.valueOf(v));
        }
        List<String> protocols = new ArrayList<>();
        for (String s : strings(p, "protocol")) {
            String v = s.toUpperCase(Locale.ROOT);
            if (!PROTOCOLS.contains(v)) throw new BadInputException("protocol: " + s + " (expected one of: tcp, udp, icmp, sctp, http, dns, kafka)");
            protocols.add(v);
        }
        List<Integer> ports = new ArrayList<>();
        for (String s : strings(p, "port")) {
            if (!s.matches("\\d{1,5}") || Integer.parseInt(s) < 1 || Integer.parseInt(s) > 65535)
                throw new BadInputException("port: " + s + " (expected: 1-65535)");
            ports.add(Integer.parseInt(s));
        }
        if (!strings(p, "service").isEmpty())
            throw new BadInputException("service: " + strings(p, "service") + " (expected: fromService or toService)");
        return new FlowFilter(Side.parse(p, ""), Side.parse(p, "from"), Side.parse(p, "to"), verdicts, protocols, ports, L7Filter.parse(p));
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

    static List<String> strings(JsonNode p, String field) {
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
        if (!either.isEmpty() && !either.test(f.source(), f.ip().source(), f.sourceService())
                && !either.test(f.destination(), f.ip().destination(), f.destinationService())) return false;
        if (!from.test(f.source(), f.ip().source(), f.sourceService())) return false;
        if (!to.test(f.destination(), f.ip().destination(), f.destinationService())) return false;
        if (!verdicts.isEmpty() && !verdicts.contains(f.verdict())) return false;
        if (!protocols.isEmpty() && !protocolMatches(f)) return false;
        if (!ports.isEmpty() && !ports.contains(f.l4().sourcePort()) && !ports.contains(f.l4().destinationPort())) return false;
        return l7.test(f);
    }

    /** As Hubble: an L4 protocol matches the flow's Layer4 (an L7 flow's too), an L7 one its record. */
    private boolean protocolMatches(Flow f) {
        for (String p : protocols) {
            boolean match = switch (p) {
                case "HTTP" -> f.http() != null;
                case "DNS" -> f.dns() != null;
                case "KAFKA" -> false;
                default -> p.equals(f.l4().protocol());
            };
            if (match) return true;
        }
        return false;
    }

    static boolean serviceMatches(String filter, Flow.Service s) {
        int slash = filter.indexOf('/');
        return slash < 0 ? filter.equals(s.name()) : filter.substring(0, slash).equals(s.namespace()) && filter.substring(slash + 1).equals(s.name());
    }

    static boolean podMatches(String filter, Flow.Endpoint e) {
        if (e.podName().isEmpty()) return false;
        int slash = filter.indexOf('/');
        if (slash < 0) return e.podName().startsWith(filter);
        return filter.substring(0, slash).equals(e.namespace()) && e.podName().startsWith(filter.substring(slash + 1));
    }
}
