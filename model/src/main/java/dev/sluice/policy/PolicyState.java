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
 * any REDIRECT (to the proxy with the union of the matching entries' HTTP rules: an L7 rule on a
 * port is not bypassed by a wider L4 allow of the same peer); then any ALLOW. An ALLOW with exactly
 * the protocol and ports of a matching REDIRECT entry wildcards L7 (the proxy allows every
 * request), as Cilium does. With no match, the packet is dropped if enforcement is on for the
 * direction, else allowed.
 *
 * @param ingressPolicies the policies that select this endpoint for ingress (names, sorted)
 */
public record PolicyState(boolean ingressEnforced, boolean egressEnforced, boolean audit,
                          Map<PolicyKey, PolicyValue> entries, List<String> ingressPolicies, List<String> egressPolicies) {
    public PolicyState {
        entries = java.util.Collections.unmodifiableMap(entries);
        ingressPolicies = List.copyOf(ingressPolicies);
        egressPolicies = List.copyOf(egressPolicies);
    }

    public boolean enforced(Direction d) { return d == Direction.INGRESS ? ingressEnforced : egressEnforced; }

    public List<String> policies(Direction d) { return d == Direction.INGRESS ? ingressPolicies : egressPolicies; }

    /** An HTTP request for L7 evaluation; null fields match only rules that leave them open. */
    public record HttpRequest(String method, String path, String host, Map<String, String> headers) {}

    /**
     * The verdict for one packet.
     *
     * @param allowed  whether the packet passes (audit mode lets denied packets pass)
     * @param verdict  ALLOW, DENY or REDIRECT (allowed at L4, the proxy applies {@code http})
     * @param audited  true when the verdict was DENY but audit mode let it pass
     * @param reason   plain words
     * @param matched  the rules (origins) whose entries decided it
     */
    public record Decision(boolean allowed, Verdict verdict, boolean enforced, boolean audited, String reason,
                           List<String> matched, List<HttpRule> http) {}

    /**
     * Decides a packet in direction {@code d} with the peer's identity and IPv4 address (null when
     * unknown), IP protocol number and destination port; {@code http} is optional.
     */
    public Decision decide(Direction d, int peerIdentity, Integer peerIp, int proto, int port, HttpRequest http) {
        Set<String> deny = new TreeSet<>(), allow = new TreeSet<>(), redirect = new TreeSet<>();
        Set<HttpRule> rules = new TreeSet<>();
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
                    redirectL4.add(k.protocol() + "/" + k.ports());
                }
            }
        }
        boolean enforced = enforced(d);
        if (!deny.isEmpty()) return denied("denied by " + String.join(", ", deny), enforced, new ArrayList<>(deny));
        if (redirect.isEmpty() && !allow.isEmpty()) return new Decision(true, Verdict.ALLOW, enforced, false, "allowed by " + String.join(", ", allow), new ArrayList<>(allow), List.of());
        if (!redirect.isEmpty()) {
            if (redirectL4.stream().anyMatch(allowL4::contains)) {
                rules.add(HttpRule.ANY);
                redirect.addAll(allow);
            }
            List<HttpRule> list = new ArrayList<>(rules);
            if (http == null)
                return new Decision(true, Verdict.REDIRECT, enforced, false, "allowed at L4 and redirected to the L7 proxy by " + String.join(", ", redirect), new ArrayList<>(redirect), list);
            for (HttpRule r : list)
                if (r.matches(http.method(), http.path(), http.host(), http.headers() == null ? Map.of() : http.headers()))
                    return new Decision(true, Verdict.ALLOW, enforced, false, "HTTP request allowed by " + r + " of " + String.join(", ", redirect), new ArrayList<>(redirect), list);
            return denied("HTTP request matches none of the L7 rules of " + String.join(", ", redirect) + " (proxy answers 403)", enforced, new ArrayList<>(redirect));
        }
        if (!enforced) return new Decision(true, Verdict.ALLOW, false, false, "no policy enforces " + d.word() + " on this endpoint", List.of(), List.of());
        return denied("default deny: no rule of " + String.join(", ", policies(d)) + " allows it", true, List.of());
    }

    private Decision denied(String reason, boolean enforced, List<String> matched) {
        if (audit) return new Decision(true, Verdict.DENY, enforced, true, reason + " (audit mode: allowed)", matched, List.of());
        return new Decision(false, Verdict.DENY, enforced, false, reason, matched, List.of());
    }
}
