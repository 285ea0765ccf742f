package dev.sluice.policy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The policy of one endpoint as the data path loads it: per direction whether enforcement (default
 * deny) is on, whether audit mode is on, and the map entries. Endpoints selected by the same rules
 * (with the same named ports) share one instance.
 *
 * <p>Lookup semantics the data path implements, see {@link #decide}: among all entries matching
 * the direction, peer (identity, or address for CIDR entries), protocol and port, a DENY wins; then
 * any REDIRECT (to the proxy its entries name, with the union of their L7 rules: an L7 rule on a
 * port is not bypassed by a wider L4 allow of the same peer); then any ALLOW. An ALLOW with exactly
 * the protocol and ports of a matching REDIRECT entry wildcards L7 (the proxy allows every request
 * or name), as Cilium does. With no match, the packet is dropped if enforcement is on for the
 * direction, else allowed.
 *
 * <p>No packet can match REDIRECT entries of two proxies (HTTP and DNS rules for the same peer and
 * port): the constructor adds a DENY entry over every such overlap (fail closed, origins of both
 * sides, so trace names them), and {@link #decide} denies one it would still meet.
 *
 * @param ingressPolicies the policies that select this endpoint for ingress (names, sorted)
 */
public record PolicyState(boolean ingressEnforced, boolean egressEnforced, boolean audit,
                          Map<PolicyKey, PolicyValue> entries, List<String> ingressPolicies, List<String> egressPolicies) {
    public PolicyState {
        entries = java.util.Collections.unmodifiableMap(withoutL7Conflicts(entries));
        ingressPolicies = List.copyOf(ingressPolicies);
        egressPolicies = List.copyOf(egressPolicies);
    }

    public boolean enforced(Direction d) { return d == Direction.INGRESS ? ingressEnforced : egressEnforced; }

    public List<String> policies(Direction d) { return d == Direction.INGRESS ? ingressPolicies : egressPolicies; }

    /** An L7 question for {@link #decide}: an HTTP request or a DNS query. */
    public sealed interface L7Request permits HttpRequest, DnsQuery {}

    /** An HTTP request for L7 evaluation; null fields match only rules that leave them open. */
    public record HttpRequest(String method, String path, String host, Map<String, String> headers) implements L7Request {}

    /** A DNS query for the DNS proxy's question: may this endpoint ask this server for {@code name}. */
    public record DnsQuery(String name) implements L7Request {}

    /**
     * The verdict for one packet.
     *
     * @param allowed  whether the packet passes (audit mode lets denied packets pass)
     * @param verdict  ALLOW, DENY or REDIRECT (allowed at L4, the proxy {@code l7} applies its rules)
     * @param audited  true when the verdict was DENY but audit mode let it pass
     * @param reason   plain words
     * @param matched  the rules (origins) whose entries decided it
     * @param l7       the proxy of a REDIRECT (or of the L7 rules that decided an L7 request), else NONE
     * @param http     the HTTP rules of the matching redirect entries (l7 HTTP)
     * @param dns      the DNS rules of the matching redirect entries (l7 DNS)
     */
    public record Decision(boolean allowed, Verdict verdict, boolean enforced, boolean audited, String reason,
                           List<String> matched, L7Kind l7, List<HttpRule> http, List<DnsRule> dns) {}

    /**
     * Decides a packet in direction {@code d} with the peer's identity and IPv4 address (null when
     * unknown), IP protocol number and destination port; {@code request} is optional: without it a
     * redirect answers REDIRECT (allowed at L4); with it, the proxy's answer (an HTTP request to the
     * HTTP proxy, a DNS query to the DNS proxy; a request of the other kind is denied, as the proxy
     * would not understand it).
     */
    public Decision decide(Direction d, int peerIdentity, Integer peerIp, int proto, int port, L7Request request) {
        Set<String> deny = new TreeSet<>(), allow = new TreeSet<>(), redirect = new TreeSet<>();
        Set<HttpRule> rules = new TreeSet<>();
        Set<DnsRule> dnsRules = new TreeSet<>();
        Set<L7Kind> kinds = java.util.EnumSet.noneOf(L7Kind.class);
        Set<String> allowL4 = new java.util.HashSet<>(), redirectL4 = new java.util.HashSet<>();
        for (var e : entries.entrySet()) {
            PolicyKey k = e.getKey();
            if (k.direction() != d || !k.matchesL4(proto, port) || !k.matchesPeer(peerIdentity, peerIp)) continue;
            PolicyValue v = e.getValue();
            switch (v.verdict()) {
                case DENY -> deny.addAll(v.origins());
                case ALLOW -> {
                    allow.addAll(v.origins());
                    allowL4.add(k.protocol() + "/" + k.ports());
                }
                case REDIRECT -> {
                    redirect.addAll(v.origins());
                    rules.addAll(v.http());
                    dnsRules.addAll(v.dns());
                    kinds.add(v.l7());
                    redirectL4.add(k.protocol() + "/" + k.ports());
                }
            }
        }
        boolean enforced = enforced(d);
        if (!deny.isEmpty()) return denied("denied by " + String.join(", ", deny), enforced, new ArrayList<>(deny));
        if (redirect.isEmpty() && !allow.isEmpty()) return new Decision(true, Verdict.ALLOW, enforced, false, "allowed by " + String.join(", ", allow), new ArrayList<>(allow), L7Kind.NONE, List.of(), List.of());
        if (!redirect.isEmpty()) {
            if (kinds.size() > 1) // the constructor's DENY entries make this unreachable; fail closed all the same
                return denied("HTTP and DNS rules on the same port of " + String.join(", ", redirect) + " (fail closed)", enforced, new ArrayList<>(redirect));
            L7Kind kind = kinds.iterator().next();
            if (redirectL4.stream().anyMatch(allowL4::contains)) {
                if (kind == L7Kind.HTTP) rules.add(HttpRule.ANY); else dnsRules.add(DnsRule.ANY);
                redirect.addAll(allow);
            }
            List<HttpRule> list = kind == L7Kind.HTTP ? new ArrayList<>(rules) : List.of();
            List<DnsRule> dnsList = kind == L7Kind.DNS ? new ArrayList<>(dnsRules) : List.of();
            String by = String.join(", ", redirect);
            if (request == null)
                return new Decision(true, Verdict.REDIRECT, enforced, false, "allowed at L4 and redirected to the " + (kind == L7Kind.DNS ? "DNS" : "L7") + " proxy by " + by, new ArrayList<>(redirect), kind, list, dnsList);
            switch (request) {
                case HttpRequest http when kind == L7Kind.HTTP -> {
                    for (HttpRule r : list)
                        if (r.matches(http.method(), http.path(), http.host(), http.headers() == null ? Map.of() : http.headers()))
                            return new Decision(true, Verdict.ALLOW, enforced, false, "HTTP request allowed by " + r + " of " + by, new ArrayList<>(redirect), kind, list, dnsList);
                    return l7Denied("HTTP request matches none of the L7 rules of " + by + " (proxy answers 403)", enforced, new ArrayList<>(redirect), kind, list, dnsList);
                }
                case DnsQuery q when kind == L7Kind.DNS -> {
                    for (DnsRule r : dnsList)
                        if (r.matches(q.name()))
                            return new Decision(true, Verdict.ALLOW, enforced, false, "DNS query for " + q.name() + " allowed by " + r + " of " + by, new ArrayList<>(redirect), kind, list, dnsList);
                    return l7Denied("DNS query for " + q.name() + " matches none of the DNS rules of " + by + " (proxy answers REFUSED)", enforced, new ArrayList<>(redirect), kind, list, dnsList);
                }
                default -> {
                    return l7Denied((request instanceof DnsQuery ? "a DNS query" : "an HTTP request") + " to the " + (kind == L7Kind.DNS ? "DNS" : "HTTP")
                            + " proxy of " + by + " (the proxy does not understand it)", enforced, new ArrayList<>(redirect), kind, list, dnsList);
                }
            }
        }
        if (!enforced) return new Decision(true, Verdict.ALLOW, false, false, "no policy enforces " + d.word() + " on this endpoint", List.of(), L7Kind.NONE, List.of(), List.of());
        return denied("default deny: no rule of " + String.join(", ", policies(d)) + " allows it", true, List.of());
    }

    /** The DNS proxy's question: may this endpoint ask the server (identity, address, protocol, port) for {@code name}. */
    public Decision decideDns(int serverIdentity, Integer serverIp, int proto, int port, String name) {
        return decide(Direction.EGRESS, serverIdentity, serverIp, proto, port, new DnsQuery(name));
    }

    private Decision denied(String reason, boolean enforced, List<String> matched) {
        return l7Denied(reason, enforced, matched, L7Kind.NONE, List.of(), List.of());
    }

    private Decision l7Denied(String reason, boolean enforced, List<String> matched, L7Kind l7, List<HttpRule> http, List<DnsRule> dns) {
        if (audit) return new Decision(true, Verdict.DENY, enforced, true, reason + " (audit mode: allowed)", matched, l7, http, dns);
        return new Decision(false, Verdict.DENY, enforced, false, reason, matched, l7, http, dns);
    }

    /**
     * The entries plus a DENY over every overlap of an HTTP redirect with a DNS redirect (same
     * direction, overlapping protocol and ports, peers that may be the same): there no proxy can be
     * chosen, so the overlap fails closed. The DENY is keyed by the narrower peer (an identity over
     * "any", an identity over a CIDR, the inner of two nested CIDRs), so it may deny more than the
     * exact overlap, never less. Entries without both kinds come back unchanged.
     */
    static Map<PolicyKey, PolicyValue> withoutL7Conflicts(Map<PolicyKey, PolicyValue> entries) {
        List<Map.Entry<PolicyKey, PolicyValue>> httpE = new ArrayList<>(), dnsE = new ArrayList<>();
        for (var e : entries.entrySet()) {
            if (e.getValue().l7() == L7Kind.HTTP) httpE.add(e);
            else if (e.getValue().l7() == L7Kind.DNS) dnsE.add(e);
        }
        if (httpE.isEmpty() || dnsE.isEmpty()) return entries;
        Map<PolicyKey, PolicyValue> out = new java.util.HashMap<>(entries);
        for (var h : httpE) for (var n : dnsE) {
            PolicyKey a = h.getKey(), b = n.getKey();
            if (a.direction() != b.direction()) continue;
            PolicyKey k = overlap(a, b);
            if (k == null) continue;
            Set<String> origins = new TreeSet<>(h.getValue().origins());
            origins.addAll(n.getValue().origins());
            PolicyValue old = out.get(k);
            if (old != null && old.verdict() == Verdict.DENY) origins.addAll(old.origins());
            out.put(k, new PolicyValue(Verdict.DENY, List.of(), List.copyOf(origins)));
        }
        return out;
    }

    /** The key of a DENY covering every packet both keys match, or null when none can. */
    private static PolicyKey overlap(PolicyKey a, PolicyKey b) {
        if (a.protocol() != 0 && b.protocol() != 0 && a.protocol() != b.protocol()) return null;
        int proto = a.protocol() != 0 ? a.protocol() : b.protocol();
        PortRange ports;
        if (a.protocol() == 0 || a.ports().isAny()) ports = b.protocol() == 0 ? PortRange.ANY : b.ports();
        else if (b.protocol() == 0 || b.ports().isAny()) ports = a.ports();
        else {
            int lo = Math.max(a.ports().start(), b.ports().start()), hi = Math.min(a.ports().end(), b.ports().end());
            if (lo > hi) return null;
            ports = new PortRange(lo, hi);
        }
        if (proto == 0) ports = PortRange.ANY;
        PolicyKey peer;
        if (!a.isCidr() && !b.isCidr()) {
            if (a.identity() != 0 && b.identity() != 0 && a.identity() != b.identity()) return null;
            peer = a.identity() != 0 ? a : b;
        } else if (a.isCidr() && b.isCidr()) {
            if (!a.cidr().overlaps(b.cidr())) return null;
            peer = a.cidr().prefixLength() >= b.cidr().prefixLength() ? a : b;
        } else {
            PolicyKey id = a.isCidr() ? b : a, cidr = a.isCidr() ? a : b;
            peer = id.identity() != 0 ? id : cidr;
        }
        return new PolicyKey(a.direction(), peer.identity(), peer.cidr(), peer.isCidr() ? List.of() : List.of(), proto, ports);
    }
}
