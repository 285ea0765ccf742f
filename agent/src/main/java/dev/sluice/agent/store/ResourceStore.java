package dev.sluice.agent.store;

import dev.sluice.k8s.KubeObject;
import dev.sluice.k8s.Kinds;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one in-memory copy of the cluster objects Sluice reads, whichever source feeds it (the
 * Kubernetes API or a directory of manifests). Objects are keyed by kind, namespace and name.
 *
 * <p>Every change is applied whole, then its deltas go to the subscribers of the kinds it touched,
 * synchronously on the thread that made the change, in {@link Key} order (kinds in {@link #KINDS}
 * order, then namespace, then name), subscribers in the order they subscribed. Changes are
 * delivered one at a time: a subscriber never sees part of a change, and while it handles one, a
 * read of the store shows exactly the state that change produced. An update that changes nothing
 * emits nothing and does not count a generation.
 *
 * <p>Thread-safe. Subscribers must not change the store from their callback (that would reorder
 * deltas), and should be quick: every writer waits for them.
 */
public final class ResourceStore {
    private static final Logger log = LoggerFactory.getLogger(ResourceStore.class);

    /** The kinds held, in delivery order: what other objects refer to comes first. */
    public static final List<String> KINDS = List.of(Kinds.NAMESPACE, Kinds.NODE, Kinds.POD, Kinds.SERVICE,
            Kinds.ENDPOINT_SLICE, Kinds.NETWORK_POLICY, Kinds.CILIUM_NETWORK_POLICY,
            Kinds.CILIUM_CLUSTERWIDE_NETWORK_POLICY, Kinds.CILIUM_LB_IP_POOL);

    /** Identity of an object in the store; ordered as deltas are delivered. */
    public record Key(String kind, String namespace, String name) implements Comparable<Key> {
        private static final Comparator<Key> ORDER = Comparator.comparingInt((Key k) -> KINDS.indexOf(k.kind))
                .thenComparing(Key::namespace).thenComparing(Key::name);

        public Key {
            requireKind(kind);
            Objects.requireNonNull(namespace, "namespace");
            Objects.requireNonNull(name, "name");
        }

        public static Key of(KubeObject o) { return new Key(o.kind(), o.namespace(), o.name()); }

        @Override public int compareTo(Key o) { return ORDER.compare(this, o); }

        @Override public String toString() { return kind + " " + (namespace.isEmpty() ? name : namespace + "/" + name); }
    }

    /** One object's change: added, updated (with what it was) or deleted (with what it was). */
    public sealed interface Delta {
        /** What the object was before the change; null when added. */
        KubeObject oldObject();

        /** What the object is after the change; null when deleted. */
        KubeObject newObject();

        default Key key() { return Key.of(newObject() != null ? newObject() : oldObject()); }

        record Added(KubeObject newObject) implements Delta {
            public KubeObject oldObject() { return null; }
        }

        record Updated(KubeObject oldObject, KubeObject newObject) implements Delta {}

        record Deleted(KubeObject oldObject) implements Delta {
            public KubeObject newObject() { return null; }
        }
    }

    /**
     * One change as a subscriber sees it: the deltas of its kinds, in {@link Key} order, and the
     * store's generation once the change is applied.
     */
    public record Change(long generation, List<Delta> deltas) {}

    /** Receives the changes of the kinds it subscribed to. */
    @FunctionalInterface
    public interface Subscriber {
        void onChange(Change change);
    }

    /** Ends a subscription. */
    public interface Handle extends AutoCloseable {
        @Override void close();
    }

    /** Every object at one generation, in {@link Key} order. */
    public record Contents(long generation, List<KubeObject> objects) {}

    /** Serialises changes and their delivery, so every subscriber sees changes in the same order. */
    private final ReentrantLock writer = new ReentrantLock();
    /** Guards {@link #objects}: readers never see a change half applied. */
    private final ReentrantReadWriteLock data = new ReentrantReadWriteLock();
    private final Map<String, TreeMap<Key, KubeObject>> objects = new HashMap<>();
    private final List<Subscription> subscribers = new CopyOnWriteArrayList<>();
    private volatile long generation;
    private volatile Thread delivering;

    private record Subscription(Set<String> kinds, Subscriber subscriber) {}

    public ResourceStore() {
        for (String k : KINDS) objects.put(k, new TreeMap<>());
    }

    // ---------------------------------------------------------------- changes

    /** Adds the object, or updates the one with its key. */
    public void put(KubeObject o) { apply(List.of(o), List.of()); }

    /** Deletes the object with this key, if held. */
    public void remove(Key key) { apply(List.of(), List.of(key)); }

    /**
     * Makes the objects of {@code kind} exactly {@code objects} (a relist), emitting only the
     * difference: adds for new keys, updates for changed objects, deletes for keys no longer listed.
     * A key listed twice takes the last.
     */
    public void replace(String kind, Collection<KubeObject> objects) {
        requireKind(kind);
        Map<Key, KubeObject> next = new LinkedHashMap<>();
        for (KubeObject o : objects) {
            if (!o.kind().equals(kind)) throw new IllegalArgumentException(o.displayName() + ": kind " + o.kind() + " (expected: " + kind + ")");
            next.put(Key.of(o), o);
        }
        writer.lock();
        try {
            List<Key> gone = new ArrayList<>();
            data.readLock().lock();
            try {
                for (Key k : this.objects.get(kind).keySet()) if (!next.containsKey(k)) gone.add(k);
            } finally {
                data.readLock().unlock();
            }
            apply(next.values(), gone);
        } finally {
            writer.unlock();
        }
    }

    /**
     * One atomic change: puts (adds or updates; a key given twice takes the last) and removes. A key
     * both put and removed is a caller error.
     */
    public void apply(Collection<KubeObject> puts, Collection<Key> removes) {
        Map<Key, KubeObject> put = new HashMap<>();
        for (KubeObject o : puts) put.put(Key.of(o), o);
        for (Key k : removes)
            if (put.containsKey(k)) throw new IllegalArgumentException(k + ": both put and removed in one change (expected: one of them)");
        if (delivering == Thread.currentThread())
            throw new IllegalStateException("store changed from inside a subscriber (expected: subscribers only read)");
        writer.lock();
        try {
            List<Delta> deltas = new ArrayList<>();
            long gen;
            data.writeLock().lock();
            try {
                for (var e : put.entrySet()) {
                    KubeObject old = objects.get(e.getKey().kind()).put(e.getKey(), e.getValue());
                    if (old == null) deltas.add(new Delta.Added(e.getValue()));
                    else if (!old.equals(e.getValue())) deltas.add(new Delta.Updated(old, e.getValue()));
                }
                for (Key k : new HashSet<>(removes)) {
                    KubeObject old = objects.get(k.kind()).remove(k);
                    if (old != null) deltas.add(new Delta.Deleted(old));
                }
                if (deltas.isEmpty()) return;
                gen = ++generation;
            } finally {
                data.writeLock().unlock();
            }
            deltas.sort(Comparator.comparing(Delta::key));
            deliver(gen, deltas, subscribers);
        } finally {
            writer.unlock();
        }
    }

    private void deliver(long gen, List<Delta> deltas, List<Subscription> to) {
        delivering = Thread.currentThread();
        try {
            for (Subscription s : to) {
                List<Delta> mine = deltas.stream().filter(d -> s.kinds.contains(d.key().kind())).toList();
                if (mine.isEmpty()) continue;
                try {
                    s.subscriber.onChange(new Change(gen, mine));
                } catch (RuntimeException e) {
                    // one failing consumer must not keep the change from the others
                    log.error("store subscriber {} failed at generation {}: {}", s.subscriber, gen, e.toString());
                }
            }
        } finally {
            delivering = null;
        }
    }

    // ---------------------------------------------------------------- subscribers

    /**
     * Subscribes to the changes of {@code kinds}. The subscriber first receives what is held now as
     * one change of adds (if anything is), then every later change: it misses none and sees none
     * twice. Closing the returned handle unsubscribes.
     */
    public Handle subscribe(Set<String> kinds, Subscriber subscriber) {
        kinds.forEach(ResourceStore::requireKind);
        Subscription s = new Subscription(Set.copyOf(kinds), subscriber);
        if (delivering == Thread.currentThread())
            throw new IllegalStateException("subscribed from inside a subscriber (expected: subscribe before or after a change)");
        writer.lock();
        try {
            List<Delta> initial = new ArrayList<>();
            data.readLock().lock();
            try {
                for (String k : KINDS) if (s.kinds.contains(k)) objects.get(k).values().forEach(o -> initial.add(new Delta.Added(o)));
            } finally {
                data.readLock().unlock();
            }
            if (!initial.isEmpty()) deliver(generation, initial, List.of(s));
            subscribers.add(s);
        } finally {
            writer.unlock();
        }
        return () -> subscribers.remove(s);
    }

    // ---------------------------------------------------------------- reads

    public Optional<KubeObject> get(Key key) {
        data.readLock().lock();
        try {
            return Optional.ofNullable(objects.get(key.kind()).get(key));
        } finally {
            data.readLock().unlock();
        }
    }

    /** The objects of one kind, in key order. */
    public List<KubeObject> list(String kind) {
        requireKind(kind);
        data.readLock().lock();
        try {
            return List.copyOf(objects.get(kind).values());
        } finally {
            data.readLock().unlock();
        }
    }

    /** Everything held, consistently at one generation (for consumers that still take whole states). */
    public Contents snapshot() {
        data.readLock().lock();
        try {
            // one array of the exact size (taken per change: no growing list copied again)
            int n = 0;
            for (String k : KINDS) n += objects.get(k).size();
            KubeObject[] all = new KubeObject[n];
            int i = 0;
            for (String k : KINDS) for (KubeObject o : objects.get(k).values()) all[i++] = o;
            return new Contents(generation, java.util.Collections.unmodifiableList(java.util.Arrays.asList(all)));
        } finally {
            data.readLock().unlock();
        }
    }

    /** Counts the changes that changed something; starts at 0. */
    public long generation() { return generation; }

    private static String requireKind(String kind) {
        if (!KINDS.contains(kind)) throw new IllegalArgumentException("kind: " + kind + " (expected one of: " + String.join(", ", KINDS) + ")");
        return kind;
    }
}
