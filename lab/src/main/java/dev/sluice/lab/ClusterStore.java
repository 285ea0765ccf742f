package dev.sluice.lab;

import dev.sluice.k8s.KubeObject;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import tools.jackson.databind.JsonNode;

/**
 * Where a lab keeps its cluster state: the API server ({@link ApiClusterStore}, the default) or a
 * manifest directory the agents watch ({@link ManifestStore}, {@code lab up --api manifests}).
 */
public interface ClusterStore {
    /** What the agents must have programmed for the writes made so far to be in the kernel. */
    record Barrier(long generation, Map<String, Long> versions) {}

    List<KubeObject> all();

    default List<KubeObject> all(String kind) { return all().stream().filter(o -> o.kind().equals(kind)).toList(); }

    Optional<KubeObject> get(String kind, String namespace, String name);

    /** What a plan of {@code incoming} reads of this store (every object here; a store may read less). */
    default Planner.Stored stored(List<KubeObject> incoming) { return Planner.Stored.of(all()); }

    /** Creates or replaces an object (its kind and metadata say which), status included; returns it as stored. */
    JsonNode put(JsonNode body);

    /** {@link #put} for many; a store may write them in parallel, kinds in the order given. Returns them as stored, in that order. */
    default List<JsonNode> putAll(List<? extends JsonNode> bodies) { return bodies.stream().map(this::put).toList(); }

    void remove(String kind, String namespace, String name);

    /** Ends a change: what to wait for so that every write so far is programmed. */
    Barrier commit();

    /** How the agents are told where the state is: their command-line flags. */
    List<String> agentFlags();
}
