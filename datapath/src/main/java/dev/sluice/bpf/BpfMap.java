package dev.sluice.bpf;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * A BPF map, by file descriptor: one of a loaded {@link BpfObject} (the object owns the fd; closing
 * the object invalidates this map) or one opened from bpffs with {@link #openPinned(Path)} (this map
 * owns the fd; {@link #close()} it).
 *
 * <p>Keys and values are raw bytes of exactly {@link #keySize()} and {@link #valueBufferSize()} bytes.
 * For per-CPU maps a value is {@link #possibleCpus()} slots of {@code valueSize} rounded up to 8 bytes,
 * as the kernel copies it. Failures throw {@link BpfException} naming the map and the operation.
 * Instances are safe for concurrent use (every call is one or more independent syscalls).
 */
public final class BpfMap implements AutoCloseable {
    // enum bpf_map_type values used here
    public static final int TYPE_HASH = 1, TYPE_ARRAY = 2, TYPE_PROG_ARRAY = 3, TYPE_PERF_EVENT_ARRAY = 4,
            TYPE_PERCPU_HASH = 5, TYPE_PERCPU_ARRAY = 6, TYPE_LRU_HASH = 9, TYPE_LRU_PERCPU_HASH = 10,
            TYPE_LPM_TRIE = 11, TYPE_ARRAY_OF_MAPS = 12, TYPE_HASH_OF_MAPS = 13, TYPE_SOCKMAP = 15, TYPE_PERCPU_CGROUP_STORAGE = 21,
            TYPE_RINGBUF = 27;

    /** A key and its value, raw bytes. */
    public record Entry(byte[] key, byte[] value) {}

    private final String name;
    private final int fd;
    private final int type;
    private final int keySize;
    private final int valueSize;
    private final int maxEntries;
    private final int flags;
    private final boolean ownsFd;
    private volatile boolean closed;
    private volatile boolean noLookupBatch, noUpdateBatch, noDeleteBatch;

    BpfMap(String name, int fd, int type, int keySize, int valueSize, int maxEntries, int flags, boolean ownsFd) {
        this.name = name;
        this.fd = fd;
        this.type = type;
        this.keySize = keySize;
        this.valueSize = valueSize;
        this.maxEntries = maxEntries;
        this.flags = flags;
        this.ownsFd = ownsFd;
    }

    /** Opens a map pinned on bpffs (bpf_obj_get) and reads its name, type and sizes (bpf_obj_get_info_by_fd). */
    public static BpfMap openPinned(Path path) {
        try (Arena a = Arena.ofConfined()) {
            int fd = Libbpf.call(Libbpf.OBJ_GET, a, a.allocateFrom(path.toString()));
            if (fd < 0) throw new BpfException("pinned map " + path, "bpf_obj_get", -fd);
            try {
                return fromFd(fd, path.toString(), true);
            } catch (RuntimeException e) {
                Libbpf.call(Libbpf.CLOSE, a, fd);
                throw e;
            }
        }
    }

    /**
     * Creates an unpinned map (bpf_map_create), e.g. an inner map to store in a map-in-map; the
     * caller closes it (an outer map that holds it keeps it alive). {@code flags} are map_flags
     * (BPF_F_INNER_MAP = 0x1000 lets inner maps of one outer map differ in max_entries).
     */
    public static BpfMap create(int type, String name, int keySize, int valueSize, int maxEntries, int flags) {
        try (Arena a = Arena.ofConfined()) {
            // struct bpf_map_create_opts up to map_flags: sz, btf_fd, 3 btf ids, inner_map_fd, map_flags
            MemorySegment opts = a.allocate(32, 8);
            opts.set(JAVA_LONG, 0, 32L);
            opts.set(JAVA_INT, 28, flags);
            int fd = Libbpf.call(Libbpf.MAP_CREATE, a, type, a.allocateFrom(name), keySize, valueSize, maxEntries, opts);
            if (fd < 0) throw new BpfException("map '" + name + "'", "bpf_map_create type " + type + " max_entries " + maxEntries, -fd);
            return new BpfMap(name, fd, type, keySize, valueSize, maxEntries, flags, true);
        }
    }

    /** Opens a map by its kernel id (bpf_map_get_fd_by_id): what a map-in-map lookup returns. Close it. */
    public static BpfMap openById(int id) {
        try (Arena a = Arena.ofConfined()) {
            int fd = Libbpf.call(Libbpf.MAP_GET_FD_BY_ID, a, id);
            if (fd < 0) throw new BpfException("map id " + id, "bpf_map_get_fd_by_id", -fd);
            try {
                return fromFd(fd, "id " + id, true);
            } catch (RuntimeException e) {
                Libbpf.call(Libbpf.CLOSE, a, fd);
                throw e;
            }
        }
    }

    static BpfMap fromFd(int fd, String what, boolean owns) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment info = a.allocate(Libbpf.MAP_INFO);
            MemorySegment len = a.allocate(JAVA_INT);
            len.set(JAVA_INT, 0, (int) Libbpf.MAP_INFO.byteSize());
            int r = Libbpf.call(Libbpf.OBJ_GET_INFO_BY_FD, a, fd, info, len);
            if (r < 0) throw new BpfException("map " + what, "bpf_obj_get_info_by_fd", -r);
            String n = info.asSlice(Libbpf.off(Libbpf.MAP_INFO, "name"), 16).getString(0);
            return new BpfMap(n, fd,
                    info.get(JAVA_INT, Libbpf.off(Libbpf.MAP_INFO, "type")),
                    info.get(JAVA_INT, Libbpf.off(Libbpf.MAP_INFO, "key_size")),
                    info.get(JAVA_INT, Libbpf.off(Libbpf.MAP_INFO, "value_size")),
                    info.get(JAVA_INT, Libbpf.off(Libbpf.MAP_INFO, "max_entries")),
                    info.get(JAVA_INT, Libbpf.off(Libbpf.MAP_INFO, "map_flags")), owns);
        }
    }

    /** The map's name (for pinned maps, the kernel's copy: at most 15 characters). */
    public String name() { return name; }
    public int fd() { return fd; }
    /** enum bpf_map_type, see the TYPE_ constants. */
    public int type() { return type; }
    public int keySize() { return keySize; }
    /** The C value size (one CPU's slot for per-CPU maps). */
    public int valueSize() { return valueSize; }
    public int maxEntries() { return maxEntries; }
    public int mapFlags() { return flags; }

    public boolean isPerCpu() {
        return type == TYPE_PERCPU_HASH || type == TYPE_PERCPU_ARRAY || type == TYPE_LRU_PERCPU_HASH
                || type == TYPE_PERCPU_CGROUP_STORAGE;
    }

    /** libbpf_num_possible_cpus(): the number of per-CPU slots in a per-CPU value. */
    public int possibleCpus() { return Libbpf.possibleCpus(); }

    /** Bytes of one per-CPU slot: valueSize rounded up to 8 (valueSize for other maps). */
    public int perCpuStride() { return isPerCpu() ? (valueSize + 7) & ~7 : valueSize; }

    /** Bytes of a whole value as lookup returns and update expects it. */
    public int valueBufferSize() { return isPerCpu() ? perCpuStride() * possibleCpus() : valueSize; }

    private String subject() { return "map '" + name + "'"; }

    private void open() {
        if (closed) throw new IllegalStateException(subject() + ": closed");
    }

    private void checkKey(byte[] key) {
        if (key.length != keySize)
            throw new IllegalArgumentException(subject() + ": key: " + key.length + " bytes (expected: " + keySize + ")");
    }

    private void checkValue(byte[] value) {
        if (value.length != valueBufferSize())
            throw new IllegalArgumentException(subject() + ": value: " + value.length + " bytes (expected: "
                    + valueBufferSize() + (isPerCpu() ? ", " + possibleCpus() + " CPUs x " + perCpuStride() : "") + ")");
    }

    private static MemorySegment copy(Arena a, byte[] b) {
        MemorySegment s = a.allocate(Math.max(b.length, 1), 8);
        MemorySegment.copy(b, 0, s, JAVA_BYTE, 0, b.length);
        return s;
    }

    /** bpf_map_lookup_elem; empty when the key is absent. */
    public Optional<byte[]> lookup(byte[] key) {
        open();
        checkKey(key);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(Math.max(valueBufferSize(), 1), 8);
            int r = Libbpf.lookupElem(a, fd, copy(a, key), v);
            if (r == -Libbpf.ENOENT) return Optional.empty();
            if (r < 0) throw new BpfException(subject(), "lookup", -r);
            return Optional.of(v.asSlice(0, valueBufferSize()).toArray(JAVA_BYTE));
        }
    }

    /** bpf_map_update_elem. */
    public void update(byte[] key, byte[] value, UpdateFlag flag) {
        open();
        checkKey(key);
        checkValue(value);
        try (Arena a = Arena.ofConfined()) {
            int r = Libbpf.updateElem(a, fd, copy(a, key), copy(a, value), flag.bits);
            if (r < 0) throw new BpfException(subject(), "update (" + flag + ")", -r);
        }
    }

    /** bpf_map_delete_elem; false when the key was absent. */
    public boolean delete(byte[] key) {
        open();
        checkKey(key);
        try (Arena a = Arena.ofConfined()) {
            int r = Libbpf.deleteElem(a, fd, copy(a, key));
            if (r == -Libbpf.ENOENT) return false;
            if (r < 0) throw new BpfException(subject(), "delete", -r);
            return true;
        }
    }

    /** All keys, by bpf_map_get_next_key. Concurrent changes may make a walk skip or repeat keys. */
    public List<byte[]> keys() {
        open();
        List<byte[]> out = new ArrayList<>();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment prev = a.allocate(Math.max(keySize, 1), 8);
            MemorySegment next = a.allocate(Math.max(keySize, 1), 8);
            MemorySegment cur = MemorySegment.NULL;
            while (true) {
                int r = Libbpf.getNextKey(a, fd, cur, next);
                if (r == -Libbpf.ENOENT) break;
                if (r < 0) throw new BpfException(subject(), "get_next_key", -r);
                out.add(next.asSlice(0, keySize).toArray(JAVA_BYTE));
                MemorySegment.copy(next, 0, prev, 0, keySize);
                cur = prev;
                if (out.size() > Math.max(maxEntries, 1) * 4L + 1024)
                    throw new BpfException(subject(), "get_next_key", 0, "walk did not end (map changing too fast?)");
            }
        }
        return out;
    }

    private boolean batchable() {
        return switch (type) {
            case TYPE_HASH, TYPE_PERCPU_HASH, TYPE_LRU_HASH, TYPE_LRU_PERCPU_HASH, TYPE_ARRAY, TYPE_PERCPU_ARRAY -> true;
            default -> false;
        };
    }

    /** For tests: whether the kernel refused batch lookup for this map and entries() fell back. */
    boolean lookupBatchUnsupported() { return noLookupBatch; }

    private static boolean unsupported(int errno) {
        return errno == Libbpf.ENOTSUPP || errno == Libbpf.EOPNOTSUPP;
    }

    private static MemorySegment batchOpts(Arena a, long elemFlags) {
        MemorySegment o = a.allocate(Libbpf.MAP_BATCH_OPTS);
        o.set(JAVA_LONG, Libbpf.off(Libbpf.MAP_BATCH_OPTS, "sz"), Libbpf.MAP_BATCH_OPTS.byteSize());
        o.set(JAVA_LONG, Libbpf.off(Libbpf.MAP_BATCH_OPTS, "elem_flags"), elemFlags);
        return o;
    }

    /**
     * All entries: bpf_map_lookup_batch where the kernel supports it for this map type, else a
     * get_next_key walk with a lookup per key (entries deleted meanwhile are skipped).
     */
    public List<Entry> entries() {
        open();
        if (batchable() && !noLookupBatch) {
            List<Entry> out = lookupBatch();
            if (out != null) return out;
        }
        List<Entry> out = new ArrayList<>();
        for (byte[] k : keys()) lookup(k).ifPresent(v -> out.add(new Entry(k, v)));
        return out;
    }

    /** null when the kernel does not support batch lookup for this map. */
    private List<Entry> lookupBatch() {
        int vsz = valueBufferSize();
        int chunk = Math.max(1, Math.min(maxEntries, 256));
        List<Entry> out = new ArrayList<>();
        try (Arena a = Arena.ofConfined()) {
            int tok = Math.max(keySize, 8);
            MemorySegment in = a.allocate(tok, 8), outTok = a.allocate(tok, 8);
            MemorySegment count = a.allocate(JAVA_INT);
            MemorySegment opts = batchOpts(a, 0);
            boolean first = true;
            MemorySegment keys = a.allocate((long) keySize * chunk, 8), vals = a.allocate((long) vsz * chunk, 8);
            while (true) {
                count.set(JAVA_INT, 0, chunk);
                int r = Libbpf.call(Libbpf.MAP_LOOKUP_BATCH, a, fd, first ? MemorySegment.NULL : in, outTok, keys, vals, count, opts);
                int err = r < 0 ? -r : 0;
                if (err != 0 && err != Libbpf.ENOENT) {
                    if (first && out.isEmpty() && unsupported(err)) {
                        noLookupBatch = true;
                        return null;
                    }
                    if (err == Libbpf.ENOSPC && chunk < (1 << 20)) {
                        // a hash bucket holds more entries than fit: retry from the same position, larger
                        chunk *= 4;
                        keys = a.allocate((long) keySize * chunk, 8);
                        vals = a.allocate((long) vsz * chunk, 8);
                        continue;
                    }
                    throw new BpfException(subject(), "lookup_batch", err);
                }
                int n = count.get(JAVA_INT, 0);
                for (int i = 0; i < n; i++) {
                    out.add(new Entry(keys.asSlice((long) i * keySize, keySize).toArray(JAVA_BYTE),
                            vals.asSlice((long) i * vsz, vsz).toArray(JAVA_BYTE)));
                }
                if (err == Libbpf.ENOENT) return out;
                MemorySegment.copy(outTok, 0, in, 0, tok);
                first = false;
            }
        }
    }

    /** bpf_map_update_batch (flag ANY); falls back to one update per entry where unsupported. */
    public void updateBatch(List<Entry> entries) {
        open();
        if (entries.isEmpty()) return;
        for (Entry e : entries) {
            checkKey(e.key());
            checkValue(e.value());
        }
        if (batchable() && !noUpdateBatch) {
            int vsz = valueBufferSize();
            try (Arena a = Arena.ofConfined()) {
                MemorySegment keys = a.allocate((long) keySize * entries.size(), 8);
                MemorySegment vals = a.allocate((long) vsz * entries.size(), 8);
                for (int i = 0; i < entries.size(); i++) {
                    MemorySegment.copy(entries.get(i).key(), 0, keys, JAVA_BYTE, (long) i * keySize, keySize);
                    MemorySegment.copy(entries.get(i).value(), 0, vals, JAVA_BYTE, (long) i * vsz, vsz);
                }
                MemorySegment count = a.allocate(JAVA_INT);
                count.set(JAVA_INT, 0, entries.size());
                int r = Libbpf.call(Libbpf.MAP_UPDATE_BATCH, a, fd, keys, vals, count, batchOpts(a, 0));
                if (r >= 0) return;
                if (!unsupported(-r)) {
                    throw new BpfException(subject(), "update_batch", -r,
                            count.get(JAVA_INT, 0) + " of " + entries.size() + " entries written");
                }
                noUpdateBatch = true;
            }
        }
        for (Entry e : entries) update(e.key(), e.value(), UpdateFlag.ANY);
    }

    /**
     * Deletes the keys that are present (bpf_map_delete_batch, falling back to one delete per key)
     * and returns how many were deleted. Absent keys are not an error.
     */
    public int deleteBatch(List<byte[]> keys) {
        open();
        if (keys.isEmpty()) return 0;
        keys.forEach(this::checkKey);
        if (batchable() && !noDeleteBatch) {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment ks = a.allocate((long) keySize * keys.size(), 8);
                for (int i = 0; i < keys.size(); i++) MemorySegment.copy(keys.get(i), 0, ks, JAVA_BYTE, (long) i * keySize, keySize);
                MemorySegment count = a.allocate(JAVA_INT);
                MemorySegment opts = batchOpts(a, 0);
                int start = 0, deleted = 0;
                while (start < keys.size()) {
                    count.set(JAVA_INT, 0, keys.size() - start);
                    int r = Libbpf.call(Libbpf.MAP_DELETE_BATCH, a, fd, ks.asSlice((long) start * keySize), count, opts);
                    int done = count.get(JAVA_INT, 0);
                    if (r >= 0) return deleted + done;
                    if (-r == Libbpf.ENOENT) {
                        // key at start+done is absent: count the ones before it and skip it
                        deleted += done;
                        start += done + 1;
                        continue;
                    }
                    if (start == 0 && deleted == 0 && unsupported(-r)) {
                        noDeleteBatch = true;
                        break;
                    }
                    throw new BpfException(subject(), "delete_batch", -r, (deleted + done) + " of " + keys.size() + " keys deleted");
                }
                if (!noDeleteBatch) return deleted;
            }
        }
        int n = 0;
        for (byte[] k : keys) if (delete(k)) n++;
        return n;
    }

    /** bpf_obj_pin: pins this map at {@code path} on bpffs. */
    public void pin(Path path) {
        open();
        try (Arena a = Arena.ofConfined()) {
            int r = Libbpf.call(Libbpf.OBJ_PIN, a, fd, a.allocateFrom(path.toString()));
            if (r < 0) throw new BpfException(subject(), "pin at " + path, -r);
        }
    }

    /** A typed view; the codecs' layout sizes must match the key size and the (one-CPU) value size. */
    public <K, V> TypedMap<K, V> typed(Codec<K> k, Codec<V> v) {
        return new TypedMap<>(this, k, v);
    }

    /** Called by the owning BpfObject when it closes the fd. */
    void invalidate() { closed = true; }

    /** Closes the fd of a map opened with {@link #openPinned}; a no-op for maps owned by a BpfObject. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        if (ownsFd) {
            try (Arena a = Arena.ofConfined()) {
                Libbpf.call(Libbpf.CLOSE, a, fd);
            }
        }
    }

    @Override
    public String toString() {
        return "BpfMap[" + name + " fd=" + fd + " type=" + type + " key=" + keySize + " value=" + valueSize
                + " max=" + maxEntries + "]";
    }
}
