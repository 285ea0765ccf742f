package dev.sluice.agent.policy;

import dev.sluice.agent.reconcile.FakeMap;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.agent.endpoint.Endpoint;
import dev.sluice.config.Values;
import dev.sluice.datapath.maps.PolicyCidrKey;
import dev.sluice.datapath.maps.PolicyEntryKey;
import dev.sluice.datapath.maps.PolicyEntryValue;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The order in which the reconciler writes and removes policy entries, on in-memory maps: a deny
 * goes in before the allows it narrows and leaves after them, with the address mappings between,
 * so no intermediate state lets through what neither the old nor the new policy allows.
 */
class PolicyWriteOrderTest {
    /** Egress of x/a: anything in 10.0.0.0/8 is allowed, but nothing on TCP/80. */
    static final String CIDR_BUT_NOT_80 = """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: out, namespace: x}
            spec:
              endpointSelector: {matchLabels: {pod: a}}
              egress: [{toCIDR: [10.0.0.0/8]}]
              egressDeny: [{toPorts: [{ports: [{port: "80", protocol: TCP}]}]}]
            """;
    /** Egress of x/a: TCP/80 to anyone, but nothing at all to 10.0.0.0/8. */
    static final String PORT_80_BUT_NOT_CIDR = """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: out, namespace: x}
            spec:
              endpointSelector: {matchLabels: {pod: a}}
              egress: [{toPorts: [{ports: [{port: "80", protocol: TCP}]}]}]
              egressDeny: [{toCIDR: [10.0.0.0/8]}]
            """;

    final List<String> log = new ArrayList<>();
    final FakeMap<PolicyEntryKey, PolicyEntryValue> policy = new FakeMap<>("sl_policy", 1000, log);
    final FakeMap<PolicyCidrKey, Integer> cidrs = new FakeMap<>("sl_policy_cidr", 1000, log);
    final PolicyReconciler r = new PolicyReconciler(policy, cidrs, 16384);
    final Endpoint a = new Endpoint(7, "c-a", "eth0", "x/a", "/dev/null", "10.0.0.5", "lxca", 100, "0e:00:00:00:00:01", "0a:00:00:00:00:01", 1450, false);

    List<String> program(String... docs) {
        r.update(PolicyReconcilerTest.objects(docs), Values.defaults());
        log.clear();
        r.program(a);
        return List.copyOf(log);
    }

    /** The operations, shortened to verb, map, identity (any, set or the key's number) and verdict or prefix. */
    static List<String> ops(List<String> log) {
        return log.stream().map(l -> l.replaceAll("PolicyEntryValue\\[verdict=(\\d), rule=\\d+, prefixLength=\\d+, l7=\\d+]", "verdict=$1")
                .replaceAll("PolicyEntryKey\\[endpoint=7, key=Key\\[direction=2, identity=(\\d+), protocol=(\\d+), port=(\\d+), prefixLength=(\\d+)]]", "id=$1 $2/$3/$4")
                .replaceAll("PolicyCidrKey\\[endpoint=7, direction=2, prefix=([0-9./]+)]", "$1")).toList();
    }

    @Test
    void staleAllowsAndTheirMappingsLeaveBeforeTheDenyThatNarrowedThem() {
        program(PolicyReconcilerTest.PODS, PolicyReconcilerTest.DENY_ALL, CIDR_BUT_NOT_80);
        // Removing the any-peer deny of TCP/80 first (key order: identity 0 first) would let x/a reach 10.x:80.
        assertThat(ops(program(PolicyReconcilerTest.PODS, PolicyReconcilerTest.DENY_ALL))).containsExactly(
                "remove sl_policy id=2130706433 0/0/0",
                "remove sl_policy_cidr 10.0.0.0/8",
                "remove sl_policy id=0 6/80/24");
    }

    @Test
    void newDenyAndItsMappingGoInBeforeTheAllowTheyNarrow() {
        program(PolicyReconcilerTest.PODS, PolicyReconcilerTest.DENY_ALL);
        // Writing the any-peer allow of TCP/80 first (key order) would let x/a reach 10.x:80 until the mapping exists.
        assertThat(ops(program(PolicyReconcilerTest.PODS, PolicyReconcilerTest.DENY_ALL, PORT_80_BUT_NOT_CIDR))).containsExactly(
                "put sl_policy id=2130706433 0/0/0 verdict=3",
                "put sl_policy_cidr 10.0.0.0/8 2130706433",
                "put sl_policy id=0 6/80/24 verdict=1");
    }

    @Test
    void forgetRemovesAllowsBeforeDenies() {
        program(PolicyReconcilerTest.PODS, PolicyReconcilerTest.DENY_ALL, CIDR_BUT_NOT_80);
        log.clear();
        r.forget(7);
        assertThat(ops(log)).containsExactly(
                "remove sl_policy id=2130706433 0/0/0",
                "remove sl_policy_cidr 10.0.0.0/8",
                "remove sl_policy id=0 6/80/24");
        assertThat(policy.all()).isEmpty();
        assertThat(cidrs.all()).isEmpty();
    }
}
