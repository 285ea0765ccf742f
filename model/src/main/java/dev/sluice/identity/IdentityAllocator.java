package dev.sluice.identity;

import dev.sluice.net.Cidr;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Allocates security identities: one per distinct {@link IdentityLabels}, deterministic and
 * cluster-wide unique (every node given the same label sets computes the same numbers; see
 * {@link StableAllocator}), and one per CIDR used by a policy rule, in Cilium's local-scope range.
 * Not thread-safe: owned by one engine.
 */
public final class IdentityAllocator {
    /** First number for pod identities; below are reserved (1-8) and kept free as Cilium does. */
    public static final int POD_MIN = 256;
    /** CIDR identities: bit 24 set, like Cilium's local scope. */
    public static final int CIDR_BASE = 1 << 24;

    private final StableAllocator pods = new StableAllocator(POD_MIN, CIDR_BASE - POD_MIN);
    private final StableAllocator cidrs = new StableAllocator(CIDR_BASE + 1, CIDR_BASE - 1);
    private final Map<String, IdentityLabels> labels = new HashMap<>();

    /** Adds a label set; true when existing pod identity numbers changed. */
    public boolean add(IdentityLabels l) {
        labels.put(l.canonical(), l);
        return pods.add(l.canonical());
    }

    /** Removes a label set; true when other pod identity numbers changed. */
    public boolean remove(IdentityLabels l) {
        labels.remove(l.canonical());
        return pods.remove(l.canonical());
    }

    /** The identity of a known label set (reserved label sets map to their reserved number). */
    public Identity identity(IdentityLabels l) {
        if (l.isReserved()) return Reserved.byLabel(l.reserved()).identity();
        Integer id = pods.get(l.canonical());
        if (id == null) throw new IllegalStateException("no identity for " + l);
        return new Identity(id, l);
    }

    public boolean addCidr(Cidr c) { return cidrs.add(c.toString()); }

    public boolean removeCidr(Cidr c) { return cidrs.remove(c.toString()); }

    /** The CIDR identity of a CIDR added before. */
    public int cidrIdentity(Cidr c) {
        Integer id = cidrs.get(c.toString());
        if (id == null) throw new IllegalStateException("no identity for " + c);
        return id;
    }

    /** Recomputes everything for exactly these sets (a full compute). */
    public void reset(Collection<IdentityLabels> podSets, Collection<Cidr> cidrSet) {
        labels.clear();
        for (IdentityLabels l : podSets) labels.put(l.canonical(), l);
        pods.rebuild(new java.util.ArrayList<>(labels.keySet()));
        cidrs.rebuild(new java.util.ArrayList<>(cidrSet.stream().map(Cidr::toString).distinct().toList()));
    }

    public int podIdentityCount() { return pods.count(); }

    public List<Identity> all() {
        return labels.values().stream().map(this::identity).sorted(java.util.Comparator.comparingInt(Identity::id)).toList();
    }
}
