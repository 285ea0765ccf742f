package dev.sluice.identity;

import java.util.Collections;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The identity-relevant labels of an endpoint: its namespace, its namespace's labels and its pod
 * labels after the {@link LabelFilter}. Two endpoints with equal IdentityLabels share one identity.
 *
 * @param reserved  the reserved identity label (e.g. {@code host}) or "" for pod identities
 * @param flat      Cilium-style labels used by Cilium selectors: the pod labels plus
 *                  {@code io.kubernetes.pod.namespace}, {@code io.cilium.k8s.namespace.labels.<key>}
 *                  and {@code io.cilium.k8s.policy.cluster}; {@code reserved:<name>} for reserved ones
 * @param canonical a stable text form, the allocation key
 */
public record IdentityLabels(String namespace, SortedMap<String, String> podLabels,
                             SortedMap<String, String> namespaceLabels, String reserved,
                             Map<String, String> flat, String canonical) {
    public static final String NAMESPACE_KEY = "io.kubernetes.pod.namespace";
    public static final String NAMESPACE_LABELS_PREFIX = "io.cilium.k8s.namespace.labels.";
    public static final String CLUSTER_KEY = "io.cilium.k8s.policy.cluster";
    public static final String CLUSTER_NAME = "default";

    public static IdentityLabels pod(String namespace, Map<String, String> podLabels, Map<String, String> nsLabels) {
        var p = Collections.unmodifiableSortedMap(new TreeMap<>(podLabels));
        var n = Collections.unmodifiableSortedMap(new TreeMap<>(nsLabels));
        var flat = new TreeMap<String, String>(p);
        n.forEach((k, v) -> flat.put(NAMESPACE_LABELS_PREFIX + k, v));
        flat.put(NAMESPACE_KEY, namespace);
        flat.put(CLUSTER_KEY, CLUSTER_NAME);
        var sb = new StringBuilder("k8s:");
        flat.forEach((k, v) -> sb.append(k).append('=').append(v).append(';'));
        return new IdentityLabels(namespace, p, n, "", Collections.unmodifiableMap(flat), sb.toString());
    }

    static IdentityLabels reserved(String name) {
        return new IdentityLabels("", Collections.emptySortedMap(), Collections.emptySortedMap(), name,
                Map.of("reserved:" + name, ""), "reserved:" + name);
    }

    public boolean isReserved() { return !reserved.isEmpty(); }

    @Override public boolean equals(Object o) {
        return o instanceof IdentityLabels l && l.canonical.equals(canonical);
    }

    @Override public int hashCode() { return canonical.hashCode(); }

    @Override public String toString() { return canonical; }
}
