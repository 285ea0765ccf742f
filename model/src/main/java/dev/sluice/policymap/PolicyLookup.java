package dev.sluice.policymap;

import dev.sluice.identity.Reserved;
import java.util.List;

/**
 * The data path's policy check ({@code policy_check} in bpf/lib/policy.h) over one endpoint's
 * compiled maps ({@link PolicyMaps#compile}), for offline questions that must answer exactly as the
 * kernel would (policy replay). Same order and precedence: an endpoint whose policy is pending or
 * did not fit drops everything; the node itself always reaches its pods; then up to three
 * longest-prefix lookups (the peer's identity, any peer, the CIDR-set identity of the peer's
 * address) whose verdicts combine DENY over REDIRECT over ALLOW; REDIRECT drops (no L7 proxy yet);
 * no match drops when the direction is enforced. Protocols without ports are looked up with port 0.
 */
public final class PolicyLookup {
    private PolicyLookup() {}

    /** What the check matched, named as flows name it ({@code sluice.policy_match}). */
    public enum Match { IDENTITY, ANY, CIDR, HOST, NONE }

    /**
     * One verdict.
     *
     * @param passes   whether the packet passes with audit mode off (audit mode would let it pass anyway)
     * @param verdict  the strongest matching entry's verdict ({@link PolicyMaps#DENY} ...), 0 when none matched
     * @param enforced whether the direction is under default deny
     * @param origins  the rules ({@code Kind ns/name path}) behind the deciding entry; empty when none decided
     * @param drop why it is dropped (the data path's drop reason of the same name), null when it passes
     * @param l7   for a REDIRECT, the proxy the deciding entry names ({@link PolicyMaps#L7_HTTP}, {@link PolicyMaps#L7_DNS}), else {@link PolicyMaps#L7_NONE}
     */
    public record Result(boolean passes, int verdict, Match match, boolean enforced, List<String> origins, Drop drop, int l7) {
        public Result(boolean passes, int verdict, Match match, boolean enforced, List<String> origins, Drop drop) {
            this(passes, verdict, match, enforced, origins, drop, PolicyMaps.L7_NONE);
        }
    }

    /** The drop reasons policy_check returns, named as bpf/lib/drop.h and DropReason name them. */
    public enum Drop { POLICY, POLICY_DENY, POLICY_PENDING, POLICY_FULL, PROXY_UNAVAILABLE }

    /**
     * The verdict for a packet of the endpoint in {@code dir} ({@link PolicyMaps#INGRESS} or EGRESS)
     * with a peer of this identity and address (null: none known), IP protocol and the flow's
     * destination port (as its opener sent it).
     */
    public static Result decide(PolicyMaps.EndpointMaps m, int dir, int peerIdentity, Integer peerIp, int proto, int port) {
        int flags = m.flags();
        boolean enforced = (flags & (dir == PolicyMaps.INGRESS ? PolicyMaps.F_INGRESS_ENFORCED : PolicyMaps.F_EGRESS_ENFORCED)) != 0;
        if ((flags & PolicyMaps.F_PENDING) != 0) return new Result(false, 0, Match.NONE, enforced, List.of(), Drop.POLICY_PENDING);
        if ((flags & PolicyMaps.F_OVERFLOW) != 0) return new Result(false, 0, Match.NONE, enforced, List.of(), Drop.POLICY_FULL);
        if (dir == PolicyMaps.INGRESS && peerIdentity == Reserved.HOST.id) return new Result(true, 0, Match.HOST, enforced, List.of(), null);
        int dport = proto == 6 || proto == 17 || proto == 132 ? port : 0;
        PolicyMaps.Value best = null;
        Match match = Match.NONE;
        // the first lookup with the strongest verdict names the entry, as in policy_lookup()
        PolicyMaps.Value v = longest(m, dir, peerIdentity, proto, dport);
        if (v != null && v.verdict() > 0) {
            best = v;
            match = Match.IDENTITY;
        }
        v = longest(m, dir, 0, proto, dport);
        if (v != null && v.verdict() > (best == null ? 0 : best.verdict())) {
            best = v;
            match = Match.ANY;
        }
        int cidrSet = peerIp == null ? 0 : cidrIdentity(m, dir, peerIp);
        if (cidrSet != 0) {
            v = longest(m, dir, cidrSet, proto, dport);
            if (v != null && v.verdict() > (best == null ? 0 : best.verdict())) {
                best = v;
                match = Match.CIDR;
            }
        }
        int verdict = best == null ? 0 : best.verdict();
        List<String> origins = best == null ? List.of() : best.origins();
        Drop drop = verdict == PolicyMaps.DENY ? Drop.POLICY_DENY : verdict == PolicyMaps.REDIRECT ? Drop.PROXY_UNAVAILABLE
                : verdict == 0 && enforced ? Drop.POLICY : null;
        return new Result(drop == null, verdict, match, enforced, origins, drop, best == null || verdict != PolicyMaps.REDIRECT ? PolicyMaps.L7_NONE : best.l7());
    }

    /** The longest-prefix match of sl_policy for (direction, identity, protocol, port), or null. */
    public static PolicyMaps.Value longest(PolicyMaps.EndpointMaps m, int dir, int identity, int proto, int port) {
        var entries = m.entries();
        for (int len = 24; len >= 0; len--) {
            if (len > 0 && len < 8) continue;
            int bits = (proto << 16) | port;
            int mask = len == 0 ? 0 : (-1 << (24 - len)) & 0xffffff;
            int masked = bits & mask;
            PolicyMaps.Value v = entries.get(new PolicyMaps.Key(dir, identity, masked >>> 16, masked & 0xffff, len));
            if (v != null) return v;
        }
        return null;
    }

    /** The CIDR-set identity sl_policy_cidr gives the address (its longest prefix), 0 when none. */
    public static int cidrIdentity(PolicyMaps.EndpointMaps m, int dir, int ip) {
        PolicyMaps.CidrKey best = null;
        for (PolicyMaps.CidrKey k : m.cidrs().keySet())
            if (k.direction() == dir && k.prefix().contains(ip) && (best == null || k.prefix().prefixLength() > best.prefix().prefixLength())) best = k;
        return best == null ? 0 : m.cidrs().get(best);
    }
}
