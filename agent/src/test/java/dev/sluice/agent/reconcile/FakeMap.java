package dev.sluice.agent.reconcile;

import dev.sluice.bpf.BpfException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An in-memory {@link MapView} that appends every write and removal to a shared log (so the order
 * across maps can be checked) and, like an LPM trie, refuses a new key with ENOSPC when full.
 */
public final class FakeMap<K, V> implements MapView<K, V> {
    static final int ENOSPC = 28;

    private final String name;
    private final int capacity;
    private final List<String> log;
    private final Map<K, V> entries = new LinkedHashMap<>();

    public FakeMap(String name, int capacity, List<String> log) {
        this.name = name;
        this.capacity = capacity;
        this.log = log;
    }

    @Override public void put(K key, V value) {
        if (!entries.containsKey(key) && entries.size() >= capacity) throw new BpfException("map '" + name + "'", "update", ENOSPC);
        entries.put(key, value);
        log.add("put " + name + " " + key + " " + value);
    }

    @Override public boolean remove(K key) {
        boolean had = entries.remove(key) != null;
        if (had) log.add("remove " + name + " " + key);
        return had;
    }

    @Override public Map<K, V> all() { return new LinkedHashMap<>(entries); }
}
