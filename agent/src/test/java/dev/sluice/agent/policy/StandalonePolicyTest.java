package dev.sluice.agent.policy;

import dev.sluice.agent.reconcile.FakeMap;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.agent.endpoint.Endpoint;
import dev.sluice.config.Values;
import dev.sluice.datapath.maps.PolicyCidrKey;
import dev.sluice.datapath.maps.PolicyEntryKey;
import dev.sluice.datapath.maps.PolicyEntryValue;
import dev.sluice.k8s.Pod;
import dev.sluice.policymap.PolicyMaps;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Standalone containers (no Pod object) in the policy reconciler, on in-memory maps: one is a pod
 * without labels in its namespace, so a namespace's default-deny applies to it and peers select it
 * by namespace; one whose name a Pod object has is closed and reported, until the clash is gone.
 */
class StandalonePolicyTest {
    static final String DENY_INGRESS = """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: deny, namespace: podman}
            spec: {podSelector: {}, policyTypes: [Ingress]}
            """;
    static final String POD_WEB = """
            apiVersion: v1
            kind: Pod
            metadata: {name: web, namespace: podman, labels: {app: web}}
            spec: {containers: [{name: c}]}
            status: {podIP: 10.0.1.9}
            """;

    final List<String> log = new ArrayList<>();
    final PolicyReconciler r = new PolicyReconciler(new FakeMap<PolicyEntryKey, PolicyEntryValue>("sl_policy", 1000, log),
            new FakeMap<PolicyCidrKey, Integer>("sl_policy_cidr", 1000, log), 16384);
    final Endpoint web = new Endpoint(3, "c".repeat(64), "eth0", "podman/web", "/run/netns/netns-1", "10.0.0.7", "lxcw", 200,
            "0e:00:00:00:00:03", "0a:00:00:00:00:03", 1450, true);
    final List<Pod> standalone = List.of(new Pod("podman", "web", Map.of(), "node1", "10.0.0.7", List.of()));

    @Test
    void aStandaloneContainerIsOpenUntilItsNamespaceDeniesIngress() {
        r.update(PolicyReconcilerTest.objects(), Values.defaults(), standalone);
        assertThat(r.identityOf("podman/web")).as("an identity of its own, not 0").isNotZero();
        assertThat(r.program(web)).as("no policy selects it: nothing enforced").isZero();

        var u = r.update(PolicyReconcilerTest.objects(DENY_INGRESS), Values.defaults(), standalone);
        assertThat(u.touches("podman/web")).isTrue();
        int flags = r.program(web);
        assertThat(flags & PolicyMaps.F_INGRESS_ENFORCED).isNotZero();
        assertThat(flags & PolicyMaps.F_EGRESS_ENFORCED).isZero();
        assertThat(r.problems()).isEmpty();
    }

    @Test
    void withoutTheContainerTheEngineDoesNotKnowIt() {
        r.update(PolicyReconcilerTest.objects(), Values.defaults(), standalone);
        r.update(PolicyReconcilerTest.objects(), Values.defaults(), List.of());
        assertThat(r.identityOf("podman/web")).isZero();
    }

    @Test
    void aPodObjectWithTheSameNameClosesTheContainerUntilItIsGone() {
        r.update(PolicyReconcilerTest.objects(), Values.defaults(), standalone);
        assertThat(r.program(web)).isZero();
        var u = r.update(PolicyReconcilerTest.objects(POD_WEB), Values.defaults(), standalone);
        assertThat(u.touches("podman/web")).isTrue();
        assertThat(r.program(web)).as("the Pod's policy is not the container's: closed").isEqualTo(PolicyMaps.F_PENDING);
        assertThat(r.problems()).singleElement().asString().contains("podman/web: standalone container").contains("has the name of a Pod object");
        // a Kubernetes endpoint of that Pod is not affected
        Endpoint pod = new Endpoint(4, "d", "eth0", "podman/web", "/dev/null", "10.0.1.9", "lxcp", 201, "0e:00:00:00:00:04",
                "0a:00:00:00:00:04", 1450, false);
        assertThat(r.program(pod)).isZero();

        u = r.update(PolicyReconcilerTest.objects(), Values.defaults(), standalone);
        assertThat(u.touches("podman/web")).isTrue();
        assertThat(r.program(web)).isZero();
        assertThat(r.problems()).isEmpty();
    }
}
