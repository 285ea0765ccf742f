package dev.sluice.agent.lb;

import dev.sluice.bpf.BpfMap;
import dev.sluice.bpf.UpdateFlag;
import dev.sluice.datapath.maps.LbBackend;
import dev.sluice.datapath.maps.LbMaps;
import dev.sluice.datapath.maps.LbReverseNat;
import dev.sluice.datapath.maps.LbService;
import dev.sluice.datapath.maps.LbServiceKey;
import dev.sluice.datapath.maps.LbSlotKey;
import dev.sluice.lb.Backend;
import dev.sluice.lb.Frontend;
import dev.sluice.lb.LbState;
import dev.sluice.lb.ServiceLb;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Writes one node's part of the model's {@link LbState} into the service maps, only the difference
 * from what the maps hold. Order keeps every lookup valid in between: new and changed backends
 * first, then per frontend its slots, reverse NAT and Maglev table before the service entry that
 * makes them reachable (and, when a frontend shrinks, the entry before the slots it no longer
 * counts), then removed frontends, and removed backends last. A Maglev table is a new inner map,
 * filled, then swapped into the outer map with one update: a lookup sees the old or the new table.
 *
 * <p>Frontend ids (reverse NAT, slots, Maglev key, the 16 bits of the uplink's mark) are this
 * node's: stable while the frontend exists, freed ids reused lowest first, read back from the
 * kernel on start. Errors are per Service: a Service whose frontend cannot be written gets the
 * error in {@link #errors()} and every other Service is still written. Not thread-safe.
 */
public final class LbReconciler {
    /** Frontend ids travel in the low 16 bits of skb->mark (MARK_MAGIC_LB). */
    public static final int MAX_FRONTEND_ID = 0xffff;
    static final int BPF_F_INNER_MAP = 0x1000;

    private final LbMaps maps;
    private final String node;
    /** What the kernel holds, as last read or written. */
    private final Map<LbServiceKey, Programmed> have = new HashMap<>();
    private final Map<Integer, LbBackend> backends = new HashMap<>();
    private final TreeSet<Integer> freeIds = new TreeSet<>();
    private int nextId = 1;
    private Map<String, List<String>> errors = Map.of();
    /** Per Service, what could not be programmed; kept across reconciles for the Services that did not change. */
    private final Map<String, List<String>> errs = new TreeMap<>();
    /** The state last reconciled: the next one is compared with it Service by Service, by identity. */
    private LbState last;
    private boolean lastReject;
    /** This node's frontends in {@link #last}, by key (more than one only when Services conflict). */
    private final Map<LbServiceKey, List<Claim>> claims = new HashMap<>();
    /** Keys whose write failed: tried again at the next reconcile. */
    private final Set<LbServiceKey> retry = new HashSet<>();
    /** Backend id -> how many slots of programmed frontends hold it. */
    private final Map<Integer, Integer> refs = new HashMap<>();
    /** Backend ids whose count went to zero since the last reconcile ended. */
    private final Set<Integer> unreferenced = new HashSet<>();
    /** Frontend id -> affinity timeout, for frontends with ClientIP affinity. */
    private final Map<Integer, Integer> affinity = new java.util.concurrent.ConcurrentHashMap<>();

    /** One frontend as written: its service value, slot backend ids, reverse NAT and Maglev table. */
    record Programmed(String service, LbService value, int[] slots, LbReverseNat revNat, int[] maglev) {
        boolean sameAs(Programmed o) {
            return o != null && value.equals(o.value) && Arrays.equals(slots, o.slots) && revNat.equals(o.revNat)
                    && Arrays.equals(maglev, o.maglev);
        }
    }

    /** Counts of one reconcile. */
    private final Set<LbServiceKey> written = new java.util.LinkedHashSet<>();
    private final List<Integer> removedIds = new ArrayList<>();

    public record Result(int frontendsWritten, int frontendsRemoved, int backendsWritten, int backendsRemoved) {
        public int changes() { return frontendsWritten + frontendsRemoved + backendsWritten + backendsRemoved; }
    }

    public LbReconciler(LbMaps maps, String node) {
        this.maps = maps;
        this.node = node;
        readBack();
    }

    /** Loads what a previous agent wrote, so a restart rewrites nothing that is still right. */
    private void readBack() {
        Map<Integer, LbReverseNat> rn = maps.reverseNat().all();
        Map<LbSlotKey, Integer> slots = maps.slots().all();
        Map<Integer, List<int[]>> byId = new HashMap<>();
        slots.forEach((k, v) -> byId.computeIfAbsent(k.id(), x -> new ArrayList<>()).add(new int[] {k.slot(), v}));
        Set<Integer> used = new HashSet<>();
        maps.services().all().forEach((k, v) -> {
            int[] s = new int[v.count()];
            for (int[] kv : byId.getOrDefault(v.id(), List.of())) if (kv[0] >= 1 && kv[0] <= s.length) s[kv[0] - 1] = kv[1];
            // A Maglev table is not read back (it is large): a frontend that has one is rewritten once.
            track(k, new Programmed("", v, s, rn.getOrDefault(v.id(), new LbReverseNat(0, 0)),
                    (v.flags() & LbService.MAGLEV) != 0 ? null : new int[0]));
            used.add(v.id());
        });
        backends.putAll(maps.backends().all());
        unreferenced.clear();
        nextId = used.stream().mapToInt(Integer::intValue).max().orElse(0) + 1;
        for (int i = 1; i < nextId; i++) if (!used.contains(i)) freeIds.add(i);
    }

    /** The next reconcile looks at every Service and every frontend the maps hold (after a failed apply). */
    public void resync() { last = null; }

    /** Per Service (ns/name), what could not be programmed in the last reconcile. */
    public Map<String, List<String>> errors() { return errors; }

    /** Frontends programmed, by key, with the Service they belong to (for listings). */
    public Map<LbServiceKey, String> frontendServices() {
        Map<LbServiceKey, String> out = new HashMap<>();
        have.forEach((k, p) -> out.put(k, p.service));
        return out;
    }

    /**
     * Writes the difference between {@code state} and what the maps hold. Only the Services whose
     * {@link ServiceLb} is not the very object of the previous state are looked at (the model keeps
     * unchanged Services identical), so a change costs what it touches, not O(Services); the first
     * call, and a change of how frontends are written (serviceNoBackendResponse), look at everything.
     */
    public Result reconcile(LbState state) { return reconcile(state, null); }

    /**
     * As {@link #reconcile(LbState)}, told which Services may differ from the previous state
     * ({@code ServiceModel.lastChanged()}; null: compare all), so not even the comparison is O(Services).
     */
    public Result reconcile(LbState state, Set<String> changed) {
        written.clear();
        removedIds.clear();
        boolean reject = state.noBackendResponse().equals("reject");
        Set<LbServiceKey> dirty = new HashSet<>(retry);
        retry.clear();
        boolean fullPass = last == null || reject != lastReject;
        if (fullPass) {
            claims.clear();
            errs.clear();
            for (ServiceLb lb : state.services().values()) claim(lb, dirty);
            dirty.addAll(have.keySet());
        } else if (changed == null) {
            diff(last.services(), state.services(), dirty);
        } else {
            for (String k : changed) {
                ServiceLb before = last.services().get(k), after = state.services().get(k);
                if (before == after) continue;
                if (before != null) unclaim(before, dirty);
                if (after != null) claim(after, dirty);
            }
        }
        last = state;
        lastReject = reject;

        // 1. backends every written frontend needs, before anything references them
        Map<LbServiceKey, Frontend> want = new HashMap<>();
        Map<Integer, LbBackend> wantBackends = new HashMap<>();
        for (LbServiceKey k : dirty) {
            Frontend f = winner(k);
            if (f == null) continue;
            want.put(k, f);
            for (Backend b : f.backends()) wantBackends.put(b.id(), new LbBackend(b.ip(), b.port(), b.protocol().number, 0));
        }
        Map<Integer, LbBackend> newBackends = new HashMap<>();
        for (var e : wantBackends.entrySet()) if (!e.getValue().equals(backends.get(e.getKey()))) newBackends.put(e.getKey(), e.getValue());
        if (newBackends.size() >= BULK) maps.backends().putAll(newBackends);
        else newBackends.forEach(maps.backends()::put);
        backends.putAll(newBackends);
        int bw = newBackends.size();

        // 2. frontends: new and changed (many at once: in batches, see bulk)
        int fw = want.size() >= BULK ? bulk(want, reject, errs) : 0;
        for (var e : want.size() >= BULK ? Map.<LbServiceKey, Frontend>of().entrySet() : want.entrySet()) {
            Frontend f = e.getValue();
            Programmed old = have.get(e.getKey());
            try {
                int id = old != null ? old.value.id() : allocateId();
                Programmed p = program(f, id, reject);
                if (p.sameAs(old)) {
                    if (!p.service.equals(old.service)) track(e.getKey(), p);
                    continue;
                }
                write(e.getKey(), p, old);
                track(e.getKey(), p);
                fw++;
            } catch (RuntimeException ex) {
                retry.add(e.getKey());
                errs.computeIfAbsent(f.service(), x -> new ArrayList<>()).add(f.address() + ": " + ex.getMessage());
            }
        }

        // 3. frontends gone: the service entry first, so no lookup reaches the slots being removed
        int fr = 0;
        for (LbServiceKey k : dirty) {
            if (want.containsKey(k)) continue;
            Programmed p = have.get(k);
            if (p == null) continue;
            try {
                maps.services().remove(k);
                for (int s = 1; s <= p.slots.length; s++) maps.slots().remove(new LbSlotKey(p.value.id(), s));
                maps.reverseNat().remove(p.value.id());
                maps.maglev().delete(u32(p.value.id()));
                freeIds.add(p.value.id());
                track(k, null);
                fr++;
            } catch (RuntimeException ex) {
                retry.add(k);
                errs.computeIfAbsent(p.service.isEmpty() ? k.toString() : p.service, x -> new ArrayList<>()).add(ex.getMessage());
            }
        }

        // 4. backends no frontend references any more (those just unreferenced; on a full pass, all)
        Set<Integer> candidates = fullPass ? new HashSet<>(backends.keySet()) : unreferenced;
        int br = 0;
        for (int id : candidates) {
            if (refs.getOrDefault(id, 0) > 0 || wantBackends.containsKey(id) || !backends.containsKey(id)) continue;
            maps.backends().remove(id);
            backends.remove(id);
            br++;
        }
        unreferenced.clear();
        errors = Map.copyOf(errs);
        return new Result(fw, fr, bw, br);
    }

    /** The Services whose result is not the same object, by a merge of the two sorted maps: their old and new frontends. */
    /** Both in key order (LbState.services). */
    private void diff(Map<String, ServiceLb> before, Map<String, ServiceLb> after, Set<LbServiceKey> dirty) {
        var a = before.values().iterator();
        var b = after.values().iterator();
        ServiceLb x = a.hasNext() ? a.next() : null, y = b.hasNext() ? b.next() : null;
        while (x != null || y != null) {
            int c = x == null ? 1 : y == null ? -1 : x.service().compareTo(y.service());
            if (c == 0) {
                if (x != y) {
                    unclaim(x, dirty);
                    claim(y, dirty);
                }
                x = a.hasNext() ? a.next() : null;
                y = b.hasNext() ? b.next() : null;
            } else if (c < 0) {
                unclaim(x, dirty);
                x = a.hasNext() ? a.next() : null;
            } else {
                claim(y, dirty);
                y = b.hasNext() ? b.next() : null;
            }
        }
    }

    /** One Service's frontend on this node, and its place in the Service's list (see {@link #winner}). */
    private record Claim(Frontend frontend, int index) {}

    private void claim(ServiceLb lb, Set<LbServiceKey> dirty) {
        errs.remove(lb.service());
        List<Frontend> fs = lb.frontends();
        for (int i = 0; i < fs.size(); i++) {
            Frontend f = fs.get(i);
            if (!f.node().isEmpty() && !f.node().equals(node)) continue;
            LbServiceKey k = key(f);
            claims.computeIfAbsent(k, x -> new ArrayList<>(1)).add(new Claim(f, i));
            dirty.add(k);
        }
    }

    private void unclaim(ServiceLb lb, Set<LbServiceKey> dirty) {
        errs.remove(lb.service());
        for (Frontend f : lb.frontends()) {
            if (!f.node().isEmpty() && !f.node().equals(node)) continue;
            LbServiceKey k = key(f);
            List<Claim> c = claims.get(k);
            if (c == null) continue;
            c.removeIf(x -> x.frontend == f);
            if (c.isEmpty()) claims.remove(k);
            dirty.add(k);
        }
    }

    /**
     * The frontend written for a key several Services claim (a conflict the model reports): the one
     * {@code LbState.frontends(node)} lists last, as a from-scratch pass would keep: a node's own
     * frontend over a cluster-wide one, then the Service sorting last, then its last frontend.
     */
    private Frontend winner(LbServiceKey k) {
        List<Claim> c = claims.get(k);
        if (c == null || c.isEmpty()) return null;
        if (c.size() == 1) return c.get(0).frontend;
        return c.stream().max(Comparator.comparing((Claim x) -> x.frontend.node()).thenComparing(x -> x.frontend.service())
                .thenComparingInt(Claim::index)).orElseThrow().frontend;
    }

    /** Records what the kernel now holds for {@code k} (null: nothing), keeping the backend references counted. */
    private void track(LbServiceKey k, Programmed p) {
        Programmed old = p == null ? have.remove(k) : have.put(k, p);
        if (p != null) written.add(k);
        else if (old != null) {
            written.remove(k);
            removedIds.add(old.value.id());
        }
        if (old != null) {
            for (int b : old.slots) if (refs.merge(b, -1, Integer::sum) <= 0) {
                refs.remove(b);
                unreferenced.add(b);
            }
            if ((old.value.flags() & LbService.AFFINITY) != 0) affinity.remove(old.value.id());
        }
        if (p != null) {
            for (int b : p.slots) refs.merge(b, 1, Integer::sum);
            if ((p.value.flags() & LbService.AFFINITY) != 0) affinity.put(p.value.id(), p.value.affinityTimeout());
        }
    }

    /** The affinity timeout (seconds) of the frontend with this id, 0 when it has none (read by the GC thread). */
    public int affinityTimeout(int frontendId) { return affinity.getOrDefault(frontendId, 0); }

    /** How many frontends the maps hold. */
    public int frontendCount() { return have.size(); }

    /** The frontends the last reconcile wrote (or renamed), in the order written: what Hubble's agent events report. */
    public Set<LbServiceKey> written() { return java.util.Collections.unmodifiableSet(written); }

    /** The ids of the frontends the last reconcile removed. */
    public List<Integer> removedIds() { return java.util.Collections.unmodifiableList(removedIds); }

    /** What the maps hold for {@code k} as last written, or null. */
    Programmed programmed(LbServiceKey k) { return have.get(k); }

    /** The backend with this id as last written, or null. */
    LbBackend backend(int id) { return backends.get(id); }

    /** From how many frontends (or backends) on writes go in batches. */
    static final int BULK = 64;

    /**
     * Step 2 for many frontends (a first programming, a restart, thousands of Services changing):
     * the same writes in the same order for all of them at once, one bpf_map_update_batch per map
     * (slots, then reverse NAT, then the service entries that make them reachable; Maglev tables
     * swapped before the entries; the slots a shrunk frontend no longer counts removed after), so
     * 10,000 frontends take a few syscalls instead of 120,000. If a batch fails, every pending
     * frontend is written one by one as step 2 does, which attributes the error to its Service.
     */
    private int bulk(Map<LbServiceKey, Frontend> want, boolean reject, Map<String, List<String>> errs) {
        Map<LbServiceKey, Programmed> pending = new LinkedHashMap<>();
        Map<LbServiceKey, Programmed> olds = new HashMap<>();
        for (var e : want.entrySet()) {
            Programmed old = have.get(e.getKey());
            try {
                int id = old != null ? old.value.id() : allocateId();
                Programmed p = program(e.getValue(), id, reject);
                if (p.sameAs(old)) {
                    if (!p.service.equals(old.service)) track(e.getKey(), p);
                    continue;
                }
                pending.put(e.getKey(), p);
                if (old != null) olds.put(e.getKey(), old);
            } catch (RuntimeException ex) {
                retry.add(e.getKey());
                errs.computeIfAbsent(e.getValue().service(), x -> new ArrayList<>()).add(e.getValue().address() + ": " + ex.getMessage());
            }
        }
        try {
            Map<LbSlotKey, Integer> slots = new HashMap<>();
            Map<Integer, LbReverseNat> revNat = new HashMap<>();
            Map<LbServiceKey, LbService> entries = new LinkedHashMap<>();
            List<LbSlotKey> extra = new ArrayList<>();
            for (var e : pending.entrySet()) {
                Programmed p = e.getValue(), old = olds.get(e.getKey());
                int id = p.value.id();
                for (int i = 0; i < p.slots.length; i++)
                    if (old == null || i >= old.slots.length || old.slots[i] != p.slots[i]) slots.put(new LbSlotKey(id, i + 1), p.slots[i]);
                if (old == null || !p.revNat.equals(old.revNat)) revNat.put(id, p.revNat);
                entries.put(e.getKey(), p.value);
                for (int i = p.slots.length + 1; old != null && i <= old.slots.length; i++) extra.add(new LbSlotKey(id, i));
            }
            maps.slots().putAll(slots);
            maps.reverseNat().putAll(revNat);
            for (var e : pending.entrySet()) {
                Programmed p = e.getValue(), old = olds.get(e.getKey());
                int id = p.value.id();
                if (p.maglev.length > 0 && (old == null || !Arrays.equals(p.maglev, old.maglev))) swapMaglev(id, p.maglev);
                else if (p.maglev.length == 0 && old != null && (old.maglev == null || old.maglev.length > 0)) maps.maglev().delete(u32(id));
            }
            maps.services().putAll(entries);
            extra.forEach(maps.slots()::remove);
            pending.forEach(this::track);
            return pending.size();
        } catch (RuntimeException batchFailed) {
            int fw = 0;
            for (var e : pending.entrySet()) {
                Programmed p = e.getValue();
                try {
                    write(e.getKey(), p, have.get(e.getKey()));
                    track(e.getKey(), p);
                    fw++;
                } catch (RuntimeException ex) {
                    retry.add(e.getKey());
                    if (!olds.containsKey(e.getKey())) freeIds.add(p.value.id());
                    errs.computeIfAbsent(p.service, x -> new ArrayList<>()).add(want.get(e.getKey()).address() + ": " + ex.getMessage());
                }
            }
            return fw;
        }
    }

    private int allocateId() {
        Integer id = freeIds.pollFirst();
        if (id != null) return id;
        if (nextId > MAX_FRONTEND_ID)
            throw new IllegalStateException("no free frontend id (expected: at most " + MAX_FRONTEND_ID + " frontends per node)");
        return nextId++;
    }

    private static Programmed program(Frontend f, int id, boolean reject) {
        int flags = 0;
        if (f.flags().contains(Frontend.Flag.AFFINITY)) flags |= LbService.AFFINITY;
        if (f.flags().contains(Frontend.Flag.LOCAL)) flags |= LbService.LOCAL;
        if (f.flags().contains(Frontend.Flag.PRESERVE_CLIENT)) flags |= LbService.PRESERVE_CLIENT;
        if (f.type() != Frontend.Type.CLUSTER_IP) flags |= LbService.EXTERNAL;
        if (reject) flags |= LbService.REJECT;
        int[] maglev = f.maglevIds();
        if (maglev.length > 0) flags |= LbService.MAGLEV;
        int type = switch (f.type()) {
            case CLUSTER_IP -> LbService.CLUSTER_IP;
            case NODE_PORT -> LbService.NODE_PORT;
            case EXTERNAL_IP -> LbService.EXTERNAL_IP;
            case LOAD_BALANCER -> LbService.LOAD_BALANCER;
        };
        if (f.backends().size() > 0xffff)
            throw new IllegalStateException("backends: " + f.backends().size() + " (expected: at most 65535 per frontend)");
        int[] slots = f.backends().stream().mapToInt(Backend::id).toArray();
        return new Programmed(f.service(), new LbService(id, slots.length, flags, f.affinityTimeoutSeconds(), type), slots,
                new LbReverseNat(f.ip(), f.port()), maglev);
    }

    private void write(LbServiceKey key, Programmed p, Programmed old) {
        int id = p.value.id();
        int oldCount = old == null ? 0 : old.slots.length;
        for (int s = 0; s < p.slots.length; s++)
            if (old == null || s >= old.slots.length || old.slots[s] != p.slots[s]) maps.slots().put(new LbSlotKey(id, s + 1), p.slots[s]);
        if (old == null || !p.revNat.equals(old.revNat)) maps.reverseNat().put(id, p.revNat);
        if (p.maglev.length > 0 && (old == null || !Arrays.equals(p.maglev, old.maglev))) swapMaglev(id, p.maglev);
        else if (p.maglev.length == 0 && old != null && (old.maglev == null || old.maglev.length > 0)) maps.maglev().delete(u32(id));
        maps.services().put(key, p.value);
        for (int s = p.slots.length + 1; s <= oldCount; s++) maps.slots().remove(new LbSlotKey(id, s));
    }

    /** A new inner array, filled, then one outer update: lookups see the old or the new table, never a mix. */
    private void swapMaglev(int id, int[] table) {
        try (BpfMap inner = BpfMap.create(BpfMap.TYPE_ARRAY, "sl_maglev_in", 4, 4, table.length, BPF_F_INNER_MAP)) {
            List<BpfMap.Entry> entries = new ArrayList<>(table.length);
            for (int i = 0; i < table.length; i++) entries.add(new BpfMap.Entry(u32(i), u32(table[i])));
            inner.updateBatch(entries);
            maps.maglev().update(u32(id), u32(inner.fd()), UpdateFlag.ANY);
        }
    }

    static byte[] u32(int v) { return ByteBuffer.allocate(4).order(ByteOrder.nativeOrder()).putInt(v).array(); }

    static LbServiceKey key(Frontend f) { return new LbServiceKey(f.ip(), f.port(), f.protocol().number); }
}
