package dev.sluice.agent.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.agent.endpoint.Endpoint;
import dev.sluice.agent.flow.Attribution;
import dev.sluice.agent.flow.PolicyRef;
import dev.sluice.agent.flow.PolicySource;
import dev.sluice.agent.reconcile.FakeMap;
import dev.sluice.config.Values;
import dev.sluice.datapath.DropReason;
import dev.sluice.datapath.maps.FlowEvent;
import dev.sluice.datapath.maps.PolicyCidrKey;
import dev.sluice.datapath.maps.PolicyEntryKey;
import dev.sluice.datapath.maps.PolicyEntryValue;
import dev.sluice.policymap.PolicyMaps;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Policy attribution from what the reconciler programmed: the policies that produced the entry an
 * event names, and, for a default-deny drop, the policies that isolate the endpoint. The policies
 * go through the real compiler; the events are what the data path would send for them.
 */
class FlowAttributionTest {
    static final String NS = """
            apiVersion: v1
            kind: Namespace
            metadata: {name: x}
            """;
    static final String PODS = """
            apiVersion: v1
            kind: Pod
            metadata: {name: a, namespace: x, labels: {app: a}}
            spec: {nodeName: node1, containers: [{name: c, image: i, ports: [{containerPort: 80}]}]}
            status: {podIP: 10.0.0.5}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: b, namespace: x, labels: {app: b}}
            spec: {nodeName: node1, containers: [{name: c, image: i, ports: [{containerPort: 80}]}]}
            status: {podIP: 10.0.0.6}
            """;
    /** b admits a on TCP 80 (two policies say so), denies a on 81 (a Cilium deny), and isolates b's ingress. */
    static final String POLICIES = """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: a-to-b, namespace: x}
            spec:
              podSelector: {matchLabels: {app: b}}
              ingress:
              - from: [{podSelector: {matchLabels: {app: a}}}]
                ports: [{protocol: TCP, port: 80}]
            ---
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: web, namespace: x}
            spec:
              podSelector: {matchLabels: {app: b}}
              ingress:
              - ports: [{protocol: TCP, port: 80}]
            ---
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: no-81, namespace: x}
            spec:
              endpointSelector: {matchLabels: {app: b}}
              ingressDeny:
              - fromEndpoints: [{matchLabels: {app: a}}]
                toPorts: [{ports: [{port: "81", protocol: TCP}]}]
            ---
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: lock-a, namespace: x}
            spec:
              podSelector: {matchLabels: {app: a}}
              policyTypes: [Egress]
            """;

    final List<String> log = new ArrayList<>();
    final PolicyReconciler r = new PolicyReconciler(new FakeMap<PolicyEntryKey, PolicyEntryValue>("sl_policy", 1000, log),
            new FakeMap<PolicyCidrKey, Integer>("sl_policy_cidr", 1000, log), 16384);
    final Endpoint a = new Endpoint(7, "c-a", "eth0", "x/a", "/dev/null", "10.0.0.5", "lxca", 100, "0e:00:00:00:00:01", "0a:00:00:00:00:01", 1450, false);
    final Endpoint b = new Endpoint(8, "c-b", "eth0", "x/b", "/dev/null", "10.0.0.6", "lxcb", 101, "0e:00:00:00:00:02", "0a:00:00:00:00:02", 1450, false);
    PolicySource source;

    @BeforeEach
    void program() {
        assertThat(r.update(PolicyReconcilerTest.objects(NS, PODS, POLICIES), Values.defaults()).errors()).isEmpty();
        r.program(a);
        r.program(b);
        source = new PolicySource() {
            public Optional<List<String>> entryOrigins(int ep, PolicyMaps.Key key) {
                return r.programmed(ep).map(m -> m.entries().get(key)).map(PolicyMaps.Value::origins);
            }
            public List<String> ruleOrigins(int ruleId) { return r.origins(ruleId); }
            public List<String> isolating(int ep, int dir) { return r.isolating(ep, dir); }
        };
    }

    /** The event the data path sends when entry {@code key} of endpoint {@code ep} decides a packet to {@code dport}. */
    FlowEvent matched(int type, int reason, int ep, PolicyMaps.Key key, int match, int dport) {
        PolicyMaps.Value v = r.programmed(ep).orElseThrow().entries().get(key);
        assertThat(v).as("entry %s of endpoint %d", key, ep).isNotNull();
        return new FlowEvent(type, reason, key.direction(), 6, 101, 0, 0, 0, 0, 40000, dport, 60, ep, FlowEvent.OBS_TO_ENDPOINT,
                FlowEvent.CT_NEW, 2, match, key.direction(), key.prefixLength(), key.identity(), PolicyMaps.ruleId(v.origins()), 0, 0, 0, 0, 0, 0, false);
    }

