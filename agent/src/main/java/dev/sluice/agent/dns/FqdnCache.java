package dev.sluice.agent.dns;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Predicate;

/**
 * What the DNS proxy learned: per endpoint, name -> addresses, each address with its own expiry =
 * learned at + max(TTL, {@code dnsProxy.minTtl}) + {@code dnsProxy.idleConnectionGracePeriod}. An
 * address learned again gets the later expiry. {@link #gc()} removes expired addresses, except those
 * a connection still uses ({@link InUse}, which the agent backs with conntrack): those stay until a
 * gc finds them unused. Pure (a clock is given); thread-safe.
 */
public final class FqdnCache {
    /** Whether {@code endpoint} still has a connection to {@code address} (conntrack). */
    @FunctionalInterface
    public interface InUse {
        boolean test(String endpoint, String address);

        InUse NEVER = (e, a) -> false;
    }

    /**
     * One learned address. {@code ttl} is the TTL the answer gave (seconds); {@code expires} when it
     * goes (unless in use); {@code source} who taught it ("dns-proxy", or "lookup" for names the
     * agent resolved itself).
     */
    public record Entry(String endpoint, String name, String address, int ttl, Instant learned, Instant expires, String source) {}

    private record Key(String endpoint, String name, String address) implements Comparable<Key> {
        private static final Comparator<Key> ORDER = Comparator.comparing(Key::endpoint).thenComparing(Key::name).thenComparing(Key::address);

        @Override public int compareTo(Key o) { return ORDER.compare(this, o); }
    }

    private final Clock clock;
    private final Duration minTtl;
    private final Duration grace;
    private final InUse inUse;
    private final TreeMap<Key, Entry> entries = new TreeMap<>();

    public FqdnCache(Clock clock, Duration minTtl, Duration grace, InUse inUse) {
        if (minTtl.isNegative()) throw new IllegalArgumentException("minTtl: " + minTtl + " (expected: >= 0)");
        if (grace.isNegative()) throw new IllegalArgumentException("grace: " + grace + " (expected: >= 0)");
        this.clock = clock;
        this.minTtl = minTtl;
        this.grace = grace;
        this.inUse = inUse;
    }

    public static FqdnCache of(dev.sluice.config.DnsValues v, InUse inUse) {
        return new FqdnCache(Clock.systemUTC(), v.minTtl(), v.idleConnectionGracePeriod(), inUse);
    }

    /** A name as the cache keys it: lower case with the trailing dot. */
    public static String canonical(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        return n.endsWith(".") ? n : n + ".";
    }

    /** Learns addresses of a name for an endpoint; returns the entries as they are now. */
    public synchronized List<Entry> learn(String endpoint, String name, List<String> addresses, int ttlSeconds, String source) {
        if (ttlSeconds < 0) throw new IllegalArgumentException("ttl: " + ttlSeconds + " (expected: >= 0)");
        Instant now = clock.instant();
        Duration keep = Duration.ofSeconds(ttlSeconds);
        if (keep.compareTo(minTtl) < 0) keep = minTtl;
        Instant expires = now.plus(keep).plus(grace);
        String n = canonical(name);
        List<Entry> out = new ArrayList<>();
        for (String a : new TreeSet<>(addresses)) {
            Key k = new Key(endpoint, n, a);
            Entry old = entries.get(k);
            Entry e = new Entry(endpoint, n, a, ttlSeconds, now, old != null && old.expires().isAfter(expires) ? old.expires() : expires, source);
            entries.put(k, e);
            out.add(e);
        }
        return out;
    }

    /** Removes what expired and no connection uses; returns what it removed. */
    public synchronized List<Entry> gc() {
        Instant now = clock.instant();
        List<Entry> removed = new ArrayList<>();
        var it = entries.values().iterator();
        while (it.hasNext()) {
            Entry e = it.next();
            if (e.expires().isAfter(now)) continue;
            if (inUse.test(e.endpoint(), e.address())) continue;
            it.remove();
            removed.add(e);
        }
        return removed;
    }

    /** Every entry, by endpoint, name, address ({@code sluice fqdn cache list}). */
    public synchronized List<Entry> list() { return List.copyOf(entries.values()); }

    /** The entries of names {@code match} accepts (a toFQDNs matchName or matchPattern), for any endpoint. */
    public synchronized List<Entry> matching(Predicate<String> match) {
        List<Entry> out = new ArrayList<>();
        for (Entry e : entries.values()) if (match.test(e.name())) out.add(e);
        return out;
    }

    /** The addresses of names {@code match} accepts, with the endpoints that learned them. */
    public synchronized Map<String, Set<String>> addresses(Predicate<String> match) {
        Map<String, Set<String>> out = new TreeMap<>();
        for (Entry e : entries.values()) if (match.test(e.name())) out.computeIfAbsent(e.address(), k -> new TreeSet<>()).add(e.endpoint());
        return out;
    }

    /** Forgets an endpoint (it was deleted); returns what went. */
    public synchronized List<Entry> forget(String endpoint) {
        List<Entry> removed = new ArrayList<>();
        var it = entries.values().iterator();
        while (it.hasNext()) {
            Entry e = it.next();
            if (e.endpoint().equals(endpoint)) {
                it.remove();
                removed.add(e);
            }
        }
        return removed;
    }

    public synchronized int size() { return entries.size(); }
}
