package dev.sluice.identity;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Numbers for keys (canonical label sets, CIDRs) that every node computes identically from the same
 * set of keys, with no coordination: a key's home slot is a hash of its text in
 * [{@code base}, {@code base + size}); on a collision, keys are placed in sorted text order with
 * linear probing. The result is a pure function of the key set.
 *
 * <p>The slot space is large (2^24 - 256) so collisions are rare; while there are none, adding or
 * removing a key never moves another ({@link #add} and {@link #remove} return false). When one
 * occurs, every number is recomputed and the call returns true so the caller recomputes what
 * depends on the numbers.
 */
final class StableAllocator {
    private final int base;
    private final int size;
    private final Map<String, Integer> byKey = new HashMap<>();
    private final Map<Integer, String> bySlot = new HashMap<>();
    /** Keys not at their home slot; while zero, incremental changes are exact. */
    private int displaced;

    StableAllocator(int base, int size) {
        this.base = base;
        this.size = size;
    }

    Integer get(String key) { return byKey.get(key); }

    int count() { return byKey.size(); }

    int home(String key) {
        long h = 0xcbf29ce484222325L; // FNV-1a 64: stable across JVMs and platforms, unlike String.hashCode mixing
        for (byte b : key.getBytes(StandardCharsets.UTF_8)) {
            h ^= (b & 0xff);
            h *= 0x100000001b3L;
        }
        return base + (int) Long.remainderUnsigned(h, size);
    }

    /** Adds a key; returns true when existing numbers changed (full renumbering). */
    boolean add(String key) {
        if (byKey.containsKey(key)) return false;
        int h = home(key);
        if (displaced == 0 && !bySlot.containsKey(h)) {
            byKey.put(key, h);
            bySlot.put(h, key);
            return false;
        }
        List<String> keys = new ArrayList<>(byKey.keySet());
        keys.add(key);
        return rebuild(keys);
    }

    /** Removes a key; returns true when other numbers changed. */
    boolean remove(String key) {
        Integer slot = byKey.remove(key);
        if (slot == null) return false;
        bySlot.remove(slot);
        if (displaced == 0) return false;
        return rebuild(new ArrayList<>(byKey.keySet()));
    }

    /** Recomputes all numbers; true when any existing key's number changed. */
    boolean rebuild(List<String> keys) {
        Map<String, Integer> old = new HashMap<>(byKey);
        byKey.clear();
        bySlot.clear();
        displaced = 0;
        keys.sort(null);
        for (String k : keys) {
            int h = home(k), s = h;
            while (bySlot.containsKey(s)) s = s + 1 == base + size ? base : s + 1;
            if (s != h) displaced++;
            byKey.put(k, s);
            bySlot.put(s, k);
        }
        for (var e : old.entrySet()) if (!e.getValue().equals(byKey.get(e.getKey()))) return true;
        return false;
    }
}
