package dev.sluice.lab.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.agent.source.KubernetesSource;
import dev.sluice.agent.store.ResourceStore;
import dev.sluice.k8s.Kinds;
import dev.sluice.net.Cidr;
import dev.sluice.agent.source.KubeApi;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.node.ObjectNode;

/**
 * The agent's production source (fabric8 informers) against the lab's API server, written to
 * through the lab's own client: every write reaches the agent's store, and the per-kind versions
 * the source reports cover the writes, which is what the lab waits on.
 */
class InformerTest {
    final LabApiServer server = new LabApiServer(Cidr.parse("10.96.0.0/16"));
    KubeApi client;
    KubernetesSource source;
    ApiClient lab;

    @AfterEach void stop() {
        if (source != null) source.close();
        if (client != null) client.close();
        if (lab != null) lab.close();
        server.close();
    }

    static void await(String what, BooleanSupplier cond) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 10_000;
        while (!cond.getAsBoolean()) {
            if (System.currentTimeMillis() > deadline) throw new AssertionError("not within 10 s: " + what);
            Thread.sleep(10);
        }
    }

    static ObjectNode obj(String json) { return (ObjectNode) ApiTypes.JSON.readTree(json); }

    @Test void informersFollowEveryWriteAndReportItsVersion() throws Exception {
        server.start(InetAddress.getLoopbackAddress(), 0);
        lab = new ApiClient(null, new InetSocketAddress(InetAddress.getLoopbackAddress(), server.port()));
        lab.ok("POST", "/api/v1/namespaces", obj("{\"metadata\":{\"name\":\"a\"}}"), null);
        lab.ok("POST", "/api/v1/nodes", obj("{\"metadata\":{\"name\":\"n1\"},\"spec\":{\"podCIDRs\":[\"10.0.0.0/24\"]}}"), null);
        client = KubeApi.of(java.net.URI.create("http://127.0.0.1:" + server.port()));
        var store = new ResourceStore();
        source = new KubernetesSource(client, store, new KubernetesSource.Config(Duration.ofMillis(200)));
        source.start();
        await("every kind listed", source::synced);
        assertThat(source.errors()).isEmpty();

        // the lab's client writes in parallel, as a large apply does
        var calls = new java.util.ArrayList<java.util.concurrent.Callable<Long>>();
        for (int i = 0; i < 200; i++) {
            int n = i;
            calls.add(() -> Long.parseLong(lab.ok("POST", "/api/v1/namespaces/a/services",
                    obj("{\"metadata\":{\"name\":\"s" + n + "\"},\"spec\":{\"selector\":{\"app\":\"x\"},\"ports\":[{\"port\":80}]}}"), null)
                    .path("metadata").path("resourceVersion").asString()));
        }
        long last = lab.parallel(calls, 8).stream().mapToLong(Long::longValue).max().orElseThrow();
        await("services up to " + last, () -> source.versions().getOrDefault(Kinds.SERVICE, 0L) >= last);
        assertThat(store.list(Kinds.SERVICE)).hasSize(200);
        assertThat(store.list(Kinds.SERVICE)).allSatisfy(s -> assertThat(s.body().json().path("spec").path("clusterIP").asString()).startsWith("10.96."));

        // a delete reports the deletion's version; a label change goes through a merge patch
        long del = Long.parseLong(lab.ok("DELETE", "/api/v1/namespaces/a/services/s0", null, null).path("metadata").path("resourceVersion").asString());
        long lbl = Long.parseLong(lab.ok("PATCH", "/api/v1/namespaces/a", obj("{\"metadata\":{\"labels\":{\"team\":\"x\"}}}"), Patches.MERGE)
                .path("metadata").path("resourceVersion").asString());
        await("the delete", () -> source.versions().getOrDefault(Kinds.SERVICE, 0L) >= del);
        await("the label", () -> source.versions().getOrDefault(Kinds.NAMESPACE, 0L) >= lbl);
        assertThat(store.list(Kinds.SERVICE)).hasSize(199);
        assertThat(store.list(Kinds.NAMESPACE).getFirst().labels()).containsEntry("team", "x");
        assertThat(server.store().watchCount()).isEqualTo(KubernetesSource.RESOURCES.size());
    }

    /**
     * A namespace's deletion finishes off the event loop (after its grace period), and its events
     * go to every watch from there: while a client keeps writing, the watches must not stall (they
     * once waited 30 s for an event loop that waited for the store).
     */
    @Test void aNamespaceDeletionStallsNoWatch() throws Exception {
        server.start(InetAddress.getLoopbackAddress(), 0);
        lab = new ApiClient(null, new InetSocketAddress(InetAddress.getLoopbackAddress(), server.port()));
        lab.ok("POST", "/api/v1/nodes", obj("{\"metadata\":{\"name\":\"n1\"},\"spec\":{\"podCIDRs\":[\"10.0.0.0/24\"]}}"), null);
        lab.ok("POST", "/api/v1/namespaces", obj("{\"metadata\":{\"name\":\"gone\"}}"), null);
        lab.ok("POST", "/api/v1/namespaces/gone/services", obj("{\"metadata\":{\"name\":\"s\"},\"spec\":{\"ports\":[{\"port\":80}]}}"), null);
        client = KubeApi.of(java.net.URI.create("http://127.0.0.1:" + server.port()));
        var store = new ResourceStore();
        source = new KubernetesSource(client, store, new KubernetesSource.Config(Duration.ofMillis(200)));
        source.start();
        await("every kind listed", source::synced);
        lab.ok("DELETE", "/api/v1/namespaces/gone", null, null);
        long t0 = System.nanoTime();
        long last = 0;
        // writes go on through the grace period and the finalization
        for (int i = 0; i < 40; i++) {
            last = Long.parseLong(lab.ok("POST", "/api/v1/namespaces", obj("{\"metadata\":{\"name\":\"n" + i + "\"}}"), null)
                    .path("metadata").path("resourceVersion").asString());
            Thread.sleep(50);
        }
        long want = last;
        await("the namespace and its Service gone from the store", () -> store.list(Kinds.NAMESPACE).stream().noneMatch(o -> o.name().equals("gone"))
                && store.list(Kinds.SERVICE).isEmpty());
        await("every write seen", () -> source.versions().getOrDefault(Kinds.NAMESPACE, 0L) >= want);
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(8));
    }
}
