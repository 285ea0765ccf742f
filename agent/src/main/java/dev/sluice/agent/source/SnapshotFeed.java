package dev.sluice.agent.source;

import dev.sluice.agent.store.ResourceStore;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whole {@link Snapshot}s of a {@link ResourceStore} for consumers that still take whole states
 * (the agent's apply path), until they consume deltas. Changes are coalesced: after any change the
 * sink gets one snapshot of the store as it is then, on this feed's own thread, so a slow sink never
 * holds up the store's writers and never falls behind by more than one snapshot. The snapshot's
 * generation is the store's.
 */
public final class SnapshotFeed implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(SnapshotFeed.class);

    private final ResourceStore store;
    private final Supplier<List<String>> errors;
    private final Supplier<Map<String, Long>> versions;
    private final Consumer<Snapshot> sink;
    private final Object lock = new Object();
    private boolean dirty;
    private volatile boolean running;
    private ResourceStore.Handle subscription;
    private Thread thread;

    /**
     * @param errors   the source's current problems, carried in each snapshot
     * @param versions per kind, the resourceVersion the store holds every event up to; read before
     *                 the store, so a snapshot never claims a version it does not hold
     */
    public SnapshotFeed(ResourceStore store, Supplier<List<String>> errors, Supplier<Map<String, Long>> versions, Consumer<Snapshot> sink) {
        this.store = store;
        this.errors = errors;
        this.versions = versions;
        this.sink = sink;
    }

    /** The store as it is now, for a first apply before {@link #start}. */
    public Snapshot now() {
        Map<String, Long> v = Map.copyOf(versions.get());
        var c = store.snapshot();
        return new Snapshot(c.generation(), c.objects(), List.copyOf(errors.get()), v);
    }

    /** Starts feeding: every change from now on reaches the sink in a later snapshot. */
    public void start() {
        running = true;
        thread = Thread.ofPlatform().name("snapshot-feed").daemon().start(this::loop);
        subscription = store.subscribe(Set.copyOf(ResourceStore.KINDS), change -> {
            synchronized (lock) {
                dirty = true;
                lock.notifyAll();
            }
        });
    }

    /** Sends another snapshot even though the store did not change (its versions did). */
    public void poke() {
        synchronized (lock) {
            dirty = true;
            lock.notifyAll();
        }
    }

    private void loop() {
        while (running) {
            try {
                synchronized (lock) {
                    while (!dirty && running) lock.wait();
                    dirty = false;
                }
                if (!running) return;
                sink.accept(now());
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                log.error("snapshot feed: {}", e.getMessage());
            }
        }
    }

    @Override public void close() throws InterruptedException {
        running = false;
        if (subscription != null) subscription.close();
        synchronized (lock) {
            lock.notifyAll();
        }
        if (thread != null) thread.join(5_000);
    }
}
