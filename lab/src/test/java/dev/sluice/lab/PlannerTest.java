package dev.sluice.lab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.BadInputException;
import dev.sluice.config.Values;
import dev.sluice.k8s.KubeObject;
import dev.sluice.k8s.ManifestException;
import dev.sluice.k8s.ManifestReader;
import dev.sluice.net.Cidr;
import java.util.List;
import org.junit.jupiter.api.Test;

class PlannerTest {
    static final List<String> NODES = List.of("node1", "node2");
    static final Cidr SVC = Cidr.parse(Values.DEFAULT_SERVICE_CIDR);

    static List<KubeObject> parse(String yaml) { return ManifestReader.parse("m.yaml", yaml); }

    static String pod(String ns, String name, String labels, String extraSpec) {
        return """
                apiVersion: v1
                kind: Pod
                metadata: {name: %s, namespace: %s, labels: {%s}}
                spec:
                  %s
                  containers:
                  - name: c
                    ports: [{containerPort: 80}]
                ---
                """.formatted(name, ns, labels, extraSpec);
    }

    static String svc(String ns, String name, String clusterIP) {
        return """
                apiVersion: v1
                kind: Service
                metadata: {name: %s, namespace: %s}
                spec:
                  %s
                  selector: {app: %s}
                  ports: [{port: 80}]
                ---
                """.formatted(name, ns, clusterIP.isEmpty() ? "" : "clusterIP: " + clusterIP, name);
    }

    /** The stored state after applying: what a later apply sees. */
    static List<KubeObject> stored(Planner.ApplyPlan plan) {
        return plan.writes().stream().flatMap(b -> ManifestReader.parse("store", b.toString()).stream()).toList();
    }

    @Test void namespacesOfPodsAreCreatedImplicitlyAndSaidSo() {
        var plan = Planner.apply(List.of(), parse(pod("x", "a", "app: a", "") + pod("y", "b", "", "")), NODES, SVC, 0);
        assertThat(plan.writes()).extracting(b -> b.path("kind").asString() + " " + b.path("metadata").path("name").asString())
                .containsExactly("Namespace x", "Namespace y", "Pod a", "Pod b");
        assertThat(plan.notes()).containsExactly("namespace x created implicitly (Pod x/a is in it)",
                "namespace y created implicitly (Pod y/b is in it)");
        assertThat(plan.newPods()).extracting(p -> p.pod().key() + "@" + p.node()).containsExactly("x/a@node1", "y/b@node2");
        assertThat(plan.newPods().getFirst().body().path("spec").path("nodeName").asString()).isEqualTo("node1");
    }

    @Test void declaredNamespacesAreKeptWithTheirLabels() {
        var plan = Planner.apply(List.of(), parse("""
                apiVersion: v1
                kind: Namespace
                metadata: {name: x, labels: {team: a}}
                ---
                """ + pod("x", "a", "", "")), NODES, SVC, 0);
        assertThat(plan.notes()).isEmpty();
        assertThat(plan.writes().getFirst().path("metadata").path("labels").path("team").asString()).isEqualTo("a");
    }

    @Test void clusterIpsAreAllocatedInApplyOrderAndHeadlessKept() {
        var plan = Planner.apply(List.of(), parse(svc("x", "s1", "") + svc("x", "s2", "None") + svc("x", "s3", "10.96.0.11")
                + svc("x", "s4", "")), NODES, SVC, 0);
        assertThat(plan.writes().stream().filter(b -> b.path("kind").asString().equals("Service"))
                .map(b -> b.path("metadata").path("name").asString() + "=" + b.path("spec").path("clusterIP").asString()))
                .containsExactly("s1=10.96.0.10", "s2=None", "s3=10.96.0.11", "s4=10.96.0.12");
        // a later apply continues after what is stored, and keeps an existing service's address
        var later = Planner.apply(stored(plan), parse(svc("x", "s5", "") + svc("x", "s1", "")), NODES, SVC, 0);
        assertThat(later.writes().stream().filter(b -> b.path("kind").asString().equals("Service"))
                .map(b -> b.path("metadata").path("name").asString() + "=" + b.path("spec").path("clusterIP").asString()))
                .containsExactly("s5=10.96.0.13", "s1=10.96.0.10");
    }

