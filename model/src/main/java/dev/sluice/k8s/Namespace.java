package dev.sluice.k8s;

import java.util.Map;
import java.util.TreeMap;

/** A namespace and its labels; {@code kubernetes.io/metadata.name} is always set, as the API server does. */
public record Namespace(String name, Map<String, String> labels) {
    public static final String NAME_LABEL = "kubernetes.io/metadata.name";

    public Namespace {
        var l = new TreeMap<>(labels);
        l.put(NAME_LABEL, name);
        labels = Map.copyOf(l);
    }

    public static Namespace decode(KubeObject o) {
        o.body().allowOnly("apiVersion", "kind", "metadata", "spec", "status");
        o.body().get("metadata").allowOnly(Pod.METADATA_FIELDS);
        return new Namespace(o.name(), o.labels());
    }
}
