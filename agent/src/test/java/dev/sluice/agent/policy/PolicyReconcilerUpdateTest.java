package dev.sluice.agent.policy;

import dev.sluice.agent.reconcile.FakeMap;
import dev.sluice.agent.reconcile.SnapshotDiff;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.Values;
import dev.sluice.datapath.maps.PolicyCidrKey;
import dev.sluice.datapath.maps.PolicyEntryKey;
import dev.sluice.datapath.maps.PolicyEntryValue;
import dev.sluice.policy.EngineConfig;
import dev.sluice.policy.PolicyEngine;
import dev.sluice.policy.PolicyInputs;
import dev.sluice.policy.PolicyMapText;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.LongStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The reconciler applies each new cluster state as the difference to what its engine holds;
 * whatever the sequence of states (pods appearing, relabelled, deleted, namespaces relabelled,
 * policies added, changed and removed), the result equals a from-scratch computation of that state.
 */
class PolicyReconcilerUpdateTest {
    static final List<String> POLICIES = List.of("""
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: a-in, namespace: x}
            spec:
              podSelector: {matchLabels: {role: a}}
              ingress: [{from: [{podSelector: {matchLabels: {role: b}}}], ports: [{port: 80}]}]
            """, """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: ns-in, namespace: y}
            spec:
              podSelector: {}
              ingress: [{from: [{namespaceSelector: {matchLabels: {team: red}}}]}]
            """, """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: deny-c, namespace: x}
            spec:
              endpointSelector: {matchLabels: {role: c}}
              egressDeny: [{toEndpoints: [{matchLabels: {role: a}}]}]
              egress: [{toEndpoints: [{}]}]
            """, """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: a-in, namespace: x}
            spec:
              podSelector: {matchLabels: {role: a}}
              policyTypes: [Ingress, Egress]
              ingress: [{from: [{podSelector: {}}], ports: [{port: 81, protocol: UDP}]}]
            """);

    static LongStream seeds() { return new SplittableRandom(0x5eed).longs(40); }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void everyUpdateEqualsAFromScratchComputation(long seed) {
        System.out.println("PolicyReconcilerUpdateTest seed=" + seed);
        var r = new SplittableRandom(seed);
        var rec = new PolicyReconciler(new FakeMap<PolicyEntryKey, PolicyEntryValue>("sl_policy", 100_000, new ArrayList<>()),
                new FakeMap<PolicyCidrKey, Integer>("sl_policy_cidr", 100_000, new ArrayList<>()), 100_000);
        for (int step = 0; step < 15; step++) {
            String yaml = state(r);
            var objects = PolicyReconcilerTest.objects(yaml);
            var update = rec.update(objects, Values.defaults());
            assertThat(update.errors()).isEmpty();
            var fresh = new PolicyEngine(EngineConfig.DEFAULT);
            fresh.load(PolicyInputs.decode(objects).inputs());
            assertThat(PolicyMapText.render(rec.result())).as("seed %d step %d:\n%s", seed, step, yaml)
                    .isEqualTo(PolicyMapText.render(fresh.result()));
        }
    }

    /**
     * The agent's path: each state as a store snapshot (key order), given to the reconciler as its
     * changes from the previous one; namespaces are sometimes left undeclared (implicit, as pods and
     * policies use them). Every step equals a from-scratch computation.
     */
    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void updatesFromSnapshotChangesEqualAFromScratchComputation(long seed) {
        System.out.println("PolicyReconcilerUpdateTest (changes) seed=" + seed);
        var r = new SplittableRandom(seed);
        var rec = new PolicyReconciler(new FakeMap<PolicyEntryKey, PolicyEntryValue>("sl_policy", 100_000, new ArrayList<>()),
                new FakeMap<PolicyCidrKey, Integer>("sl_policy_cidr", 100_000, new ArrayList<>()), 100_000);
        var diff = new SnapshotDiff();
        // an agent's: only node1's pods have their policy computed
        var local = new PolicyReconciler(new FakeMap<PolicyEntryKey, PolicyEntryValue>("sl_policy", 100_000, new ArrayList<>()),
                new FakeMap<PolicyCidrKey, Integer>("sl_policy_cidr", 100_000, new ArrayList<>()), 100_000).localNode("node1");
        var localDiff = new SnapshotDiff();
        for (int step = 0; step < 25; step++) {
            String yaml = state(r);
            List<dev.sluice.k8s.KubeObject> objects = new ArrayList<>(PolicyReconcilerTest.objects(yaml));
            objects.removeIf(o -> o.kind().equals("Namespace") && r.nextInt(3) == 0);
            objects.sort(java.util.Comparator.comparing(dev.sluice.agent.store.ResourceStore.Key::of));
            if (r.nextInt(8) == 0) { // as after a failed apply: the whole state again, from nothing
                rec.resync();
                diff = new SnapshotDiff();
            }
            var update = rec.update(diff.next(objects), Values.defaults());
            assertThat(update.errors()).isEmpty();
            var fresh = new PolicyEngine(EngineConfig.DEFAULT);
            fresh.load(PolicyInputs.decode(objects).inputs());
            assertThat(PolicyMapText.render(rec.result())).as("seed %d step %d:\n%s", seed, step, yaml)
                    .isEqualTo(PolicyMapText.render(fresh.result()));
            assertThat(rec.result().identities()).as("seed %d step %d", seed, step).isEqualTo(fresh.result().identities());
            local.update(localDiff.next(objects), Values.defaults());
            var want = new java.util.TreeMap<>(fresh.result().endpoints());
            want.keySet().removeIf(k -> !fresh.pod(k).nodeName().equals("node1"));
            assertThat(local.result().endpoints()).as("seed %d step %d, node1's pods", seed, step).isEqualTo(want);
        }
    }

    /** A random cluster state: two namespaces with random labels, up to five pods, a subset of the policies. */
    static String state(SplittableRandom r) {
        List<String> docs = new ArrayList<>();
        for (String ns : List.of("x", "y"))
            docs.add("apiVersion: v1\nkind: Namespace\nmetadata: {name: " + ns + ", labels: {team: " + (r.nextBoolean() ? "red" : "blue") + "}}\n");
        for (int i = 0; i < 5; i++) {
            if (r.nextInt(4) == 0) continue;
            docs.add("apiVersion: v1\nkind: Pod\nmetadata: {name: p" + i + ", namespace: " + (i % 2 == 0 ? "x" : "y") + ", labels: {role: "
                    + "abc".charAt(r.nextInt(3)) + "}}\nspec: {nodeName: node" + (i % 3 == 2 ? 2 : 1) + ", containers: [{name: c, ports: [{containerPort: 80}]}]}\n"
                    + "status: {podIP: 10.0.0." + (i + 2) + "}\n");
        }
        // at most one of the two "a-in" versions at a time: they share a name
        List<Integer> pick = new ArrayList<>();
        for (int i = 0; i < POLICIES.size(); i++) if (r.nextBoolean()) pick.add(i);
        if (pick.contains(0) && pick.contains(3)) pick.remove(Integer.valueOf(r.nextBoolean() ? 0 : 3));
        for (int i : pick) docs.add(POLICIES.get(i));
        return String.join("---\n", docs);
    }
}