    @Test void clusterIpsComeFromTheConfiguredServiceCidr() {
        var plan = Planner.apply(List.of(), parse(svc("x", "s1", "")), NODES, Cidr.parse("172.20.0.0/24"), 0);
        assertThat(plan.writes().stream().filter(b -> b.path("kind").asString().equals("Service"))
                .map(b -> b.path("spec").path("clusterIP").asString())).containsExactly("172.20.0.10");
        assertThatThrownBy(() -> Planner.apply(List.of(), parse(svc("x", "s2", "10.96.0.10")), NODES, Cidr.parse("172.20.0.0/24"), 0))
                .isInstanceOf(ManifestException.class).hasMessageContaining("serviceCIDR 172.20.0.0/24");
    }

    @Test void clusterIpConflictsAndChangesAreBadInput() {
        var plan = Planner.apply(List.of(), parse(svc("x", "s1", "")), NODES, SVC, 0);
        assertThatThrownBy(() -> Planner.apply(stored(plan), parse(svc("x", "s2", "10.96.0.10")), NODES, SVC, 0))
                .isInstanceOf(ManifestException.class).hasMessageContaining("spec.clusterIP: 10.96.0.10 (already in use by Service x/s1)");
        assertThatThrownBy(() -> Planner.apply(stored(plan), parse(svc("x", "s1", "10.96.0.99")), NODES, SVC, 0))
                .isInstanceOf(BadInputException.class).hasMessageContaining("immutable");
        assertThatThrownBy(() -> Planner.apply(List.of(), parse(svc("x", "s1", "192.168.1.1")), NODES, SVC, 0))
                .isInstanceOf(ManifestException.class).hasMessageContaining("serviceCIDR 10.96.0.0/12");
    }

    @Test void reapplyingAPodKeepsItsPlacementAndStatusAndChangesLabels() {
        var plan = Planner.apply(List.of(), parse(pod("x", "a", "app: a", "")), NODES, SVC, 0);
        var body = Planner.withStatus(plan.newPods().getFirst().body(), "10.0.0.5", "172.30.0.11");
        var stored = ManifestReader.parse("store", plan.writes().getFirst().toString() + "\n---\n" + body);
        var again = Planner.apply(stored, parse(pod("x", "a", "app: b", "")), NODES, SVC, 1);
        assertThat(again.newPods()).isEmpty();
        var p = again.writes().stream().filter(b -> b.path("kind").asString().equals("Pod")).findFirst().orElseThrow();
        assertThat(p.path("metadata").path("labels").path("app").asString()).isEqualTo("b");
        assertThat(p.path("spec").path("nodeName").asString()).isEqualTo("node1");
        assertThat(p.path("status").path("podIP").asString()).isEqualTo("10.0.0.5");
        assertThatThrownBy(() -> Planner.apply(stored, parse(pod("x", "a", "", "nodeName: node2")), NODES, SVC, 1))
                .isInstanceOf(BadInputException.class).hasMessageContaining("spec.nodeName: node2 (expected: node1");
        assertThatThrownBy(() -> Planner.apply(stored, parse(pod("x", "a", "", "").replace("containerPort: 80", "containerPort: 81")), NODES, SVC, 1))
                .isInstanceOf(BadInputException.class).hasMessageContaining("ports differ");
    }

    @Test void nodesAndUnknownNodeNamesAreRejected() {
        assertThatThrownBy(() -> Planner.apply(List.of(), parse("""
                apiVersion: v1
                kind: Node
                metadata: {name: node1}
                """), NODES, SVC, 0)).isInstanceOf(BadInputException.class).hasMessageContaining("the lab makes its own nodes");
        assertThatThrownBy(() -> Planner.apply(List.of(), parse(pod("x", "a", "", "nodeName: node7")), NODES, SVC, 0))
                .isInstanceOf(BadInputException.class).hasMessageContaining("spec.nodeName: node7 (expected one of: node1, node2)");
        assertThatThrownBy(() -> Planner.apply(List.of(), parse(pod("x", "a", "", "").replace("containerPort: 80", "containerPort: 99999")), NODES, SVC, 0))
                .isInstanceOf(ManifestException.class).hasMessageContaining("containerPort: 99999 (expected: 1-65535)");
    }

