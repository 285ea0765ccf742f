package dev.sluice.agent.source;

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
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Cluster state from a directory of manifests (the lab's state directory, or any folder of YAML).
 * The writer bumps {@code .generation} after the files it covers; a change there, or any change
 * seen by a periodic scan, produces a new {@link Snapshot}. The Kubernetes API source will produce
 * the same snapshots.
 */
public final class ManifestSource implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ManifestSource.class);
    public static final String GENERATION_FILE = ".generation";

    private final Path dir;
    private final Consumer<Snapshot> sink;
    private volatile boolean running;
    private Thread thread;
    private WatchService watch;
    private String lastFingerprint = "";

    public ManifestSource(Path dir, Consumer<Snapshot> sink) {
        this.dir = dir;
        this.sink = sink;
    }

    /** Reads the current state once (the caller applies it) and starts watching. */
    public Snapshot start() throws IOException {
        Files.createDirectories(dir);
        Snapshot first = read();
        lastFingerprint = fingerprint();
        watch = FileSystems.getDefault().newWatchService();
        dir.register(watch, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_MODIFY, StandardWatchEventKinds.ENTRY_DELETE);
        running = true;
        thread = Thread.ofPlatform().name("manifest-source").daemon().start(this::loop);
        return first;
    }

    private void loop() {
        while (running) {
            try {
                var key = watch.poll(1, TimeUnit.SECONDS);
                if (key != null) {
                    key.pollEvents();
                    key.reset();
                }
                String fp = fingerprint();
                if (!fp.equals(lastFingerprint)) {
                    lastFingerprint = fp;
                    sink.accept(read());
                }
            } catch (InterruptedException | ClosedWatchServiceException e) {
                return;
            } catch (RuntimeException | IOException e) {
                log.error("manifest source {}: {}", dir, e.getMessage());
            }
        }
    }

    /** Generation plus every file's path, size and modification time: cheap change detection. */
    private String fingerprint() throws IOException {
        var sb = new StringBuilder(readGeneration() + ";");
        for (Path p : ManifestFiles.files(List.of(dir)))
            sb.append(p).append(':').append(Files.size(p)).append(':').append(Files.getLastModifiedTime(p).toMillis()).append(';');
        return sb.toString();
    }

    long readGeneration() {
        try {
            return Long.parseLong(Files.readString(dir.resolve(GENERATION_FILE)).strip());
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
    }

    /** Reads every manifest; a file that fails to parse is reported and skipped, never fatal. */
    public Snapshot read() throws IOException {
        long gen = readGeneration();
        List<KubeObject> objects = new ArrayList<>();
        List<String> errors = new ArrayList<>();
        for (Path p : ManifestFiles.files(List.of(dir))) {
            try {
                objects.addAll(ManifestReader.parse(p.toString(), ManifestFiles.read(p)));
            } catch (ManifestException e) {
                errors.add(e.getMessage()); // also a file deleted while reading: the next scan settles it
            }
        }
        return new Snapshot(gen, List.copyOf(objects), List.copyOf(errors));
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
