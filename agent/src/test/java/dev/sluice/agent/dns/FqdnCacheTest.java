package dev.sluice.agent.dns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class FqdnCacheTest {
    /** A clock the test moves. */
    static final class FakeClock extends Clock {
        Instant now = Instant.parse("2026-01-01T00:00:00Z");

        @Override public ZoneOffset getZone() { return ZoneOffset.UTC; }
        @Override public Clock withZone(java.time.ZoneId zone) { return this; }
        @Override public Instant instant() { return now; }

        void advance(Duration d) { now = now.plus(d); }
    }

    @Test void anAddressExpiresWithItsTtlPlusTheGrace() {
        var clock = new FakeClock();
        var c = new FqdnCache(clock, Duration.ZERO, Duration.ofSeconds(5), FqdnCache.InUse.NEVER);
        var e = c.learn("x/a", "API.example.com", List.of("192.0.2.1", "192.0.2.2"), 30, "dns-proxy");
        assertThat(e).extracting(FqdnCache.Entry::name).containsOnly("api.example.com.");
        assertThat(e.getFirst().expires()).isEqualTo(clock.now.plusSeconds(35));
        clock.advance(Duration.ofSeconds(34));
        assertThat(c.gc()).isEmpty();
        clock.advance(Duration.ofSeconds(1));
        assertThat(c.gc()).extracting(FqdnCache.Entry::address).containsExactly("192.0.2.1", "192.0.2.2");
        assertThat(c.list()).isEmpty();
    }

    @Test void minTtlRaisesAShortTtlButNotALongOne() {
        var clock = new FakeClock();
        var c = new FqdnCache(clock, Duration.ofSeconds(60), Duration.ZERO, FqdnCache.InUse.NEVER);
        c.learn("x/a", "short.example.", List.of("192.0.2.1"), 1, "dns-proxy");
        c.learn("x/a", "long.example.", List.of("192.0.2.2"), 300, "dns-proxy");
        clock.advance(Duration.ofSeconds(59));
        assertThat(c.gc()).isEmpty();
        clock.advance(Duration.ofSeconds(1));
        assertThat(c.gc()).extracting(FqdnCache.Entry::name).containsExactly("short.example.");
        assertThat(c.list()).extracting(FqdnCache.Entry::ttl).containsExactly(300);
    }

    @Test void anAddressAConnectionUsesIsKeptPastItsExpiry() {
        var clock = new FakeClock();
        Set<String> used = new HashSet<>(Set.of("x/a 192.0.2.1"));
        var c = new FqdnCache(clock, Duration.ZERO, Duration.ZERO, (ep, a) -> used.contains(ep + " " + a));
        c.learn("x/a", "db.example.", List.of("192.0.2.1", "192.0.2.2"), 10, "dns-proxy");
        c.learn("x/b", "db.example.", List.of("192.0.2.1"), 10, "dns-proxy");
        clock.advance(Duration.ofSeconds(11));
        // x/b's entry of the same address goes: the connection is x/a's
        assertThat(c.gc()).extracting(e -> e.endpoint() + " " + e.address()).containsExactlyInAnyOrder("x/a 192.0.2.2", "x/b 192.0.2.1");
        assertThat(c.list()).extracting(FqdnCache.Entry::address).containsExactly("192.0.2.1");
        used.clear();
        assertThat(c.gc()).extracting(FqdnCache.Entry::address).containsExactly("192.0.2.1");
    }

    @Test void learningAgainExtendsButNeverShortens() {
        var clock = new FakeClock();
        var c = new FqdnCache(clock, Duration.ZERO, Duration.ZERO, FqdnCache.InUse.NEVER);
        c.learn("x/a", "w.example.", List.of("192.0.2.1"), 100, "dns-proxy");
        clock.advance(Duration.ofSeconds(10));
        c.learn("x/a", "w.example.", List.of("192.0.2.1"), 5, "dns-proxy"); // a shorter TTL later: the earlier expiry stays
        clock.advance(Duration.ofSeconds(80));
        assertThat(c.gc()).isEmpty();
        clock.advance(Duration.ofSeconds(10));
        assertThat(c.gc()).hasSize(1);
    }

    @Test void matchingAndAddressesSeeEveryEndpoint() {
        var c = new FqdnCache(new FakeClock(), Duration.ZERO, Duration.ZERO, FqdnCache.InUse.NEVER);
        c.learn("x/a", "a.example.", List.of("192.0.2.1"), 10, "dns-proxy");
        c.learn("x/b", "a.example.", List.of("192.0.2.1"), 10, "dns-proxy");
        c.learn("x/b", "b.example.", List.of("192.0.2.2"), 10, "dns-proxy");
        assertThat(c.addresses(n -> n.equals("a.example."))).isEqualTo(Map.of("192.0.2.1", Set.of("x/a", "x/b")));
        assertThat(c.matching(n -> n.endsWith(".example."))).hasSize(3);
        assertThat(c.forget("x/b")).hasSize(2);
        assertThat(c.size()).isEqualTo(1);
    }

    @Test void badArgumentsAreNamed() {
        assertThatThrownBy(() -> new FqdnCache(new FakeClock(), Duration.ofSeconds(-1), Duration.ZERO, FqdnCache.InUse.NEVER))
                .hasMessage("minTtl: PT-1S (expected: >= 0)");
        var c = new FqdnCache(new FakeClock(), Duration.ZERO, Duration.ZERO, FqdnCache.InUse.NEVER);
        assertThatThrownBy(() -> c.learn("x/a", "a.", List.of("192.0.2.1"), -5, "dns-proxy")).hasMessage("ttl: -5 (expected: >= 0)");
    }

    /** Random learns, clock moves and gcs against a model: an address is there exactly until max(ttl, min)+grace after its latest-expiring learn. */
    @ParameterizedTest @ValueSource(longs = {1, 2, 3, 42, 20260101})
    void againstAModel(long seed) {
        System.out.println("FqdnCacheTest.againstAModel seed " + seed);
        var rnd = new SplittableRandom(seed);
        var clock = new FakeClock();
        Duration min = Duration.ofSeconds(rnd.nextInt(0, 20)), grace = Duration.ofSeconds(rnd.nextInt(0, 10));
        Set<String> used = new HashSet<>();
        var c = new FqdnCache(clock, min, grace, (ep, a) -> used.contains(ep + " " + a));
        Map<String, Instant> model = new HashMap<>();
        for (int step = 0; step < 2000; step++) {
            int op = rnd.nextInt(10);
            String ep = "x/p" + rnd.nextInt(3), name = "n" + rnd.nextInt(4) + ".example.", addr = "192.0.2." + rnd.nextInt(5);
            if (op < 4) {
                int ttl = rnd.nextInt(0, 40);
                c.learn(ep, name, List.of(addr), ttl, "dns-proxy");
                Instant exp = clock.now.plus(Duration.ofSeconds(Math.max(ttl, min.toSeconds()))).plus(grace);
                model.merge(ep + " " + name + " " + addr, exp, (x, y) -> x.isAfter(y) ? x : y);
            } else if (op < 7) {
                clock.advance(Duration.ofSeconds(rnd.nextInt(0, 15)));
            } else if (op < 8) {
                String k = ep + " " + addr;
                if (!used.remove(k)) used.add(k);
            } else {
                var removed = c.gc();
                for (var e : removed) {
                    String k = e.endpoint() + " " + e.name() + " " + e.address();
                    assertThat(model.get(k)).as("seed %d: removed %s", seed, k).isNotNull();
                    assertThat(model.get(k).isAfter(clock.now)).as("seed %d: %s removed before its expiry", seed, k).isFalse();
                    assertThat(used).as("seed %d: %s removed while in use", seed, k).doesNotContain(e.endpoint() + " " + e.address());
                    model.remove(k);
                }
                for (var m : model.entrySet()) {
                    String[] p = m.getKey().split(" ");
                    boolean shouldGo = !m.getValue().isAfter(clock.now) && !used.contains(p[0] + " " + p[2]);
                    assertThat(shouldGo).as("seed %d: %s kept after its expiry, unused", seed, m.getKey()).isFalse();
                }
            }
        }
        assertThat(c.size()).isEqualTo(model.size());
    }
}