    PolicyMaps.Key entry(int ep, int dir, int port, int verdict) {
        return r.programmed(ep).orElseThrow().entries().entrySet().stream()
                .filter(e -> e.getKey().direction() == dir && e.getKey().port() == port && e.getValue().verdict() == verdict)
                .map(java.util.Map.Entry::getKey).findFirst().orElseThrow(() -> new AssertionError("no entry for port " + port));
    }

    @Test
    void anAllowedFlowNamesEveryPolicyBehindItsEntry() {
        PolicyMaps.Key k = entry(8, PolicyMaps.INGRESS, 80, PolicyMaps.ALLOW);
        int match = k.identity() == 0 ? FlowEvent.MATCH_ANY : FlowEvent.MATCH_IDENTITY;
        Attribution at = Attribution.of(matched(FlowEvent.TRACE, 0, 8, k, match, 80), source);
        assertThat(at.ingressAllowedBy()).contains(new PolicyRef("web", "x", "NetworkPolicy"));
        if (match == FlowEvent.MATCH_IDENTITY)
            assertThat(at.ingressAllowedBy()).containsExactly(new PolicyRef("a-to-b", "x", "NetworkPolicy"), new PolicyRef("web", "x", "NetworkPolicy"));
        assertThat(at.ingressDeniedBy()).isEmpty();
        assertThat(at.egressAllowedBy()).isEmpty();
    }

    @Test
    void theAnyPeerEntryNamesOnlyThePolicyThatAllowsAnyPeer() {
        PolicyMaps.Key k = new PolicyMaps.Key(PolicyMaps.INGRESS, 0, 6, 80, 24);
        Attribution at = Attribution.of(matched(FlowEvent.TRACE, 0, 8, k, FlowEvent.MATCH_ANY, 80), source);
        assertThat(at.ingressAllowedBy()).containsExactly(new PolicyRef("web", "x", "NetworkPolicy"));
    }

    @Test
    void aDenyDropNamesTheDenyingPolicy() {
        PolicyMaps.Key k = entry(8, PolicyMaps.INGRESS, 81, PolicyMaps.DENY);
        Attribution at = Attribution.of(matched(FlowEvent.DROP, DropReason.POLICY_DENY.code, 8, k, FlowEvent.MATCH_IDENTITY, 81), source);
        assertThat(at.ingressDeniedBy()).containsExactly(new PolicyRef("no-81", "x", "CiliumNetworkPolicy"));
        assertThat(at.ingressAllowedBy()).isEmpty();
    }

    @Test
    void aDefaultDenyDropNamesThePoliciesIsolatingTheEndpointInThatDirection() {
        FlowEvent egress = new FlowEvent(FlowEvent.DROP, DropReason.POLICY.code, PolicyMaps.EGRESS, 6, 100, 0, 0, 0, 0, 40000, 443, 60, 7,
                FlowEvent.OBS_FROM_ENDPOINT, FlowEvent.CT_NEW, 2, FlowEvent.MATCH_NONE, PolicyMaps.EGRESS, 0, 0, 0, 0, 0, 0, 0, 0, 0, false);
        assertThat(Attribution.of(egress, source).egressDeniedBy()).containsExactly(new PolicyRef("lock-a", "x", "NetworkPolicy"));
        FlowEvent ingress = new FlowEvent(FlowEvent.DROP, DropReason.POLICY.code, PolicyMaps.INGRESS, 6, 101, 0, 0, 0, 0, 40000, 22, 60, 8,
                FlowEvent.OBS_TO_ENDPOINT, FlowEvent.CT_NEW, 2, FlowEvent.MATCH_NONE, PolicyMaps.INGRESS, 0, 0, 0, 0, 0, 0, 0, 0, 0, false);
        assertThat(Attribution.of(ingress, source).ingressDeniedBy()).containsExactly(new PolicyRef("no-81", "x", "CiliumNetworkPolicy"),
                new PolicyRef("a-to-b", "x", "NetworkPolicy"), new PolicyRef("web", "x", "NetworkPolicy"));
        // a's ingress is not isolated: nothing to name
        FlowEvent open = new FlowEvent(FlowEvent.TRACE, 0, PolicyMaps.INGRESS, 6, 100, 0, 0, 0, 0, 40000, 22, 60, 7,
                FlowEvent.OBS_TO_ENDPOINT, FlowEvent.CT_NEW, 2, FlowEvent.MATCH_NONE, PolicyMaps.INGRESS, 0, 0, 0, 0, 0, 0, 0, 0, 0, false);
        assertThat(Attribution.of(open, source).isEmpty()).isTrue();
    }

