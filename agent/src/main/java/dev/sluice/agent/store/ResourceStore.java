package dev.sluice.agent.store;

import dev.sluice.k8s.KubeObject;
import dev.sluice.k8s.Kinds;
import dev.sluice.util.PersistentSortedMap;
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
            Kinds.CILIUM_CLUSTERWIDE_NETWORK_POLICY, Kinds.CILIUM_LB_IP_POOL, Kinds.CILIUM_L2_ANNOUNCEMENT_POLICY);

    /** Identity of an object in the store; ordered as deltas are delivered. */
    public record Key(String kind, String namespace, String name) implements Comparable<Key> {
        public Key {
            requireKind(kind);
            Objects.requireNonNull(namespace, "namespace");
            Objects.requireNonNull(name, "name");
        }

        public static Key of(KubeObject o) { return new Key(o.kind(), o.namespace(), o.name()); }

        @Override public int compareTo(Key o) {
            if (!kind.equals(o.kind)) return Integer.compare(KINDS.indexOf(kind), KINDS.indexOf(o.kind));
            int c = namespace.compareTo(o.namespace);
            return c != 0 ? c : name.compareTo(o.name);
        }

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

    /** Every object at one generation, in {@link Key} order (a {@link View}: taking it costs nothing). */
    public record Contents(long generation, List<KubeObject> objects) {}

    /** Serialises changes and their delivery, so every subscriber sees changes in the same order. */
    private final ReentrantLock writer = new ReentrantLock();
    /** Guards {@link #objects}: readers never see a change half applied. */
    private final ReentrantReadWriteLock data = new ReentrantReadWriteLock();
    /** Per kind (in {@link #KINDS} order), the objects: persistent, so a snapshot is the maps as they are. */
    @SuppressWarnings("unchecked")
    private final PersistentSortedMap<Key, KubeObject>[] objects = new PersistentSortedMap[KINDS.size()];
    private final List<Subscription> subscribers = new CopyOnWriteArrayList<>();
    private volatile long generation;
    private volatile Thread delivering;

    private record Subscription(Set<String> kinds, Subscriber subscriber) {}

    public ResourceStore() {
        java.util.Arrays.fill(objects, PersistentSortedMap.empty());
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
                for (Key k : this.objects[KINDS.indexOf(kind)].keySet()) if (!next.containsKey(k)) gone.add(k);
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
                    int i = KINDS.indexOf(e.getKey().kind());
                    KubeObject old = objects[i].get(e.getKey());
                    if (old != null && old.equals(e.getValue())) continue; // the object held stays: snapshots compare by reference
                    objects[i] = objects[i].with(e.getKey(), e.getValue());
                    deltas.add(old == null ? new Delta.Added(e.getValue()) : new Delta.Updated(old, e.getValue()));
                }
                for (Key k : new HashSet<>(removes)) {
                    int i = KINDS.indexOf(k.kind());
                    KubeObject old = objects[i].get(k);
                    if (old == null) continue;
                    objects[i] = objects[i].without(k);
                    deltas.add(new Delta.Deleted(old));
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
                for (int i = 0; i < KINDS.size(); i++) if (s.kinds.contains(KINDS.get(i))) objects[i].values().forEach(o -> initial.add(new Delta.Added(o)));
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
            return Optional.ofNullable(objects[KINDS.indexOf(key.kind())].get(key));
        } finally {
            data.readLock().unlock();
        }
    }

    /** The objects of one kind, in key order. */
    public List<KubeObject> list(String kind) {
        requireKind(kind);
        data.readLock().lock();
        try {
            return List.copyOf(objects[KINDS.indexOf(kind)].values());
        } finally {
            data.readLock().unlock();
        }
    }

    /** Everything held, consistently at one generation, in O(1): the persistent maps as they are. */
    public Contents snapshot() {
        data.readLock().lock();
        try {
            return new Contents(generation, new View(objects.clone()));
        } finally {
            data.readLock().unlock();
        }
    }

    /**
     * The store's objects at one generation as a list in {@link Key} order, read-only and never
     * changing: {@code get(i)} in O(log n), lookups by key, and {@link #diff} of two views in about
     * k log n for k changes (the views share what did not change).
     */
    public static final class View extends java.util.AbstractList<KubeObject> {
        private final PersistentSortedMap<Key, KubeObject>[] kinds;
        private final int[] ends;

        View(PersistentSortedMap<Key, KubeObject>[] kinds) {
            this.kinds = kinds;
            this.ends = new int[kinds.length];
            int n = 0;
            for (int i = 0; i < kinds.length; i++) ends[i] = n += kinds[i].size();
        }

        @Override public int size() { return ends[ends.length - 1]; }

        @Override public KubeObject get(int index) {
            if (index < 0 || index >= size()) throw new IndexOutOfBoundsException("index " + index + " of " + size());
            int i = 0;
            while (index >= ends[i]) i++;
            return kinds[i].entryAt(index - (i == 0 ? 0 : ends[i - 1])).getValue();
        }

        @Override public java.util.Iterator<KubeObject> iterator() {
            return java.util.Arrays.stream(kinds).flatMap(m -> m.values().stream()).iterator();
        }

        public Optional<KubeObject> get(Key key) { return Optional.ofNullable(kinds[KINDS.indexOf(key.kind())].get(key)); }

        /** This view with {@code extra} put in (by key), as a new view. */
        public View with(Collection<KubeObject> extra) {
            PersistentSortedMap<Key, KubeObject>[] k = kinds.clone();
            for (KubeObject o : extra) {
                int i = KINDS.indexOf(o.kind());
                k[i] = k[i].with(Key.of(o), o);
            }
            return new View(k);
        }

        /**
         * From {@code before} to {@code after}, in key order: {@code upserted} gets objects added or
         * replaced by an unequal one, {@code removed} the previous objects of keys gone.
         */
        public static void diff(View before, View after, java.util.function.Consumer<KubeObject> upserted,
                                java.util.function.Consumer<KubeObject> removed) {
            for (int i = 0; i < KINDS.size(); i++) {
                PersistentSortedMap.diff(before.kinds[i], after.kinds[i], new PersistentSortedMap.Differences<>() {
                    public void added(Key k, KubeObject o) { upserted.accept(o); }

                    public void removed(Key k, KubeObject o) { removed.accept(o); }

                    public void changed(Key k, KubeObject was, KubeObject is) {
                        if (!was.equals(is)) upserted.accept(is);
                    }
                });
            }
        }
    }

    /** Counts the changes that changed something; starts at 0. */
    public long generation() { return generation; }

    private static String requireKind(String kind) {
        if (!KINDS.contains(kind)) throw new IllegalArgumentException("kind: " + kind + " (expected one of: " + String.join(", ", KINDS) + ")");
        return kind;
    }
}
