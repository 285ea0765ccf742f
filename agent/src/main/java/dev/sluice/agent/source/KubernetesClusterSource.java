package dev.sluice.agent.source;

import dev.sluice.agent.store.ResourceStore;
import dev.sluice.k8s.Kinds;
import java.time.Duration;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Cluster state from the Kubernetes API, as the agent consumes it: installs the CRDs (reported, never
 * fatal: an agent without the RBAC to create them still runs), starts a {@link KubernetesSource},
 * waits for the built-in kinds to be listed, then feeds whole snapshots of the store through a
 * {@link SnapshotFeed}. Owns the client: closing stops the feed, then the watches, then the client.
 *
 * <p>Only Nodes must sync before {@link #first} returns (the agent needs its own Node); the other
 * built-in kinds are waited for within the same deadline, and the cilium.io kinds not at all (a CRD
 * may be missing; the source keeps retrying it and reports it in {@link #status}).
 */
public final class KubernetesClusterSource implements ClusterSource {
    private static final Logger log = LoggerFactory.getLogger(KubernetesClusterSource.class);

    private final KubeApi client;
    private final Duration syncTimeout;
    private final KubernetesSource source;
    private final SnapshotFeed feed;

    public KubernetesClusterSource(KubeApi client, KubernetesSource.Config config, Duration syncTimeout, Consumer<Snapshot> sink) {
        this.client = client;
        this.syncTimeout = syncTimeout;
        this.source = new KubernetesSource(client, new ResourceStore(), config);
        this.feed = new SnapshotFeed(source.store(), source::errors, source::versions, sink);
        source.onVersion(feed::poke);
    }

    @Override public Snapshot first() throws InterruptedException {
        try {
            var created = new CrdInstaller(client).install().stream().filter(CrdInstaller.Outcome::created).map(CrdInstaller.Outcome::crd).toList();
            if (!created.isEmpty()) log.info("created CRDs {}", created);
        } catch (RuntimeException e) {
            log.warn("CRDs not installed, reading whichever exist: {}", KubernetesSource.describe(e));
        }
        source.start();
        long deadline = System.nanoTime() + syncTimeout.toNanos();
        while (!builtInsSynced() && System.nanoTime() < deadline) Thread.sleep(50);
        if (!synced(Kinds.NODE))
            throw new IllegalStateException("kubernetes " + client.server() + ": Nodes not listed within " + syncTimeout + " ("
                    + String.join("; ", source.errors()) + "; expected: the API server reachable and RBAC list, watch on nodes)");
        if (!builtInsSynced()) log.warn("starting before every kind was listed: {}", source.errors());
        return feed.now();
    }

    /** The store's subscription first delivers what it holds, so the feed sends one snapshot at once: nothing since {@link #first} is missed. */
    @Override public void start() { feed.start(); }

    @Override public Status status() {
        return new Status("kubernetes", client.server().toString(), source.synced(), source.health());
    }

    private boolean builtInsSynced() {
        return KubernetesSource.RESOURCES.stream().filter(r -> !r.group().equals("cilium.io")).allMatch(r -> synced(r.kind()));
    }

    private boolean synced(String kind) {
        return source.health().stream().anyMatch(h -> h.kind().equals(kind) && h.synced());
    }

    @Override public void close() {
        try {
            feed.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        source.close();
        client.close();
    }
}
