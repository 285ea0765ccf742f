package dev.sluice.policy;

import dev.sluice.k8s.Namespace;
import dev.sluice.k8s.Pod;

/** One input change for {@link PolicyEngine#apply}. */
public sealed interface Change {
    record PodUpsert(Pod pod) implements Change {}
    record PodDelete(String key) implements Change {}
    record NamespaceUpsert(Namespace namespace) implements Change {}
    /** Its pods stay (they would be deleted too in a cluster); the namespace falls back to no labels. */
    record NamespaceDelete(String name) implements Change {}
    record PolicyUpsert(Policy policy) implements Change {}
    record PolicyDelete(String key) implements Change {}
}