    @Test void deleteNeedsStoredObjectsAndCascadesNamespaces() {
        var plan = Planner.apply(List.of(), parse(pod("x", "a", "", "") + pod("x", "b", "", "") + pod("y", "c", "", "") + svc("x", "s", "")), NODES, SVC, 0);
        var stored = stored(plan);
        var del = Planner.delete(stored, parse("""
                apiVersion: v1
                kind: Namespace
                metadata: {name: x}
                """));
        assertThat(del.pods()).containsExactlyInAnyOrder("x/a", "x/b");
        assertThat(del.removals()).extracting(KubeObject::displayName)
                .containsExactlyInAnyOrder("Namespace x", "Pod x/a", "Pod x/b", "Service x/s");
        assertThat(Planner.delete(stored, parse(pod("y", "c", "", ""))).pods()).containsExactly("y/c");
        assertThatThrownBy(() -> Planner.delete(stored, parse(pod("y", "zz", "", ""))))
                .isInstanceOf(BadInputException.class).hasMessageContaining("Pod y/zz: not found in the lab");
    }

    @Test void labelsAreSetAndRemovedAsKubectlDoes() {
        var o = parse(pod("x", "a", "app: a, tier: web", "")).getFirst();
        var b = Planner.label(o, List.of("app=b", "tier-", "new=1"));
        assertThat(b.path("metadata").path("labels").toString()).isEqualTo("{\"app\":\"b\",\"new\":\"1\"}");
        assertThat(Planner.label(o, List.of("app-", "tier-")).path("metadata").has("labels")).isFalse();
        assertThatThrownBy(() -> Planner.label(o, List.of("app"))).isInstanceOf(BadInputException.class).hasMessageContaining("expected: KEY=VALUE");
        assertThatThrownBy(() -> Planner.label(o, List.of("a=b c"))).isInstanceOf(BadInputException.class).hasMessageContaining("invalid value");
        assertThatThrownBy(() -> Planner.label(o, List.of())).isInstanceOf(BadInputException.class);
    }

    /** A store that allocates (the API server): a new Service's plan reads no other Service; a requested address is still checked first. */
    @Test void aStoreThatAllocatesIsAskedForTheServicesOnlyToCheckARequestedAddress() {
        List<KubeObject> stored = stored(Planner.apply(List.of(), parse(svc("x", "s1", "10.96.0.10")), NODES, SVC, 0));
        int[] asked = {0};
        var allocating = new Planner.Stored() {
            final Planner.Stored all = Planner.Stored.of(stored);
            public java.util.Optional<KubeObject> get(String key) { return all.get(key); }
            public java.util.Set<String> namespaces() { return all.namespaces(); }
            public List<KubeObject> inNamespace(String ns) { return all.inNamespace(ns); }
            public List<KubeObject> services() {
                asked[0]++;
                return all.services();
            }
            @Override public boolean allocatesClusterIPs() { return true; }
        };
        var plan = Planner.apply(allocating, parse(svc("x", "s2", "")), NODES, SVC, 0);
        assertThat(plan.writes().getLast().path("spec").has("clusterIP")).isFalse();
        assertThat(plan.notes()).isEmpty();
        assertThat(asked[0]).isZero();
        assertThatThrownBy(() -> Planner.apply(allocating, parse(svc("x", "s3", "10.96.0.10")), NODES, SVC, 0))
                .isInstanceOf(ManifestException.class).hasMessageContaining("spec.clusterIP: 10.96.0.10 (already in use by Service x/s1)");
        assertThat(asked[0]).isEqualTo(1);
    }
}
