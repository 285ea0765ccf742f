package dev.sluice.agent.l2;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.agent.source.KubeApi;
import dev.sluice.agent.source.MockApi;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

/**
 * Leader election semantics (client-go's): acquire, renew, expiry measured on the candidate's own
 * clock, transitions, release, the renew deadline, conflicts; against an in-memory store with
 * resourceVersions, and once over HTTP against fabric8's mock API server.
 */
class LeaseElectorTest {
    static final Duration LEASE = Duration.ofSeconds(15), RENEW = Duration.ofSeconds(5);
    static final String L = "cilium-l2announce-svc-web";

    /** The API's optimistic concurrency, in memory; {@code down} makes every call fail as an unreachable server. */
    static final class MemStore implements LeaseStore {
        final Map<String, Lease> leases = new HashMap<>();
        long rv;
        boolean down;

        void check() { if (down) throw new IllegalStateException("connection refused"); }

        @Override public synchronized Optional<Lease> get(String name) { check(); return Optional.ofNullable(leases.get(name)); }

        @Override public synchronized Lease create(Lease l) {
            check();
            if (leases.containsKey(l.name())) throw new Conflict("exists");
            Lease w = withRv(l);
            leases.put(l.name(), w);
            return w;
        }

        @Override public synchronized Lease update(Lease l) {
            check();
            Lease have = leases.get(l.name());
            if (have == null || !have.resourceVersion().equals(l.resourceVersion())) throw new Conflict("conflict");
            Lease w = withRv(l);
            leases.put(l.name(), w);
            return w;
        }

        private Lease withRv(Lease l) {
            return new Lease(l.name(), l.holder(), l.durationSeconds(), l.acquireTime(), l.renewTime(), l.transitions(), Long.toString(++rv));
        }
    }

    final AtomicLong clock = new AtomicLong(1_000_000_000L);
    final MemStore store = new MemStore();

    LeaseElector node(String name, LeaseStore s) {
        return new LeaseElector(s, name, LEASE, RENEW, clock::get, () -> Instant.ofEpochSecond(1_700_000_000L).plusNanos(clock.get()));
    }

    void advance(Duration d) { clock.addAndGet(d.toNanos()); }

    @Test
    void theFirstCandidateCreatesTheLeaseAndRenewsItOthersStandBy() {
        var a = node("node1", store);
        var b = node("node2", store);
        var sa = a.tick(L);
        assertThat(sa.leader()).isTrue();
        assertThat(sa.leaderUntilNanos()).isEqualTo(clock.get() + LEASE.toNanos());
        var l = store.leases.get(L);
        assertThat(l.holder()).isEqualTo("node1");
        assertThat(l.durationSeconds()).isEqualTo(15);
        assertThat(l.transitions()).isZero();
        assertThat(l.acquireTime()).isEqualTo(l.renewTime());
        var sb = b.tick(L);
        assertThat(sb.leader()).isFalse();
        assertThat(sb.holder()).isEqualTo("node1");
        advance(Duration.ofSeconds(2));
        var renewed = a.tick(L);
        assertThat(renewed.leader()).isTrue();
        assertThat(renewed.leaderUntilNanos()).isEqualTo(clock.get() + LEASE.toNanos());
        assertThat(store.leases.get(L).renewTime()).isAfter(l.renewTime());
        assertThat(store.leases.get(L).acquireTime()).isEqualTo(l.acquireTime());
        // renewals keep node2 out indefinitely
        for (int i = 0; i < 20; i++) {
            advance(Duration.ofSeconds(2));
            assertThat(a.tick(L).leader()).isTrue();
            assertThat(b.tick(L).leader()).isFalse();
        }
        assertThat(store.leases.get(L).transitions()).isZero();
    }

    @Test
    void aHolderThatStopsRenewingIsReplacedOnceTheLeaseDurationPassedOnTheCandidatesClock() {
        var a = node("node1", store);
        var b = node("node2", store);
        a.tick(L);
        long lastRenewal = clock.get();
        long until = a.statuses().get(L).leaderUntilNanos();
        // node1 dies: node2 keeps trying every 2 s
        long takenAt = -1;
        for (int i = 0; i < 20 && takenAt < 0; i++) {
            advance(Duration.ofSeconds(2));
            if (b.tick(L).leader()) takenAt = clock.get();
        }
        assertThat(takenAt).as("taken over").isPositive();
        assertThat(takenAt).as("never before the old holder's lease ran out").isGreaterThanOrEqualTo(until);
        // seen at most one retry period after the renewal, taken at most one retry period after it expired
        assertThat(takenAt - lastRenewal).as("within the lease duration plus two retry periods").isLessThanOrEqualTo(LEASE.plusSeconds(4).toNanos());
        var l = store.leases.get(L);
        assertThat(l.holder()).isEqualTo("node2");
        assertThat(l.transitions()).isEqualTo(1);
        // the old holder comes back: it sees node2's lease and stands by
        assertThat(a.tick(L).leader()).isFalse();
        assertThat(a.tick(L).holder()).isEqualTo("node2");
    }

