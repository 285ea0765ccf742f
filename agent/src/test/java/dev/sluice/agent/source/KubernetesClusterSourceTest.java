package dev.sluice.agent.source;

import static dev.sluice.agent.source.KubernetesSourceTest.DEADLINE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.k8s.KubeObject;
import dev.sluice.k8s.Kinds;
import java.time.Duration;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The agent's Kubernetes path (CRDs, informers, first snapshot, then the feed) against the mock API. Every wait has a deadline. */
class KubernetesClusterSourceTest {
    static final String NODE = "{apiVersion: v1, kind: Node, metadata: {name: n1}, spec: {podCIDRs: [10.1.0.0/24]},"
            + " status: {addresses: [{type: InternalIP, address: 192.168.0.1}]}}";
    static final String POLICY = "{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: deny, namespace: x},"
            + " spec: {podSelector: {}, policyTypes: [Ingress]}}";

    final KubernetesSourceTest api = new KubernetesSourceTest();
    final LinkedBlockingQueue<Snapshot> got = new LinkedBlockingQueue<>();
    KubernetesClusterSource source;

    KubernetesClusterSourceTest() throws Exception {}

    @AfterEach void stop() {
        if (source != null) source.close();
        api.stop();
    }

    KubernetesClusterSource source(Duration syncTimeout) {
        return new KubernetesClusterSource(api.api.kubeApi(), KubernetesSourceTest.FAST, syncTimeout, got::add);
    }

    static String labelOf(Snapshot s, String kind, String name, String label) {
        return s.objects().stream().filter(o -> o.kind().equals(kind) && o.name().equals(name)).findFirst()
                .map(o -> o.labels().getOrDefault(label, "")).orElse("(absent)");
    }

    @Test void firstSnapshotHoldsTheClusterThenChangesFollow() throws Exception {
        api.create(NODE);
        api.create(KubernetesSourceTest.NAMESPACE_X);
        api.create(KubernetesSourceTest.pod("x", "a", "web"));
        api.create(POLICY);
        source = source(DEADLINE);

        Snapshot first = source.first();
        assertThat(first.objects()).extracting(KubeObject::displayName).contains("Node n1", "Namespace x", "Pod x/a", "NetworkPolicy x/deny");
        assertThat(source.status().kind()).isEqualTo("kubernetes");
        assertThat(source.status().kinds()).filteredOn(h -> h.kind().equals(Kinds.NODE)).singleElement()
                .satisfies(h -> assertThat(h.synced()).isTrue());
        assertThat(api.client.apiextensions().v1().customResourceDefinitions().list().getItems()).as("CRDs installed")
                .hasSize(CrdInstaller.FILES.size());

        source.start();
        api.update(KubernetesSourceTest.pod("x", "a", "db"));
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        Snapshot s = null;
        while (s == null || !labelOf(s, Kinds.POD, "a", "app").equals("db")) {
            long left = deadline - System.nanoTime();
            assertThat(left).as("the label change within " + DEADLINE).isPositive();
            s = got.poll(left, TimeUnit.NANOSECONDS);
        }
        assertThat(s.generation()).isGreaterThan(first.generation());
        KubernetesSourceTest.await("every kind synced", () -> source.status().synced());
    }

    @Test void anUnreachableApiFailsWithinTheDeadlineNamingNodes() {
        source = new KubernetesClusterSource(KubeApi.of(java.net.URI.create("http://127.0.0.1:1")), KubernetesSourceTest.FAST, Duration.ofMillis(500), got::add);
        long t0 = System.nanoTime();
        assertThatThrownBy(source::first).isInstanceOf(IllegalStateException.class).hasMessageContaining("Nodes not listed within PT0.5S");
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(DEADLINE);
    }
}
