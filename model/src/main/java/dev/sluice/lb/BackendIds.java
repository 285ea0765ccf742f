package dev.sluice.lb;

import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.TreeMap;

/**
 * Backend id allocator. An id stays with its (ip, port, protocol) for as long as at least one
 * service references it, so the data path can diff backend maps by id; a freed id is reused (lowest
 * first) so ids stay below the backend map's size. New keys acquired together get ids in key
 * order, which makes a from-scratch computation independent of the order inputs arrived in.
 *
 * <p>Owned by one {@link ServiceModel}; not thread-safe. To keep the ids the data path already
 * has after an agent restart, seed it with {@link #of(Map)} from the pinned backend map.
 */
public final class BackendIds {
    private static final class Entry {
        final int id;
        int refs;
        Entry(int id) { this.id = id; }
    }

    private final Map<BackendKey, Entry> entries = new HashMap<>();
    private final BitSet used = new BitSet();

    public BackendIds() {}

    /** Ids already in use (e.g. read back from the data path); unreferenced ones are freed by the next state. */
    public static BackendIds of(Map<BackendKey, Integer> existing) {
        BackendIds ids = new BackendIds();
        for (var e : existing.entrySet()) {
            int id = e.getValue();
            if (id < 1) throw new IllegalArgumentException("backend id " + id + " for " + e.getKey() + " (expected: at least 1)");
            if (ids.used.get(id)) throw new IllegalArgumentException("backend id " + id + " used twice (" + e.getKey() + ")");
            ids.used.set(id);
            ids.entries.put(e.getKey(), new Entry(id));
        }
        return ids;
    }

    public OptionalInt id(BackendKey k) {
        Entry e = entries.get(k);
        return e == null ? OptionalInt.empty() : OptionalInt.of(e.id);
    }

    int idOf(BackendKey k) { return entries.get(k).id; }

    public int size() { return entries.size(); }

    /** Key to id, sorted by key: what the backend map should hold. */
    public Map<BackendKey, Integer> snapshot() {
        Map<BackendKey, Integer> out = new TreeMap<>();
        entries.forEach((k, e) -> out.put(k, e.id));
        return out;
    }

    /** One more reference to each key; {@code keys} sorted so new ids follow key order. */
    void acquire(List<BackendKey> sortedKeys) {
        for (BackendKey k : sortedKeys) {
            Entry e = entries.get(k);
            if (e == null) {
                int id = used.nextClearBit(1);
                used.set(id);
                e = new Entry(id);
                entries.put(k, e);
            }
            e.refs++;
        }
    }

    void release(Iterable<BackendKey> keys) {
        for (BackendKey k : keys) {
            Entry e = entries.get(k);
            if (e == null || e.refs == 0) throw new IllegalStateException("release of unreferenced backend " + k);
            if (--e.refs == 0) free(k, e);
        }
    }

    /** Frees seeded ids nothing references. */
    void sweep() {
        entries.entrySet().removeIf(en -> {
            if (en.getValue().refs > 0) return false;
            used.clear(en.getValue().id);
            return true;
        });
    }

    private void free(BackendKey k, Entry e) {
        entries.remove(k);
        used.clear(e.id);
    }
}