    @Test
    void aCandidateStartedLateWaitsAWholeLeaseDurationEvenIfTheRenewTimeLooksOld() {
        // the holder's clock is far behind: its renewTime looks an hour old, yet it renews
        var a = new LeaseElector(store, "node1", LEASE, RENEW, clock::get, () -> Instant.ofEpochSecond(1_600_000_000L).plusNanos(clock.get()));
        var b = node("node2", store);
        a.tick(L);
        for (int i = 0; i < 30; i++) {
            advance(Duration.ofSeconds(2));
            assertThat(a.tick(L).leader()).isTrue();
            assertThat(b.tick(L).leader()).as("round %d", i).isFalse();
        }
    }

    @Test
    void aReleasedLeaseIsTakenAtTheNextTry() {
        var a = node("node1", store);
        var b = node("node2", store);
        a.tick(L);
        assertThat(b.tick(L).leader()).isFalse();
        a.release(L);
        assertThat(store.leases.get(L).holder()).isEmpty();
        assertThat(a.statuses()).doesNotContainKey(L);
        assertThat(b.tick(L).leader()).isTrue();
        assertThat(store.leases.get(L).transitions()).isEqualTo(1);
    }

    @Test
    void aLeaderThatCannotReachTheApiGivesUpAtTheRenewDeadline() {
        var a = node("node1", store);
        assertThat(a.tick(L).leader()).isTrue();
        store.down = true;
        advance(Duration.ofSeconds(2));
        var s = a.tick(L);
        assertThat(s.leader()).as("within the renew deadline").isTrue();
        assertThat(s.error()).contains("connection refused");
        advance(Duration.ofSeconds(3));
        assertThat(a.tick(L).leader()).as("at the renew deadline").isFalse();
        store.down = false;
        advance(Duration.ofSeconds(2));
        assertThat(a.tick(L).leader()).as("its own lease, renewed when the API is back").isTrue();
    }

    @Test
    void twoCandidatesRacingForANewLeaseElectExactlyOne() {
        // node2 reads "not found" between node1's read and create: its create conflicts
        LeaseStore racing = new LeaseStore() {
            public Optional<Lease> get(String name) { return Optional.empty(); }
            public Lease create(Lease l) { return store.create(l); }
            public Lease update(Lease l) { return store.update(l); }
        };
        var a = node("node1", racing);
        var b = node("node2", racing);
        assertThat(a.tick(L).leader()).isTrue();
        assertThat(b.tick(L).leader()).isFalse();
    }

    /** Many candidates, random order and random deaths: never two leaders whose leadership overlaps in time. */
    @RepeatedTest(20)
    void neverTwoLeadersAtOnce() {
        long seed = System.nanoTime();
        System.out.println("LeaseElectorTest.neverTwoLeadersAtOnce seed " + seed);
        var rnd = new SplittableRandom(seed);
        int n = 2 + rnd.nextInt(4);
        LeaseElector[] nodes = new LeaseElector[n];
        boolean[] alive = new boolean[n];
        long[] until = new long[n];
        for (int i = 0; i < n; i++) {
            nodes[i] = node("node" + i, store);
            alive[i] = true;
        }
        int transitions = 0;
        String lastHolder = "";
        for (int round = 0; round < 300; round++) {
            advance(Duration.ofMillis(100 + rnd.nextInt(2000)));
            if (rnd.nextInt(40) == 0) alive[rnd.nextInt(n)] ^= true;
            int i = rnd.nextInt(n);
            if (!alive[i]) continue;
            var s = nodes[i].tick(L);
            if (s.leader()) {
                for (int j = 0; j < n; j++)
                    if (j != i) assertThat(until[j]).as("seed %d round %d: node%d leads while node%d's lease runs", seed, round, i, j).isLessThanOrEqualTo(clock.get());
                until[i] = s.leaderUntilNanos();
                if (!lastHolder.equals("node" + i) && !lastHolder.isEmpty()) transitions++;
                lastHolder = "node" + i;
            }
        }
        if (store.leases.containsKey(L)) assertThat(store.leases.get(L).transitions()).as("seed %d", seed).isEqualTo(transitions);
    }

    @Test
    void leasesOverHttpAgainstFabric8sMockApiServer() {
        try (MockApi mock = new MockApi(); KubeApi api = KubeApi.of(URI.create(mock.url()))) {
            var s1 = new KubeLeaseStore(api, "kube-system");
            var a = node("node1", s1);
            var b = node("node2", new KubeLeaseStore(api, "kube-system"));
            assertThat(a.tick(L).leader()).isTrue();
            var l = s1.get(L).orElseThrow();
            assertThat(l.holder()).isEqualTo("node1");
            assertThat(l.durationSeconds()).isEqualTo(15);
            assertThat(l.renewTime()).isNotNull();
            var raw = api.get("/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/" + L);
            assertThat(raw.path("spec").path("renewTime").asString()).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{6}Z");
            assertThat(b.tick(L).leader()).isFalse();
            advance(Duration.ofSeconds(2));
            assertThat(a.tick(L).leader()).isTrue();
            assertThat(b.tick(L).leader()).as("node2 sees the renewal").isFalse();
            advance(Duration.ofSeconds(14));
            assertThat(b.tick(L).leader()).as("14 s of silence").isFalse();
            advance(Duration.ofSeconds(2));
            assertThat(b.tick(L).leader()).as("node1's record unchanged since node2 last saw it, 16 s ago").isTrue();
            assertThat(s1.get(L).orElseThrow().holder()).isEqualTo("node2");
            assertThat(s1.get(L).orElseThrow().transitions()).isEqualTo(1);
        }
    }
}
