package dev.sluice.agent.l2;

import java.time.Instant;
import java.util.Optional;

/**
 * Where leases live: coordination.k8s.io/v1 Leases in the API server ({@link KubeLeaseStore}), or
 * a map in tests. Writes are optimistic: an update names the resourceVersion it read, and loses
 * with {@link Conflict} when another write came first; a create loses when the lease exists.
 */
public interface LeaseStore {
    /**
     * One lease as {@code spec} holds it.
     *
     * @param holder           spec.holderIdentity, "" when nobody holds it (released)
     * @param durationSeconds  spec.leaseDurationSeconds
     * @param acquireTime      spec.acquireTime, when the current holder took it
     * @param renewTime        spec.renewTime, the holder's last renewal
     * @param transitions      spec.leaseTransitions: how many times the holder changed
     * @param resourceVersion  metadata.resourceVersion, for the next update ("" for a create)
     */
    record Lease(String name, String holder, int durationSeconds, Instant acquireTime, Instant renewTime, int transitions,
                 String resourceVersion) {}

    /** Another write came first (409). */
    final class Conflict extends RuntimeException {
        public Conflict(String message) { super(message); }
    }

    Optional<Lease> get(String name);

    Lease create(Lease lease);

    Lease update(Lease lease);
}
