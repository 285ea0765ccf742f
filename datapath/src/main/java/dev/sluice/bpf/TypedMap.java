package dev.sluice.bpf;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * A {@link BpfMap} seen through codecs. Keys should be records (or otherwise have value equality)
 * for {@link #all()} to be useful.
 *
 * <p>Per-CPU maps: {@link #get}/{@link #all} are refused (a per-CPU value is one value per CPU); use
 * {@link #getPerCpu}/{@link #allPerCpu}. {@link #put} writes the same value into every CPU's slot
 * (e.g. to reset counters); {@link #putPerCpu} writes one value per CPU.
 */
public final class TypedMap<K, V> {
    private final BpfMap map;
    private final Codec<K> keys;
    private final Codec<V> values;

    TypedMap(BpfMap map, Codec<K> keys, Codec<V> values) {
        this.map = map;
        this.keys = keys;
        this.values = values;
        if (keys.layout().byteSize() != map.keySize())
            throw new IllegalArgumentException("map '" + map.name() + "': key codec layout is " + keys.layout().byteSize()
                    + " bytes (expected: key size " + map.keySize() + ")");
        if (values.layout().byteSize() != map.valueSize())
            throw new IllegalArgumentException("map '" + map.name() + "': value codec layout is " + values.layout().byteSize()
                    + " bytes (expected: value size " + map.valueSize() + ")");
    }

    public BpfMap map() { return map; }

    public Optional<V> get(K key) {
        requireNotPerCpu("get");
        return map.lookup(encodeKey(key)).map(this::decodeValue);
    }

    public void put(K key, V value) {
        put(key, value, UpdateFlag.ANY);
    }

    public void put(K key, V value, UpdateFlag flag) {
        byte[] v = encode(values, value);
        if (map.isPerCpu()) {
            List<V> all = new ArrayList<>();
            for (int i = 0; i < map.possibleCpus(); i++) all.add(value);
            map.update(encodeKey(key), perCpuBytes(all), flag);
        } else {
            map.update(encodeKey(key), v, flag);
        }
    }

    /**
     * Writes all entries with one bpf_map_update_batch (one syscall instead of one per entry; entry by
     * entry where the kernel has no batch support). Not for per-CPU maps.
     */
    public void putAll(Map<K, V> entries) {
        requireNotPerCpu("putAll");
        List<BpfMap.Entry> batch = new ArrayList<>(entries.size());
        entries.forEach((k, v) -> batch.add(new BpfMap.Entry(encodeKey(k), encode(values, v))));
        map.updateBatch(batch);
    }

    public boolean remove(K key) {
        return map.delete(encodeKey(key));
    }

    /** Every entry, in the map's iteration order. */
    public Map<K, V> all() {
        requireNotPerCpu("all");
        Map<K, V> out = new LinkedHashMap<>();
        for (BpfMap.Entry e : map.entries()) out.put(decode(keys, e.key()), decodeValue(e.value()));
        return out;
    }

    /** One value per possible CPU, index = CPU number. */
    public Optional<List<V>> getPerCpu(K key) {
        requirePerCpu("getPerCpu");
        return map.lookup(encodeKey(key)).map(this::decodePerCpu);
    }

    public void putPerCpu(K key, List<V> perCpu) {
        requirePerCpu("putPerCpu");
        if (perCpu.size() != map.possibleCpus())
            throw new IllegalArgumentException("map '" + map.name() + "': " + perCpu.size() + " per-CPU values (expected: "
                    + map.possibleCpus() + ")");
        map.update(encodeKey(key), perCpuBytes(perCpu), UpdateFlag.ANY);
    }

    public Map<K, List<V>> allPerCpu() {
        requirePerCpu("allPerCpu");
        Map<K, List<V>> out = new LinkedHashMap<>();
        for (BpfMap.Entry e : map.entries()) out.put(decode(keys, e.key()), decodePerCpu(e.value()));
        return out;
    }

    private void requireNotPerCpu(String op) {
        if (map.isPerCpu())
            throw new IllegalStateException("map '" + map.name() + "' is per-CPU: " + op + " needs one value per CPU (use "
                    + op + "PerCpu)");
    }

    private void requirePerCpu(String op) {
        if (!map.isPerCpu()) throw new IllegalStateException("map '" + map.name() + "' is not per-CPU: " + op);
    }

    private byte[] encodeKey(K key) { return encode(keys, key); }

    private V decodeValue(byte[] b) { return decode(values, b); }

    private List<V> decodePerCpu(byte[] b) {
        int stride = map.perCpuStride(), size = map.valueSize();
        List<V> out = new ArrayList<>(map.possibleCpus());
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(Math.max(size, 1), 8);
            for (int cpu = 0; cpu < map.possibleCpus(); cpu++) {
                MemorySegment.copy(b, cpu * stride, s, JAVA_BYTE, 0, size);
                out.add(values.read(s.asSlice(0, size)));
            }
        }
        return out;
    }

    private byte[] perCpuBytes(List<V> perCpu) {
        int stride = map.perCpuStride();
        byte[] out = new byte[stride * perCpu.size()];
        for (int cpu = 0; cpu < perCpu.size(); cpu++) {
            byte[] one = encode(values, perCpu.get(cpu));
            System.arraycopy(one, 0, out, cpu * stride, one.length);
        }
        return out;
    }

    static <T> byte[] encode(Codec<T> c, T value) {
        int size = (int) c.layout().byteSize();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(Math.max(size, 1), 8).asSlice(0, size);
            c.write(s, value);
            return s.toArray(JAVA_BYTE);
        }
    }

    static <T> T decode(Codec<T> c, byte[] bytes) {
        int size = (int) c.layout().byteSize();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(Math.max(size, 1), 8).asSlice(0, size);
            MemorySegment.copy(bytes, 0, s, JAVA_BYTE, 0, size);
            return c.read(s);
        }
    }
}
