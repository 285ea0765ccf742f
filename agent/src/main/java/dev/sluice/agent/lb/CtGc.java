package dev.sluice.agent.lb;

import dev.sluice.bpf.TypedMap;
import dev.sluice.datapath.maps.CtEntry;
import dev.sluice.datapath.maps.CtKey;
import dev.sluice.datapath.maps.LbAffinityKey;
import dev.sluice.datapath.maps.LbAffinityValue;
import dev.sluice.datapath.maps.LbMaps;
import dev.sluice.datapath.maps.NatEntry;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiPredicate;
import java.util.function.IntUnaryOperator;
import java.util.function.LongSupplier;

/**
 * Conntrack garbage collection: the data path only refreshes lifetimes, never removes; this sweep
 * removes expired conntrack, NAT and affinity entries, and subtracts what it removed from the CT
 * fill counters (sl_ct_fill) at which the data path refuses new flows (DROP_CT_FULL). The same
 * walk forgets a deleted pod's address ({@link #forget}).
 *
 * <p>Lifetimes are in bpf_ktime_get_ns(), CLOCK_MONOTONIC, the clock of {@link System#nanoTime}
 * on Linux, so "expired" is {@code lifetime <= nanoTime()}. The fill counter is corrected with a
 * read-modify-write that can race with the data path's atomic increments: at worst a few inserts
 * go uncounted until the next sweep, so the refusal threshold is approximate by that much.
 */
public final class CtGc {
    private final LbMaps maps;
    private final LongSupplier clock;
    /** Affinity timeout in seconds per frontend id (0 = unknown: the longest allowed, 86400). */
    private final IntUnaryOperator affinityTimeout;
    private final AtomicLong runs = new AtomicLong(), removedTotal = new AtomicLong();
    private volatile Stats last = new Stats(0, 0, 0, 0, 0, 0, 0);

    /** One sweep: entries alive after it and removed by it, per map, and how long it took. */
    public record Stats(int ctTcp, int ctAny, int snat, int removedCt, int removedNat, int removedAffinity, long micros) {}

    public CtGc(LbMaps maps, LongSupplier clock, IntUnaryOperator affinityTimeout) {
        this.maps = maps;
        this.clock = clock;
        this.affinityTimeout = affinityTimeout;
    }

    public CtGc(LbMaps maps, IntUnaryOperator affinityTimeout) { this(maps, System::nanoTime, affinityTimeout); }

    public synchronized Stats sweep() {
        long t0 = System.nanoTime();
        long now = clock.getAsLong();
        Stats s = remove((k, e) -> e.lifetime() <= now, (k, n) -> n.lifetime() <= now, (k, a) -> {
            int t = affinityTimeout.applyAsInt(k.id());
            long ttl = (t <= 0 ? 86400L : t) * 1_000_000_000L;
            return now - a.lastUsed() > ttl;
        });
        runs.incrementAndGet();
        removedTotal.addAndGet(s.removedCt() + s.removedNat() + s.removedAffinity());
        last = new Stats(s.ctTcp(), s.ctAny(), s.snat(), s.removedCt(), s.removedNat(), s.removedAffinity(), (System.nanoTime() - t0) / 1000);
        return last;
    }

    /**
     * CNI DEL: removes every conntrack and NAT entry with the address on either side of its tuple or
     * as its translation (a service entry's backend, a NAT entry's target), and every affinity of it
     * as a client or to a backend at it, so a pod that gets the address later is handed nothing
     * (replies, established service flows) that was meant for the deleted one.
     */
    public Stats forget(int addr) { return forget(Set.of(addr)); }

    /**
     * {@link #forget(int)} for several addresses in one walk: also what a node does when pods of
     * other nodes are gone (their /32 left the ipcache), so the flows its own pods had with them
     * cannot be inherited by the next pod at that address either.
     */
    public synchronized Stats forget(Set<Integer> addrs) {
        Set<Integer> backends = new HashSet<>();
        maps.backends().all().forEach((id, b) -> { if (addrs.contains(b.address())) backends.add(id); });
        return remove((k, e) -> involves(k, addrs) || addrs.contains(e.natAddr()), (k, n) -> involves(k, addrs) || addrs.contains(n.toAddr()),
                (k, a) -> addrs.contains(k.client()) || backends.contains(a.backendId()));
    }

    /**
     * Whether a live conntrack entry holds a flow between {@code src} and {@code dst} (either map,
     * either direction of the tuple): the FQDN cache keeps a learned address while a pod's connection
     * uses it. A closed TCP flow counts until its entry's short close timeout has run out.
     */
    public boolean hasFlow(int src, int dst) {
        long now = clock.getAsLong();
        for (var map : List.of(maps.ctTcp(), maps.ctAny()))
            for (var e : map.all().entrySet()) {
                CtKey k = e.getKey();
                if (((k.saddr() == src && k.daddr() == dst) || (k.saddr() == dst && k.daddr() == src)) && e.getValue().lifetime() > now) return true;
            }
        return false;
    }

    private static boolean involves(CtKey k, Set<Integer> addrs) { return addrs.contains(k.saddr()) || addrs.contains(k.daddr()); }

    /** One walk over the maps removing what the predicates select; micros is left 0. */
    private Stats remove(BiPredicate<CtKey, CtEntry> ct, BiPredicate<CtKey, NatEntry> nat, BiPredicate<LbAffinityKey, LbAffinityValue> affinity) {
        int[] tcp = removeCt(maps.ctTcp(), ct, 0);
        int[] any = removeCt(maps.ctAny(), ct, 1);
        int natAlive = 0, natRemoved = 0;
        TypedMap<CtKey, NatEntry> snat = maps.snat();
        for (var e : snat.all().entrySet()) {
            if (nat.test(e.getKey(), e.getValue()) && snat.remove(e.getKey())) natRemoved++;
            else natAlive++;
        }
        int affRemoved = 0;
        TypedMap<LbAffinityKey, LbAffinityValue> aff = maps.affinity();
        for (var e : aff.all().entrySet()) if (affinity.test(e.getKey(), e.getValue()) && aff.remove(e.getKey())) affRemoved++;
        return new Stats(tcp[0], any[0], natAlive, tcp[1] + any[1], natRemoved, affRemoved, 0);
    }

    private int[] removeCt(TypedMap<CtKey, CtEntry> map, BiPredicate<CtKey, CtEntry> selected, int fillIndex) {
        int alive = 0, removed = 0;
        for (var e : map.all().entrySet()) {
            if (selected.test(e.getKey(), e.getValue()) && map.remove(e.getKey())) removed++;
            else alive++;
        }
        if (removed > 0) {
            TypedMap<Integer, Long> fill = maps.ctFill();
            long v = fill.get(fillIndex).orElse(0L);
            fill.put(fillIndex, Math.max(alive, v - removed));
        }
        return new int[] {alive, removed};
    }

    /** GC counters: sweeps, entries removed in all, what the last sweep saw and removed, and how long it took. */
    public record StatusView(long runs, long removedTotal, long ctTcp, long ctAny, long snat, long lastRemovedCt, long lastRemovedNat,
                             long lastRemovedAffinity, long lastMicros) {}

    public StatusView status() {
        Stats s = last;
        return new StatusView(runs.get(), removedTotal.get(), s.ctTcp(), s.ctAny(), s.snat(), s.removedCt(), s.removedNat(), s.removedAffinity(),
                s.micros());
    }
}
