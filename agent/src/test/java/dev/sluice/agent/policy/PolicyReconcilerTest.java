package dev.sluice.agent.policy;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.agent.endpoint.Endpoint;
import dev.sluice.config.Values;
import dev.sluice.datapath.NodeDatapath;
import dev.sluice.k8s.KubeObject;
import dev.sluice.k8s.ManifestReader;
import dev.sluice.policymap.PolicyMaps;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The policy reconciler against real (pinned, unattached) kernel maps: the kernel holds exactly the
 * compiled entries after every change, unknown endpoints are closed, endpoints that left the cluster
 * state keep their last policy, an oversized policy closes its endpoint with a status problem, and
 * so does a full node-wide map, for the endpoint that did not fit only.
 */
@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: network namespaces, BPF, netlink")
class PolicyReconcilerTest {
    static final String PODS = """
            apiVersion: v1
            kind: Namespace
            metadata: {name: x}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: a, namespace: x, labels: {pod: a}}
            spec: {containers: [{name: c}]}
            status: {podIP: 10.0.0.5}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: b, namespace: x, labels: {pod: b}}
            spec: {containers: [{name: c}]}
            status: {podIP: 10.0.0.6}
            """;
    static final String ALLOW_B = """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: a-from-b, namespace: x}
            spec:
              podSelector: {matchLabels: {pod: a}}
              ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}], ports: [{port: 80}, {port: 8000, endPort: 8003}]}]
            """;
    static final String DENY_ALL = """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: deny, namespace: x}
            spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
            """;

    static final String B_FROM_A = """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: b-from-a, namespace: x}
            spec:
              podSelector: {matchLabels: {pod: b}}
              ingress: [{from: [{podSelector: {matchLabels: {pod: a}}}], ports: [{port: 80}, {port: 443}]}]
            """;

    Path pins;
    NodeDatapath dp;
    final Endpoint a = new Endpoint(7, "c-a", "eth0", "x/a", "/dev/null", "10.0.0.5", "lxca", 100, "0e:00:00:00:00:01", "0a:00:00:00:00:01", 1450, false);
    final Endpoint b = new Endpoint(8, "c-b", "eth0", "x/b", "/dev/null", "10.0.0.6", "lxcb", 101, "0e:00:00:00:00:02", "0a:00:00:00:00:02", 1450, false);

    @BeforeEach
    void load() {
        pins = Path.of("/sys/fs/bpf", "sl-test-" + UUID.randomUUID().toString().substring(0, 8));
        dp = NodeDatapath.load(Path.of(System.getProperty("sluice.home"), "build/bpf"), pins);
    }

    @AfterEach
    void close() throws IOException {
        dp.close();
        try (Stream<Path> s = Files.walk(pins)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }

    static List<KubeObject> objects(String... docs) { return ManifestReader.parse("t.yaml", String.join("---\n", docs)); }

    /** The endpoint's entries as the kernel holds them, as the model's keys. */
    Map<PolicyMaps.Key, Integer> kernel(int endpoint) {
        var out = new java.util.TreeMap<PolicyMaps.Key, Integer>();
        dp.policy().all().forEach((k, v) -> {
            if (k.endpoint() == endpoint) out.put(k.key(), v.verdict());
        });
        return out;
    }

    static Map<PolicyMaps.Key, Integer> verdicts(PolicyMaps.EndpointMaps m) {
        var out = new java.util.TreeMap<PolicyMaps.Key, Integer>();
        m.entries().forEach((k, v) -> out.put(k, v.verdict()));
        return out;
    }

    @Test
    void kernelHoldsExactlyTheCompiledStateAfterEveryChange() {
        var r = new PolicyReconciler(dp, 16384);
        Values v = Values.defaults();
        assertThat(r.program(a)).as("unknown to the engine yet: closed").isEqualTo(PolicyMaps.F_PENDING);

        r.update(objects(PODS, ALLOW_B), v);
        int flags = r.program(a);
        assertThat(flags & PolicyMaps.F_INGRESS_ENFORCED).isNotZero();
        assertThat(kernel(7)).isEqualTo(verdicts(r.programmed(7).orElseThrow())).hasSize(2); // TCP/80, and 8000-8003 as one aligned prefix
        r.update(objects(PODS, ALLOW_B, DENY_ALL), v);
        r.program(a);
        assertThat(kernel(7)).isEqualTo(verdicts(r.programmed(7).orElseThrow()));
        r.update(objects(PODS), v);
        assertThat(r.program(a)).isZero();
        assertThat(kernel(7)).isEmpty();
    }

    @Test
    void aPodGoneFromTheClusterStateKeepsItsLastPolicyUntilDel() {
        var r = new PolicyReconciler(dp, 16384);
        r.update(objects(PODS, ALLOW_B), Values.defaults());
        int flags = r.program(a);
        var before = kernel(7);
        // the namespace and its policies are deleted together; the pod's CNI DEL has not come yet
        r.update(objects(), Values.defaults());
        assertThat(r.program(a)).isEqualTo(flags);
        assertThat(kernel(7)).isEqualTo(before);
        r.forget(7);
        assertThat(kernel(7)).isEmpty();
    }

    @Test
    void aPolicyTooLargeForTheMapClosesTheEndpointAndSaysWhy() {
        var r = new PolicyReconciler(dp, 1);
        r.update(objects(PODS, ALLOW_B), Values.defaults());
        assertThat(r.program(a)).isEqualTo(PolicyMaps.F_OVERFLOW);
        assertThat(kernel(7)).isEmpty();
        assertThat(r.problems()).singleElement().asString().contains("x/a").contains("bpf.policyMapMax 1");
    }

    @Test
    void aFullNodeWideMapClosesOnlyTheEndpointThatDidNotFitUntilItFits() {
        dp.close();
        dp = NodeDatapath.load(Path.of(System.getProperty("sluice.home"), "build/bpf"), pins, Map.of("sl_policy", 3));
        var r = new PolicyReconciler(dp, 16384);
        r.update(objects(PODS, ALLOW_B, B_FROM_A), Values.defaults());
        assertThat(r.program(a) & PolicyMaps.F_INGRESS_ENFORCED).isNotZero();
        var aBefore = kernel(7);
        assertThat(aBefore).hasSize(2);

        // b needs two entries, one is left: its second write hits ENOSPC
        assertThat(r.program(b)).isEqualTo(PolicyMaps.F_OVERFLOW);
        assertThat(kernel(8)).as("what b wrote is given back").isEmpty();
        assertThat(kernel(7)).isEqualTo(aBefore);
        assertThat(r.programmed(8).orElseThrow().flags()).isEqualTo(PolicyMaps.F_OVERFLOW);
        assertThat(r.problems()).singleElement().asString().contains("x/b", "sl_policy", "full", "expected:");

        // a keeps converging; once its policy shrinks, b's next program fits
        r.update(objects(PODS, B_FROM_A), Values.defaults());
        assertThat(r.program(a)).isZero();
        assertThat(kernel(7)).isEmpty();
        assertThat(r.program(b) & PolicyMaps.F_INGRESS_ENFORCED).isNotZero();
        assertThat(kernel(8)).isEqualTo(verdicts(r.programmed(8).orElseThrow())).hasSize(2);
        assertThat(r.problems()).isEmpty();
    }
}
