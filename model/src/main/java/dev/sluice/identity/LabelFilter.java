package dev.sluice.identity;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Which pod labels take part in identities. Labels that are unique per pod (a pod-template-hash,
 * a StatefulSet pod name) would give every pod its own identity and explode the identity count, so
 * they are left out. Policies can still select subjects by such labels (subject selection uses all
 * labels), but not peers: like Cilium, a peer selector sees only identity labels.
 *
 * <p>Configured by the values key {@code labels}: a list of key prefixes. A prefix starting with
 * {@code !} excludes keys with that prefix; if there are any other prefixes, only keys with one of
 * them are kept. The defaults below are always excluded.
 */
public record LabelFilter(List<String> include, List<String> exclude) {
    /** Pod-unique or per-rollout labels, excluded by default. */
    public static final List<String> DEFAULT_EXCLUDE = List.of(
            "pod-template-hash", "controller-revision-hash", "pod-template-generation",
            "statefulset.kubernetes.io/pod-name", "apps.kubernetes.io/pod-index",
            "batch.kubernetes.io/controller-uid", "batch.kubernetes.io/job-completion-index", "controller-uid");

    public static final LabelFilter DEFAULT = of(List.of());

    public LabelFilter {
        include = List.copyOf(include);
        exclude = List.copyOf(exclude);
    }

    /** From the values key {@code labels} ({@code Values.identityLabels()}). */
    public static LabelFilter of(List<String> prefixes) {
        List<String> inc = new ArrayList<>(), exc = new ArrayList<>(DEFAULT_EXCLUDE);
        for (String p : prefixes) {
            if (p.startsWith("!")) exc.add(p.substring(1));
            else if (!p.isEmpty()) inc.add(p);
        }
        return new LabelFilter(inc, exc);
    }

    public boolean keep(String key) {
        for (String e : exclude) if (key.startsWith(e)) return false;
        if (include.isEmpty()) return true;
        for (String i : include) if (key.startsWith(i)) return true;
        return false;
    }

    public Map<String, String> apply(Map<String, String> labels) {
        var out = new TreeMap<String, String>();
        labels.forEach((k, v) -> { if (keep(k)) out.put(k, v); });
        return out;
    }
}
