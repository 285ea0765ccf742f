package dev.sluice.policymap;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.net.Ip;
import dev.sluice.policy.Direction;
import dev.sluice.policy.HttpRule;
import dev.sluice.policy.PolicyKey;
import dev.sluice.policy.PolicyState;
import dev.sluice.policy.PolicyValue;
import dev.sluice.policy.PortRange;
import dev.sluice.policy.Verdict;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * What policy_check does beyond the entries' verdicts ({@link PolicyMapsTest} checks those
 * against the engine): the node reaches its pods, a redirect drops without a proxy, a pending or
 * overflowing endpoint drops everything, protocols without ports are looked up with port 0, and the
 * deciding entry is named.
 */
class PolicyLookupTest {
    static PolicyMaps.EndpointMaps maps(int extraFlags) {
        Map<PolicyKey, PolicyValue> e = new TreeMap<>();
        e.put(new PolicyKey(Direction.INGRESS, 300, null, List.of(), 6, PortRange.of(80)), new PolicyValue(Verdict.ALLOW, List.of(), List.of("NetworkPolicy x/web spec.ingress[0]")));
        e.put(new PolicyKey(Direction.INGRESS, 0, null, List.of(), 6, PortRange.of(8080)),
                new PolicyValue(Verdict.REDIRECT, List.of(HttpRule.ANY), List.of("CiliumNetworkPolicy x/l7 spec.ingress[0]")));
        e.put(new PolicyKey(Direction.INGRESS, 300, null, List.of(), 1, PortRange.ANY), new PolicyValue(Verdict.ALLOW, List.of(), List.of("CiliumNetworkPolicy x/icmp spec.ingress[0]")));
        var m = PolicyMaps.compile(new PolicyState(true, true, false, e, List.of("NetworkPolicy x/web"), List.of()));
        return new PolicyMaps.EndpointMaps(m.flags() | extraFlags, m.entries(), m.cidrs());
    }

    @Test void asPolicyCheckDecides() {
        var m = maps(0);
        int peer = Ip.parse("10.0.0.9");
        var allow = PolicyLookup.decide(m, PolicyMaps.INGRESS, 300, peer, 6, 80);
        assertThat(allow.passes()).isTrue();
        assertThat(allow.match()).isEqualTo(PolicyLookup.Match.IDENTITY);
        assertThat(allow.origins()).containsExactly("NetworkPolicy x/web spec.ingress[0]");
        var none = PolicyLookup.decide(m, PolicyMaps.INGRESS, 301, peer, 6, 80);
        assertThat(none.passes()).isFalse();
        assertThat(none.drop()).isEqualTo(PolicyLookup.Drop.POLICY);
        assertThat(none.match()).isEqualTo(PolicyLookup.Match.NONE);
        var host = PolicyLookup.decide(m, PolicyMaps.INGRESS, 1, peer, 6, 9999);
        assertThat(host.passes()).as("the node reaches its pods").isTrue();
        assertThat(host.match()).isEqualTo(PolicyLookup.Match.HOST);
        var redirect = PolicyLookup.decide(m, PolicyMaps.INGRESS, 300, peer, 6, 8080);
        assertThat(redirect.passes()).as("no L7 proxy: fail closed").isFalse();
        assertThat(redirect.drop()).isEqualTo(PolicyLookup.Drop.PROXY_UNAVAILABLE);
        assertThat(redirect.match()).isEqualTo(PolicyLookup.Match.ANY);
        assertThat(PolicyLookup.decide(m, PolicyMaps.INGRESS, 300, peer, 1, 4242).passes()).as("ICMP: port ignored").isTrue();
        assertThat(PolicyLookup.decide(m, PolicyMaps.EGRESS, 301, peer, 6, 80).drop()).as("egress enforced, nothing allowed").isEqualTo(PolicyLookup.Drop.POLICY);
    }

    @Test void aPendingOrOverflowingEndpointDropsEverything() {
        assertThat(PolicyLookup.decide(maps(PolicyMaps.F_PENDING), PolicyMaps.INGRESS, 300, null, 6, 80).drop()).isEqualTo(PolicyLookup.Drop.POLICY_PENDING);
        assertThat(PolicyLookup.decide(maps(PolicyMaps.F_OVERFLOW), PolicyMaps.INGRESS, 1, null, 6, 80).drop()).isEqualTo(PolicyLookup.Drop.POLICY_FULL);
    }
}
