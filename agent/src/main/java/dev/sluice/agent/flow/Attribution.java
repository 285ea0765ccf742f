package dev.sluice.agent.flow;

import dev.sluice.datapath.DropReason;
import dev.sluice.datapath.maps.FlowEvent;
import dev.sluice.policymap.PolicyMaps;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/**
 * The policies behind one event's verdict, from what the data path says matched: the policy map
 * entry it names (direction, identity, protocol and port under the entry's prefix), whose origins
 * the agent kept when it wrote the entry; for a default-deny drop, the policies that select the
 * endpoint in that direction (they are what isolate it). Pure: the knowledge comes from a
 * {@link PolicySource}.
 */
public record Attribution(List<PolicyRef> ingressAllowedBy, List<PolicyRef> egressAllowedBy, List<PolicyRef> ingressDeniedBy,
                          List<PolicyRef> egressDeniedBy) {
    public static final Attribution NONE = new Attribution(List.of(), List.of(), List.of(), List.of());

    public static Attribution of(FlowEvent e, PolicySource src) {
        int dir = e.policyDirection();
        if (e.endpoint() == 0 || (dir != PolicyMaps.INGRESS && dir != PolicyMaps.EGRESS)) return NONE;
        boolean refused = e.type() == FlowEvent.DROP || e.type() == FlowEvent.AUDIT;
        List<PolicyRef> refs;
        PolicyMaps.Key key = matchedKey(e);
        if (key != null) {
            List<String> origins = src.entryOrigins(e.endpoint(), key)
                    .filter(o -> PolicyMaps.ruleId(o) == e.policyRule())
                    .orElseGet(() -> src.ruleOrigins(e.policyRule()));
            refs = refs(origins);
        } else if (refused && isolationReason(e)) {
            refs = refs(src.isolating(e.endpoint(), dir));
        } else {
            return NONE;
        }
        if (refused) return dir == PolicyMaps.INGRESS ? new Attribution(List.of(), List.of(), refs, List.of())
                : new Attribution(List.of(), List.of(), List.of(), refs);
        return dir == PolicyMaps.INGRESS ? new Attribution(refs, List.of(), List.of(), List.of())
                : new Attribution(List.of(), refs, List.of(), List.of());
    }

    /** Drops (and audits) that no entry decided and default deny explains. */
    private static boolean isolationReason(FlowEvent e) {
        if (e.type() == FlowEvent.AUDIT) return true;
        int r = e.reason();
        return r == DropReason.POLICY.code || r == DropReason.POLICY_REVOKED.code || r == DropReason.FRAGMENT.code;
    }

    /**
     * The sl_policy key the event says decided it; null when no entry did (default allow or deny,
     * the node itself). The port is the flow's destination port as its opener sent it: the
     * packet's source port on a reply.
     */
    public static PolicyMaps.Key matchedKey(FlowEvent e) {
        int m = e.policyMatch();
        if (m != FlowEvent.MATCH_IDENTITY && m != FlowEvent.MATCH_ANY && m != FlowEvent.MATCH_CIDR) return null;
        int len = e.policyPrefixLength();
        if (len < 0 || len > 24) return null;
        int proto = len >= 8 ? e.protocol() : 0;
        int port = e.ctState() == FlowEvent.CT_REPLY ? e.sport() : e.dport();
        int portBits = Math.max(0, len - 8);
        int masked = portBits == 0 ? 0 : port & (0xffff << (16 - portBits)) & 0xffff;
        return new PolicyMaps.Key(e.policyDirection(), e.policyIdentity(), proto, masked, len);
    }

    /** Distinct policies of origins or policy names, sorted. */
    static List<PolicyRef> refs(List<String> origins) {
        TreeSet<PolicyRef> out = new TreeSet<>();
        for (String o : origins) PolicyRef.parse(o).ifPresent(out::add);
        return new ArrayList<>(out);
    }

    public boolean isEmpty() {
        return ingressAllowedBy.isEmpty() && egressAllowedBy.isEmpty() && ingressDeniedBy.isEmpty() && egressDeniedBy.isEmpty();
    }
}
