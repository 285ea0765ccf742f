package dev.sluice.policy;

import dev.sluice.k8s.KubeObject;
import java.util.List;

/**
 * A decoded policy object: its kind, namespace ("" for clusterwide), name, file and compiled rules.
 */
public record Policy(String kind, String namespace, String name, String file, List<Rule> rules) {
    public Policy {
        rules = List.copyOf(rules);
    }

    /** {@code Kind ns/name}, as errors and origins name it. */
    public String displayName() { return kind + " " + (namespace.isEmpty() ? name : namespace + "/" + name); }

    /** Identity across updates: kind, namespace, name. */
    public String key() { return kind + "/" + namespace + "/" + name; }

    static String displayName(KubeObject o) { return o.displayName(); }
}