    @Test
    void anEntryRewrittenSinceTheEventIsNamedByItsRuleId() {
        PolicyMaps.Key k = entry(8, PolicyMaps.INGRESS, 81, PolicyMaps.DENY);
        FlowEvent e = matched(FlowEvent.DROP, DropReason.POLICY_DENY.code, 8, k, FlowEvent.MATCH_IDENTITY, 81);
        // the deny policy is deleted after the drop: the entry is gone, its rule id still names it
        assertThat(r.update(PolicyReconcilerTest.objects(NS, PODS), Values.defaults()).errors()).isEmpty();
        r.program(b);
        assertThat(r.programmed(8).orElseThrow().entries()).doesNotContainKey(k);
        assertThat(Attribution.of(e, source).ingressDeniedBy()).containsExactly(new PolicyRef("no-81", "x", "CiliumNetworkPolicy"));
    }

    @Test
    void theMatchedKeyCoversThePortUnderItsPrefix() {
        // a range entry 8080-8083 is one prefix of 22 bits: the event's port 8082 names it
        FlowEvent e = new FlowEvent(FlowEvent.TRACE, 0, PolicyMaps.INGRESS, 6, 1, 0, 0, 0, 0, 40000, 8082, 60, 8, FlowEvent.OBS_TO_ENDPOINT,
                FlowEvent.CT_NEW, 2, FlowEvent.MATCH_IDENTITY, PolicyMaps.INGRESS, 22, 300, 1, 0, 0, 0, 0, 0, 0, false);
        assertThat(Attribution.matchedKey(e)).isEqualTo(new PolicyMaps.Key(PolicyMaps.INGRESS, 300, 6, 8080, 22));
        // a reply is checked against the opener's destination port: the packet's source port
        FlowEvent reply = new FlowEvent(FlowEvent.TRACE, 0, PolicyMaps.INGRESS, 6, 1, 0, 0, 0, 0, 80, 40000, 60, 8, FlowEvent.OBS_TO_ENDPOINT,
                FlowEvent.CT_REPLY, 0x12, FlowEvent.MATCH_ANY, PolicyMaps.EGRESS, 24, 0, 1, 0, 0, 0, 0, 0, 0, false);
        assertThat(Attribution.matchedKey(reply)).isEqualTo(new PolicyMaps.Key(PolicyMaps.EGRESS, 0, 6, 80, 24));
        // any protocol
        FlowEvent any = new FlowEvent(FlowEvent.TRACE, 0, PolicyMaps.INGRESS, 17, 1, 0, 0, 0, 0, 5, 53, 60, 8, FlowEvent.OBS_TO_ENDPOINT,
                FlowEvent.CT_NEW, 0, FlowEvent.MATCH_IDENTITY, PolicyMaps.INGRESS, 0, 300, 1, 0, 0, 0, 0, 0, 0, false);
        assertThat(Attribution.matchedKey(any)).isEqualTo(new PolicyMaps.Key(PolicyMaps.INGRESS, 300, 0, 0, 0));
    }

    @Test
    void policyRefsParseEveryOriginForm() {
        assertThat(PolicyRef.parse("NetworkPolicy x/b-to-a spec.ingress[0]")).contains(new PolicyRef("b-to-a", "x", "NetworkPolicy"));
        assertThat(PolicyRef.parse("CiliumClusterwideNetworkPolicy all-dns specs[0].egress[1]"))
                .contains(new PolicyRef("all-dns", "", "CiliumClusterwideNetworkPolicy"));
        assertThat(PolicyRef.parse("CiliumNetworkPolicy x/p")).contains(new PolicyRef("p", "x", "CiliumNetworkPolicy"));
        assertThat(PolicyRef.parse("garbage")).isEmpty();
        assertThat(PolicyRef.parse("Kind /name path")).isEmpty();
    }
}
