package dev.sluice.agent.source;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;

/**
 * Where the agent's cluster state comes from: a manifest directory ({@link #manifests}) or the
 * Kubernetes API ({@link KubernetesClusterSource}). Both hand whole {@link Snapshot}s to one sink;
 * nothing after them knows which is in use.
 */
public interface ClusterSource extends AutoCloseable {
    /** The state as it is now, for the agent's first apply; blocks until the source has it (within its own deadline). */
    Snapshot first() throws IOException, InterruptedException;

    /** From now on every change reaches the sink in a later snapshot, including one made since {@link #first}. */
    void start() throws IOException;

    Status status();

    @Override void close();

    /**
     * How the source is doing, for {@code sluice status}.
     *
     * @param kind   {@code manifests} or {@code kubernetes}
     * @param from   the directory, or the API server's URL
     * @param synced the source has read the cluster state at least once (every kind, for the API)
     * @param kinds  per kind, for the API; empty for a directory
     */
    record Status(String kind, String from, boolean synced, List<KubernetesSource.KindHealth> kinds) {}

    /** The watched directory: the lab's source, and any folder of YAML. */
    static ClusterSource manifests(Path dir, Consumer<Snapshot> sink) {
        ManifestSource source = new ManifestSource(dir, sink);
        return new ClusterSource() {
            private volatile boolean read;

            @Override public Snapshot first() throws IOException {
                Snapshot s = source.read();
                read = true;
                return s;
            }

            @Override public void start() throws IOException { source.start(); }

            @Override public Status status() { return new Status("manifests", dir.toString(), read, List.of()); }

            @Override public void close() { source.close(); }
        };
    }
}
