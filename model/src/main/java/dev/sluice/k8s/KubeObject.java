package dev.sluice.k8s;

import java.util.Map;

/**
 * One manifest object as read: where it came from, its type and identity, and its whole body for
 * the typed decoders ({@link Pod#decode}, {@link Namespace#decode}, the policy and service decoders).
 *
 * @param file      the file it was read from (as given), for error messages
 * @param apiVersion e.g. {@code v1}, {@code networking.k8s.io/v1}, {@code cilium.io/v2}
 * @param namespace the metadata.namespace, or "" for cluster-scoped kinds
 */
public record KubeObject(String file, String apiVersion, String kind, String namespace, String name,
                         Map<String, String> labels, Node body) {

    /** {@code Kind ns/name} or {@code Kind name}: how errors and logs name the object. */
    public String displayName() {
        return kind + " " + (namespace.isEmpty() ? name : namespace + "/" + name);
    }

    /** Identity of the object across files: kind, namespace and name. */
    public String key() {
        return kind + "/" + namespace + "/" + name;
    }
}
