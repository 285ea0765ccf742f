package dev.sluice.agent.reconcile;

import dev.sluice.bpf.TypedMap;
import java.util.Map;

/**
 * The part of a kernel map a reconciler uses: the seam where tests put an in-memory map to check
 * the order of writes and removals and what a full map does, without root.
 */
public interface MapView<K, V> {
    /** Inserts or replaces; a full map throws {@link dev.sluice.bpf.BpfException} with errno ENOSPC (LPM trie) or E2BIG (hash). */
    void put(K key, V value);

    /** False when the key was absent. */
    boolean remove(K key);

    Map<K, V> all();

    static <K, V> MapView<K, V> of(TypedMap<K, V> map) { return new Kernel<>(map); }

    /** A real map. */
    record Kernel<K, V>(TypedMap<K, V> map) implements MapView<K, V> {
        @Override public void put(K key, V value) { map.put(key, value); }
        @Override public boolean remove(K key) { return map.remove(key); }
        @Override public Map<K, V> all() { return map.all(); }
    }
}
