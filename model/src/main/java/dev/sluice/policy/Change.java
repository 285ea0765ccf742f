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
    /**
     * The agent's FQDN cache now holds these IPv4 addresses for a toFQDNs selector (all of them, not
     * a difference; empty when none is left). Only endpoints whose egress rules name the selector
     * are recomputed.
     */
    record FqdnAddresses(FqdnSelector selector, java.util.Set<Integer> addresses) implements Change {
        public FqdnAddresses {
            addresses = java.util.Set.copyOf(addresses);
        }
    }
}
