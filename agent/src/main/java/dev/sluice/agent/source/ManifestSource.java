package dev.sluice.agent.source;

import dev.sluice.agent.store.ResourceStore;
import dev.sluice.agent.store.ResourceStore.Key;
import dev.sluice.k8s.KubeObject;
import dev.sluice.k8s.ManifestException;
import dev.sluice.k8s.ManifestFiles;
import dev.sluice.k8s.ManifestReader;
import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchService;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Cluster state from a directory of manifests (the lab's state directory, or any folder of YAML),
 * fed into a {@link ResourceStore}. A file that changed (by size, modification time or inode: the
 * lab replaces files by rename) is read again and yields only the deltas of the objects in it; the
 * others are not read. An object that does not read is reported under its file and left out, and
 * never blocks the other objects of the file. When two files hold the same object, the one that
 * sorts last wins.
 *
 * <p>The writer bumps {@code .generation} after the files it covers; after any change (a file or
 * the generation) the sink gets a {@link Snapshot} at that generation, which is what the agent
 * reports as programmed.
 */
public final class ManifestSource implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ManifestSource.class);
    public static final String GENERATION_FILE = ".generation";

    private final Path dir;
    private final ResourceStore store;
    private final Consumer<Snapshot> sink;
    private volatile boolean running;
    private Thread thread;
    private WatchService watch;

    /** What one file contributed at its last read. */
    private record FileState(Object fingerprint, Map<Key, KubeObject> objects, List<String> errors) {}

    // guarded by this
    private final TreeMap<Path, FileState> files = new TreeMap<>();
    /** Which files hold each key, so a change costs what the changed files hold. */
    private final Map<Key, TreeSet<Path>> owners = new HashMap<>();
    private long generation = -1;

    /** A source with a store of its own (the agent's apply path reads its snapshots). */
    public ManifestSource(Path dir, Consumer<Snapshot> sink) { this(dir, new ResourceStore(), sink); }

    public ManifestSource(Path dir, ResourceStore store, Consumer<Snapshot> sink) {
        this.dir = dir;
        this.store = store;
        this.sink = sink;
    }

    public ResourceStore store() { return store; }

    /**
     * Reads what changed since the last read into the store (everything, the first time) and
     * returns the resulting state; a file that fails to read is reported, never fatal.
     */
    public synchronized Snapshot read() throws IOException {
        scan();
        return snapshot();
    }

    /**
     * Reads the current state if not read yet, and starts watching: every later change goes to the
     * sink, including one made between an earlier {@link #read} and this call.
     */
    public Snapshot start() throws IOException {
        Files.createDirectories(dir);
        Snapshot first;
        synchronized (this) {
            first = generation < 0 ? read() : snapshot();
        }
        watch = FileSystems.getDefault().newWatchService();
        dir.register(watch, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_MODIFY, StandardWatchEventKinds.ENTRY_DELETE);
        running = true;
        thread = Thread.ofPlatform().name("manifest-source").daemon().start(this::loop);
        return first;
    }

    private void loop() {
        while (running) {
            try {
                // the watch only wakes us early; the scan after it is what finds changes (also in
                // subdirectories, which the watch does not cover)
                var key = watch.poll(1, TimeUnit.SECONDS);
                if (key != null) {
                    key.pollEvents();
                    key.reset();
                }
                Snapshot s = null;
                synchronized (this) {
                    if (scan()) s = snapshot();
                }
                if (s != null) sink.accept(s);
            } catch (InterruptedException | ClosedWatchServiceException e) {
                return;
            } catch (RuntimeException | IOException e) {
                log.error("manifest source {}: {}", dir, e.getMessage());
            }
        }
    }

    /** Reads the files that changed and the generation; true when either changed. */
    private boolean scan() throws IOException {
        long gen = readGeneration();
        Map<Path, Object> now = new LinkedHashMap<>();
        for (Path p : ManifestFiles.files(List.of(dir))) {
            try {
                var a = Files.readAttributes(p, BasicFileAttributes.class);
                now.put(p, List.of(a.size(), a.lastModifiedTime(), String.valueOf(a.fileKey())));
            } catch (IOException e) {
                // deleted since listed: gone, like a file not listed
            }
        }
        List<Path> changed = new ArrayList<>();
        for (var e : now.entrySet()) {
            FileState had = files.get(e.getKey());
            if (had == null || !had.fingerprint.equals(e.getValue())) changed.add(e.getKey());
        }
        for (Path p : files.keySet()) if (!now.containsKey(p)) changed.add(p);
        if (changed.isEmpty() && gen == generation) return false;

        Set<Key> affected = new TreeSet<>();
        for (Path p : changed) {
            FileState old = files.remove(p);
            if (old != null) forget(p, old, affected);
            if (now.containsKey(p)) {
                FileState read = readFile(p, now.get(p));
                files.put(p, read);
                for (Key k : read.objects.keySet()) {
                    owners.computeIfAbsent(k, x -> new TreeSet<>()).add(p);
                    affected.add(k);
                }
            }
        }
        List<KubeObject> puts = new ArrayList<>();
        List<Key> removes = new ArrayList<>();
        for (Key k : affected) {
            TreeSet<Path> in = owners.get(k);
            if (in == null) removes.add(k);
            else puts.add(files.get(in.last()).objects.get(k));
        }
        store.apply(puts, removes);
        generation = gen;
        return true;
    }

    private void forget(Path p, FileState old, Set<Key> affected) {
        for (Key k : old.objects.keySet()) {
            TreeSet<Path> in = owners.get(k);
            in.remove(p);
            if (in.isEmpty()) owners.remove(k);
            affected.add(k);
        }
    }

    private static FileState readFile(Path p, Object fingerprint) {
        String text;
        try {
            text = ManifestFiles.read(p);
        } catch (ManifestException e) {
            // not UTF-8, or deleted or replaced while reading: the next scan sees its new fingerprint and settles it
            return new FileState(fingerprint, Map.of(), List.of(e.getMessage()));
        }
        var parsed = ManifestReader.parseEach(p.toString(), text);
        Map<Key, KubeObject> objects = new LinkedHashMap<>();
        for (KubeObject o : parsed.objects()) objects.put(Key.of(o), o);
        return new FileState(fingerprint, objects, parsed.errors().stream().map(ManifestException::getMessage).toList());
    }

    private Snapshot snapshot() {
        List<String> errors = new ArrayList<>();
        files.values().forEach(f -> errors.addAll(f.errors));
        return new Snapshot(generation, store.snapshot().objects(), List.copyOf(errors));
    }

    long readGeneration() {
        try {
            return Long.parseLong(Files.readString(dir.resolve(GENERATION_FILE)).strip());
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
    }

    @Override public void close() {
        running = false;
        try {
            if (watch != null) watch.close();
        } catch (IOException ignored) {
            // closing a watch service has nothing to report
        }
        if (thread != null) thread.interrupt();
    }
}
