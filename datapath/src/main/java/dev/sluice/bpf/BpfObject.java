package dev.sluice.bpf;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A compiled BPF ELF object opened by libbpf: {@link #open} parses it, {@link #load} creates its maps
 * (or reuses pinned ones) and loads its programs into the kernel, {@link #close} releases everything
 * that is not pinned.
 *
 * <p>Errors: a failed load throws {@link BpfException} carrying the errno and, when the verifier
 * rejected a program, that program's verifier log ({@link BpfException#verifierLog()}); libbpf's own
 * warnings for the failed step are appended to the message. Not thread-safe; maps and programs handed
 * out are, but become invalid when this object closes.
 */
public final class BpfObject implements AutoCloseable {
    /**
     * @param pinRoot  when present, every map of the object (except libbpf's internal .data/.rodata/.bss
     *                 maps, whose contents belong to one load) gets the pin path {@code <pinRoot>/<mapName>}:
     *                 load reuses a compatible map pinned there or creates and pins one; an incompatible
     *                 pinned map fails the load naming the map and the path
     * @param logLevel verifier log level for successful loads (0: none; a failed program is always
     *                 reloaded by libbpf with level 1 into our buffer to explain the failure)
     * @param logSize  bytes of verifier log buffer per program; too small a buffer makes the kernel
     *                 report ENOSPC instead of the verifier's error
     */
    public record OpenOptions(Optional<Path> pinRoot, int logLevel, int logSize) {
        public static final int DEFAULT_LOG_SIZE = 4 << 20;

        public OpenOptions {
            if (logLevel < 0 || logLevel > 7) throw new IllegalArgumentException("logLevel: " + logLevel + " (expected: 0-7)");
            if (logSize < 128) throw new IllegalArgumentException("logSize: " + logSize + " (expected: >= 128)");
        }

        public static OpenOptions defaults() { return new OpenOptions(Optional.empty(), 0, DEFAULT_LOG_SIZE); }

        public OpenOptions withPinRoot(Path p) { return new OpenOptions(Optional.of(p), logLevel, logSize); }

        public OpenOptions withLogLevel(int level) { return new OpenOptions(pinRoot, level, logSize); }

        public OpenOptions withLogSize(int size) { return new OpenOptions(pinRoot, logLevel, size); }
    }

    private final Path path;
    private final OpenOptions opts;
    private MemorySegment obj;
    private final Map<String, MemorySegment> maps = new LinkedHashMap<>();
    private final Map<String, MemorySegment> programs = new LinkedHashMap<>();
    private final Map<String, BpfMap> openedMaps = new LinkedHashMap<>();
    private final Map<String, String> successLogs = new LinkedHashMap<>();
    private boolean loaded;

    private BpfObject(Path path, OpenOptions opts, MemorySegment obj) {
        this.path = path;
        this.opts = opts;
        this.obj = obj;
    }

    private String subject() { return "object " + path; }

    /** bpf_object__open_file: parses the ELF; nothing reaches the kernel yet. */
    public static BpfObject open(Path file, OpenOptions opts) {
        if (!Files.isRegularFile(file)) {
            throw new BpfException("object " + file, "open", Libbpf.ENOENT,
                    "no such file (BPF objects are built by `make bpf` into build/bpf/)");
        }
        try (Arena a = Arena.ofConfined()) {
            int[] err = {0};
            Libbpf.startRecording();
            MemorySegment o;
            List<String> warnings;
            try {
                o = Libbpf.callPtr(Libbpf.OBJECT_OPEN_FILE, a, err, a.allocateFrom(file.toString()), MemorySegment.NULL);
            } finally {
                warnings = Libbpf.stopRecording();
            }
            if (o.equals(MemorySegment.NULL)) {
                throw new BpfException("object " + file, "bpf_object__open_file", err[0], libbpfDetail(warnings));
            }
            BpfObject b = new BpfObject(file, opts, o);
            try {
                b.index();
            } catch (RuntimeException e) {
                b.close();
                throw e;
            }
            return b;
        }
    }

    private void index() {
        MemorySegment m = MemorySegment.NULL;
        while (!(m = (MemorySegment) Libbpf.plain(Libbpf.OBJECT_NEXT_MAP, obj, m)).equals(MemorySegment.NULL)) {
            maps.put(Libbpf.string((MemorySegment) Libbpf.plain(Libbpf.MAP_NAME, m)), m);
        }
        MemorySegment p = MemorySegment.NULL;
        while (!(p = (MemorySegment) Libbpf.plain(Libbpf.OBJECT_NEXT_PROGRAM, obj, p)).equals(MemorySegment.NULL)) {
            programs.put(Libbpf.string((MemorySegment) Libbpf.plain(Libbpf.PROGRAM_NAME, p)), p);
        }
        if (opts.pinRoot().isPresent()) {
            try (Arena a = Arena.ofConfined()) {
                for (var e : maps.entrySet()) {
                    if (isInternal(e.getValue())) continue;
                    Path pin = opts.pinRoot().get().resolve(e.getKey());
                    int r = Libbpf.call(Libbpf.MAP_SET_PIN_PATH, a, e.getValue(), a.allocateFrom(pin.toString()));
                    if (r < 0) throw new BpfException("map '" + e.getKey() + "' (" + path.getFileName() + ")", "set_pin_path " + pin, -r);
                }
            }
        }
    }

    private static boolean isInternal(MemorySegment map) {
        return (boolean) Libbpf.plain(Libbpf.MAP_IS_INTERNAL, map);
    }

    /** Overrides a map's max_entries before {@link #load()} (bpf_map__set_max_entries). */
    public void setMaxEntries(String mapName, int maxEntries) {
        requireOpen();
        if (loaded) throw new IllegalStateException(subject() + ": setMaxEntries after load");
        MemorySegment m = mapPtr(mapName);
        try (Arena a = Arena.ofConfined()) {
            int r = Libbpf.call(Libbpf.MAP_SET_MAX_ENTRIES, a, m, maxEntries);
            if (r < 0) throw new BpfException("map '" + mapName + "' (" + path.getFileName() + ")", "set_max_entries " + maxEntries, -r);
        }
    }

    /** A map's max_entries as the object defines it (or as {@link #setMaxEntries} set it). */
    public int maxEntries(String mapName) {
        requireOpen();
        return (int) Libbpf.plain(Libbpf.MAP_MAX_ENTRIES, mapPtr(mapName));
    }

    /** A map's key and value sizes as the object declares them (its C struct sizes). */
    public int keySize(String mapName) {
        requireOpen();
        return (int) Libbpf.plain(Libbpf.MAP_KEY_SIZE, mapPtr(mapName));
    }

    public int valueSize(String mapName) {
        requireOpen();
        return (int) Libbpf.plain(Libbpf.MAP_VALUE_SIZE, mapPtr(mapName));
    }

    /**
     * bpf_object__load. On failure: {@link BpfException} with the errno; if a program was rejected,
     * its subject is {@code program '<name>' (<file>)} and it carries the verifier log.
     */
    public void load() {
        requireOpen();
        if (loaded) throw new IllegalStateException(subject() + ": already loaded");
        if (opts.pinRoot().isPresent()) checkPinnedMaps();
        try (Arena a = Arena.ofConfined()) {
            Map<String, MemorySegment> logs = new LinkedHashMap<>();
            for (var e : programs.entrySet()) {
                MemorySegment buf = Libbpf.anonymous(a, opts.logSize());
                logs.put(e.getKey(), buf);
                int r = Libbpf.call(Libbpf.PROGRAM_SET_LOG_BUF, a, e.getValue(), buf, (long) opts.logSize());
                if (r < 0) throw new BpfException(progSubject(e.getKey()), "set_log_buf", -r);
                if (opts.logLevel() > 0) {
                    r = Libbpf.call(Libbpf.PROGRAM_SET_LOG_LEVEL, a, e.getValue(), opts.logLevel());
                    if (r < 0) throw new BpfException(progSubject(e.getKey()), "set_log_level", -r);
                }
            }
            int r;
            List<String> warnings;
            Libbpf.startRecording();
            try {
                r = Libbpf.call(Libbpf.OBJECT_LOAD, a, obj);
            } finally {
                warnings = Libbpf.stopRecording();
                // libbpf keeps the pointer; the buffers die with this arena
                for (MemorySegment p : programs.values()) Libbpf.call(Libbpf.PROGRAM_SET_LOG_BUF, a, p, MemorySegment.NULL, 0L);
            }
            if (r < 0) throw loadFailure(-r, logs, warnings);
            if (opts.logLevel() > 0) {
                logs.forEach((n, buf) -> {
                    String s = buf.getString(0);
                    if (!s.isEmpty()) successLogs.put(n, s);
                });
            }
            loaded = true;
        }
    }

    private BpfException loadFailure(int errno, Map<String, MemorySegment> logs, List<String> warnings) {
        // Programs load in order and libbpf stops at the first failure, so the failed program is the
        // last one with a log (with logLevel 0 it is the only one).
        String failed = null, log = null;
        boolean full = false;
        for (var e : logs.entrySet()) {
            String s = e.getValue().getString(0);
            if (!s.isEmpty()) {
                failed = e.getKey();
                log = s;
                full = s.length() >= opts.logSize() - 1;
            }
        }
        // A failing program is named in libbpf's warnings even when it produced no log.
        if (failed == null) {
            for (String w : warnings) {
                for (String p : programs.keySet()) if (w.contains("prog '" + p + "'") && w.contains("failed")) failed = p;
            }
        }
        String detail = libbpfDetail(warnings);
        if (full && errno == Libbpf.ENOSPC) {
            detail = "verifier log truncated at " + opts.logSize() + " bytes (the kernel then reports ENOSPC): raise OpenOptions.logSize"
                    + (detail == null ? "" : "; " + detail);
        }
        String subject = failed != null ? progSubject(failed) : subject();
        return new BpfException(subject, "load", errno, detail, log);
    }

    static String libbpfDetail(List<String> warnings) {
        if (warnings.isEmpty()) return null;
        List<String> w = warnings.stream().filter(s -> !s.contains("-- BEGIN") && !s.contains("-- END")).toList();
        w = w.size() > 8 ? w.subList(w.size() - 8, w.size()) : w;
        return w.isEmpty() ? null : String.join(" | ", w);
    }

    /**
     * libbpf reuses a pinned map only if type, sizes and flags match, and otherwise fails with a terse
     * EINVAL; check first to name the map, the path and the difference.
     */
    private void checkPinnedMaps() {
        Path root = opts.pinRoot().get();
        try {
            Files.createDirectories(root);
        } catch (IOException e) {
            throw new UncheckedIOException("pin root " + root + ": cannot create (is bpffs mounted? see Bpffs.ensureMounted)", e);
        }
        for (var e : maps.entrySet()) {
            if (isInternal(e.getValue())) continue;
            Path pin = root.resolve(e.getKey());
            if (!Files.exists(pin)) continue;
            MemorySegment m = e.getValue();
            int type = (int) Libbpf.plain(Libbpf.MAP_TYPE, m), key = (int) Libbpf.plain(Libbpf.MAP_KEY_SIZE, m),
                    value = (int) Libbpf.plain(Libbpf.MAP_VALUE_SIZE, m), max = (int) Libbpf.plain(Libbpf.MAP_MAX_ENTRIES, m),
                    flags = (int) Libbpf.plain(Libbpf.MAP_FLAGS, m);
            List<String> diff = new ArrayList<>();
            try (BpfMap pinned = BpfMap.openPinned(pin)) {
                if (pinned.type() != type) diff.add("type " + pinned.type() + " (expected: " + type + ")");
                if (pinned.keySize() != key) diff.add("key size " + pinned.keySize() + " (expected: " + key + ")");
                if (pinned.valueSize() != value) diff.add("value size " + pinned.valueSize() + " (expected: " + value + ")");
                if (pinned.maxEntries() != max) diff.add("max entries " + pinned.maxEntries() + " (expected: " + max + ")");
                if (pinned.mapFlags() != flags) diff.add("flags 0x" + Integer.toHexString(pinned.mapFlags())
                        + " (expected: 0x" + Integer.toHexString(flags) + ")");
            }
            if (!diff.isEmpty()) {
                throw new BpfException("map '" + e.getKey() + "' (" + path.getFileName() + ")", "reuse pinned map " + pin,
                        Libbpf.EINVAL, "incompatible pinned map: " + String.join(", ", diff)
                        + "; remove the pin to recreate the map (its contents are lost)");
            }
        }
    }

    private String progSubject(String name) { return "program '" + name + "' (" + path.getFileName() + ")"; }

    private MemorySegment mapPtr(String name) {
        MemorySegment m = maps.get(name);
        if (m == null) throw new BpfException(subject(), "map '" + name + "'", Libbpf.ENOENT, "no such map; maps: " + maps.keySet());
        return m;
    }

    /** A map of the loaded object (same instance on every call). */
    public BpfMap map(String name) {
        requireLoaded();
        return openedMaps.computeIfAbsent(name, n -> {
            MemorySegment m = mapPtr(n);
            try (Arena a = Arena.ofConfined()) {
                int fd = Libbpf.call(Libbpf.MAP_FD, a, m);
                if (fd < 0) throw new BpfException("map '" + n + "' (" + path.getFileName() + ")", "fd", -fd);
                return new BpfMap(n, fd, (int) Libbpf.plain(Libbpf.MAP_TYPE, m), (int) Libbpf.plain(Libbpf.MAP_KEY_SIZE, m),
                        (int) Libbpf.plain(Libbpf.MAP_VALUE_SIZE, m), (int) Libbpf.plain(Libbpf.MAP_MAX_ENTRIES, m),
                        (int) Libbpf.plain(Libbpf.MAP_FLAGS, m), false);
            }
        });
    }

    /** A program of the loaded object. */
    public BpfProgram program(String name) {
        requireLoaded();
        MemorySegment p = programs.get(name);
        if (p == null) throw new BpfException(subject(), "program '" + name + "'", Libbpf.ENOENT, "no such program; programs: " + programs.keySet());
        try (Arena a = Arena.ofConfined()) {
            int fd = Libbpf.call(Libbpf.PROGRAM_FD, a, p);
            if (fd < 0) throw new BpfException(progSubject(name), "fd", -fd, "not loaded");
            return new BpfProgram(name, fd, Optional.ofNullable(successLogs.get(name)));
        }
    }

    /**
     * Every program with an fd of its own (a duplicate of libbpf's), which stays open after
     * {@link #close}: what a caller keeps to attach programs later without keeping libbpf's copy of
     * the whole object (its ELF sections, BTF and relocations) in memory. The caller closes them.
     */
    public Map<String, BpfProgram> detachPrograms() {
        requireLoaded();
        Map<String, BpfProgram> out = new LinkedHashMap<>();
        try (Arena a = Arena.ofConfined()) {
            for (String n : programs.keySet()) {
                BpfProgram p = program(n);
                int fd = Libbpf.call(Libbpf.DUP, a, p.fd(), Libbpf.F_DUPFD_CLOEXEC, 0);
                if (fd < 0) {
                    out.values().forEach(BpfProgram::close);
                    throw new BpfException(progSubject(n), "fcntl(F_DUPFD_CLOEXEC)", -fd);
                }
                out.put(n, new BpfProgram(n, fd, p.verifierLog(), true));
            }
        }
        return out;
    }

    /** The names of the maps pinned under the pin root (every map but libbpf's internal ones). */
    public List<String> pinnedMapNames() {
        if (opts.pinRoot().isEmpty()) return List.of();
        return maps.entrySet().stream().filter(e -> !isInternal(e.getValue())).map(Map.Entry::getKey).toList();
    }

    /** Map names as libbpf reports them, including internal ones such as {@code ffm_test.rodata}. */
    public List<String> mapNames() { return List.copyOf(maps.keySet()); }

    public List<String> programNames() { return List.copyOf(programs.keySet()); }

    public Path path() { return path; }

    public boolean isLoaded() { return loaded; }

    private void requireOpen() {
        if (obj == null) throw new IllegalStateException(subject() + ": closed");
    }

    private void requireLoaded() {
        requireOpen();
        if (!loaded) throw new IllegalStateException(subject() + ": not loaded (call load() first)");
    }

    /** bpf_object__close: closes all fds of this object; pinned maps stay in bpffs. Idempotent. */
    @Override
    public void close() {
        if (obj == null) return;
        openedMaps.values().forEach(BpfMap::invalidate);
        Libbpf.plain(Libbpf.OBJECT_CLOSE, obj);
        obj = null;
    }
}
