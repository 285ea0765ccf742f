package dev.sluice.agent.source;

import dev.sluice.k8s.KubeObject;
import java.util.List;
import java.util.Map;

/**
 * The cluster state at one generation. {@code errors} lists objects that did not decode: they are
 * left out, and everything else is still programmed (a bad object never blocks the good ones).
 * {@code versions} is, per kind, the API's resourceVersion the snapshot holds every event up to
 * (empty for the manifest directory, whose writer counts generations instead): a writer that got
 * resourceVersion N for an object of kind K knows the object is programmed once a snapshot with
 * {@code versions[K] >= N} is.
 */
public record Snapshot(long generation, List<KubeObject> objects, List<String> errors, Map<String, Long> versions) {
    public Snapshot(long generation, List<KubeObject> objects, List<String> errors) { this(generation, objects, errors, Map.of()); }
}
