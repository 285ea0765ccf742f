package dev.sluice.agent.l2;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Leader election over {@link LeaseStore} leases, one per Service, with the semantics of
 * client-go's leader election: each candidate tries every retry period ({@link #tick}); it takes a
 * lease that does not exist, that nobody holds, or whose record has not changed for the lease
 * duration of its own clock (the holder stopped renewing), and counts the transition; the holder
 * renews (renewTime) and stays leader while it renews within the renew deadline. Times between
 * nodes are never compared: a candidate measures a holder's silence from when it saw the record
 * change, so clock skew between nodes does not shorten a lease.
 *
 * <p>{@link Status#leaderUntilNanos} is how long the leader may act without renewing again: the
 * start of its last successful write plus the lease duration, in {@link System#nanoTime()} time
 * (CLOCK_MONOTONIC, the data path's bpf_ktime_get_ns). No other candidate can take the lease before
 * then, since each waits a lease duration from a moment after that write.
 */
public final class LeaseElector {
    /** One lease as this candidate sees it after its last attempt. */
    public record Status(String lease, boolean leader, String holder, long leaderUntilNanos, int transitions, String error) {}

    private final LeaseStore store;
    private final String identity;
    private final Duration leaseDuration, renewDeadline;
    private final LongSupplier nanos;
    private final Supplier<Instant> wall;
    private final Map<String, Tracked> tracked = new HashMap<>();

    private static final class Tracked {
        LeaseStore.Lease observed;    // the record as last read or written, resourceVersion included
        long observedAt;              // nanos when `observed` (record or resourceVersion) last changed
        long renewedAt = Long.MIN_VALUE; // nanos at the start of our last successful write, when leader
        boolean leader;
        String error = "";
    }

    public LeaseElector(LeaseStore store, String identity, Duration leaseDuration, Duration renewDeadline, LongSupplier nanos,
                        Supplier<Instant> wall) {
        if (identity.isEmpty()) throw new IllegalArgumentException("identity: empty (expected: the node's name)");
        this.store = store;
        this.identity = identity;
        this.leaseDuration = leaseDuration;
        this.renewDeadline = renewDeadline;
        this.nanos = nanos;
        this.wall = wall;
    }

    public String identity() { return identity; }

    /** One try to acquire or renew {@code name}; never throws for the store's failures (they are in the status). */
    public synchronized Status tick(String name) {
        Tracked t = tracked.computeIfAbsent(name, k -> new Tracked());
        long start = nanos.getAsLong();
        try {
            attempt(name, t, start);
            t.error = "";
        } catch (LeaseStore.Conflict e) {
            // someone else wrote first: read again next time
            t.leader = t.leader && start - t.renewedAt < renewDeadline.toNanos() && holderIsMe(t);
            t.error = "";
        } catch (RuntimeException e) {
            t.error = String.valueOf(e.getMessage());
            // unreachable API: the leader stays leader until the renew deadline, then gives the lease up locally
            if (t.leader && start - t.renewedAt >= renewDeadline.toNanos()) t.leader = false;
        }
        return status(name, t);
    }

    private boolean holderIsMe(Tracked t) { return t.observed != null && t.observed.holder().equals(identity); }

    private void attempt(String name, Tracked t, long start) {
        Instant now = wall.get();
        var found = store.get(name);
        if (found.isEmpty()) {
            t.leader = false;
            var created = store.create(new LeaseStore.Lease(name, identity, seconds(), now, now, 0, ""));
            won(t, created, start);
            return;
        }
        LeaseStore.Lease l = found.get();
        // any write counts as a sign of life (resourceVersion), not only a renewTime that moved
        if (t.observed == null || !t.observed.equals(l)) t.observedAt = start;
        t.observed = l;
        boolean mine = l.holder().equals(identity);
        if (!mine) {
            t.leader = false;
            long silence = l.durationSeconds() > 0 ? Duration.ofSeconds(l.durationSeconds()).toNanos() : leaseDuration.toNanos();
            if (!l.holder().isEmpty() && start - t.observedAt < silence) return; // held, and renewed recently enough
        }
        var next = new LeaseStore.Lease(name, identity, seconds(), mine ? l.acquireTime() : now, now,
                mine ? l.transitions() : l.transitions() + 1, l.resourceVersion());
        won(t, store.update(next), start);
    }

    private void won(Tracked t, LeaseStore.Lease written, long start) {
        t.observed = written;
        t.observedAt = start;
        t.renewedAt = start;
        t.leader = true;
    }

    /**
     * Gives {@code name} up: when held here, the lease is written with no holder so another candidate
     * takes it at its next try instead of after the lease duration (client-go's release). Forgets it.
     */
    public synchronized void release(String name) {
        Tracked t = tracked.remove(name);
        if (t == null || !t.leader || t.observed == null) return;
        try {
            var l = t.observed;
            store.update(new LeaseStore.Lease(name, "", 1, l.acquireTime(), wall.get(), l.transitions(), l.resourceVersion()));
        } catch (RuntimeException e) {
            // it expires on its own
        }
    }

    /** Every lease tried, by name. */
    public synchronized Map<String, Status> statuses() {
        Map<String, Status> out = new TreeMap<>();
        tracked.forEach((k, t) -> out.put(k, status(k, t)));
        return out;
    }

    public synchronized List<String> leases() { return List.copyOf(new TreeMap<>(tracked).keySet()); }

    private Status status(String name, Tracked t) {
        return new Status(name, t.leader, t.observed == null ? "" : t.observed.holder(),
                t.leader ? t.renewedAt + leaseDuration.toNanos() : 0, t.observed == null ? 0 : t.observed.transitions(), t.error);
    }

    private int seconds() { return (int) Math.max(1, (leaseDuration.toMillis() + 999) / 1000); }
}
