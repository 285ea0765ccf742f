package dev.sluice.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.k8s.ManifestReader;
import dev.sluice.k8s.Namespace;
import dev.sluice.k8s.Pod;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Pods without a Pod object (standalone containers) join the inputs; a Pod object keeps its name. */
class PolicyInputsWithPodsTest {
    @Test
    void extraPodsJoinWithTheirNamespaceAndNeverReplaceAPodObject() {
        PolicyInputs in = PolicyInputs.decodeStrict(ManifestReader.parse("t.yaml", """
                apiVersion: v1
                kind: Namespace
                metadata: {name: x, labels: {team: a}}
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: a, namespace: x, labels: {pod: a}}
                spec: {containers: [{name: c}]}
                """));
        Pod clash = new Pod("x", "a", Map.of(), "node1", "10.0.0.9", List.of());
        Pod web = new Pod("podman", "web", Map.of(), "node1", "10.0.0.7", List.of());
        PolicyInputs out = in.withPods(List.of(clash, web));
        assertThat(out.pods()).extracting(Pod::key).containsExactly("podman/web", "x/a");
        assertThat(out.pods()).filteredOn(p -> p.key().equals("x/a")).singleElement().extracting(Pod::labels).isEqualTo(Map.of("pod", "a"));
        assertThat(out.namespaces()).containsExactly(new Namespace("podman", Map.of()), new Namespace("x", Map.of("team", "a")));
        assertThat(out.policies()).isEqualTo(in.policies());
        assertThat(in.withPods(List.of())).isSameAs(in);
    }
}
