package dev.sluice.agent.reconcile;

import dev.sluice.k8s.KubeObject;
import dev.sluice.k8s.ManifestException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The decoded objects of one kind, kept across snapshots and fed only their changes
 * ({@link SnapshotDiff}): a snapshot in which one of 10,000 objects changed decodes one.
 * {@link #update} reports what that changes in the decoded values.
 *
 * <p>Not thread-safe: one consumer (the agent's apply path).
 *
 * @param <T> the decoded type
 */
public final class Decoded<T> {
    private record Name(String kind, String namespace, String name) {}

    private static final class Entry<T> {
        T value;
        String error;
    }

    /** What one snapshot changed: values decoded anew (added or updated), and the names of objects gone or now undecodable. */
    public record Changes<T>(List<T> upserted, List<String> removed) {
        public boolean isEmpty() { return upserted.isEmpty() && removed.isEmpty(); }
    }

    private final java.util.function.Predicate<KubeObject> accepts;
    private final Function<KubeObject, T> decoder;
    private final Function<T, String> keyOf;
    private final Map<Name, Entry<T>> entries = new HashMap<>();
    private final Map<String, String> errors = new java.util.TreeMap<>();

    /**
     * @param decoder may throw {@link ManifestException}: the object is then reported in {@link #errors}
     * @param keyOf the key the consumer knows a value by (namespace/name), reported when it goes
     */
    public Decoded(String kind, Function<KubeObject, T> decoder, Function<T, String> keyOf) {
        this(o -> o.kind().equals(kind), decoder, keyOf);
    }

    /** Objects of several kinds ({@code accepts}), e.g. the policy kinds. */
    public Decoded(java.util.function.Predicate<KubeObject> accepts, Function<KubeObject, T> decoder, Function<T, String> keyOf) {
        this.accepts = accepts;
        this.decoder = decoder;
        this.keyOf = keyOf;
    }

    /** Takes one snapshot's changes (of every kind; others are skipped) and returns what they change in the decoded values. */
    public Changes<T> update(SnapshotDiff.Changes changes) {
        List<T> up = new ArrayList<>();
        List<String> gone = new ArrayList<>();
        for (KubeObject o : changes.removed()) {
            if (!accepts.test(o)) continue;
            Entry<T> e = entries.remove(new Name(o.kind(), o.namespace(), o.name()));
            errors.remove(display(o.namespace(), o.name()));
            if (e != null && e.value != null) gone.add(keyOf.apply(e.value));
        }
        for (KubeObject o : changes.upserted()) {
            if (!accepts.test(o)) continue;
            Entry<T> e = entries.computeIfAbsent(new Name(o.kind(), o.namespace(), o.name()), x -> new Entry<>());
            T before = e.value;
            try {
                e.value = decoder.apply(o);
                e.error = null;
                errors.remove(display(o.namespace(), o.name()));
                up.add(e.value);
            } catch (ManifestException ex) {
                e.value = null;
                e.error = ex.getMessage();
                errors.put(display(o.namespace(), o.name()), e.error);
                if (before != null) gone.add(keyOf.apply(before));
            }
        }
        return new Changes<>(up, gone);
    }

    /** The decoded value of one object, or null (absent or undecodable). */
    public T get(String kind, String namespace, String name) {
        Entry<T> e = entries.get(new Name(kind, namespace, name));
        return e == null ? null : e.value;
    }

    /** Every value that decodes, in no particular order. */
    public List<T> values() {
        List<T> out = new ArrayList<>(entries.size());
        for (Entry<T> e : entries.values()) if (e.value != null) out.add(e.value);
        return out;
    }

    /** Objects that did not decode: display name ({@code ns/name} or {@code name}) -> message, sorted (a live view). */
    public Map<String, String> errors() { return java.util.Collections.unmodifiableMap(errors); }

    /** How many objects did not decode. */
    public int errorCount() { return errors.size(); }

    private static String display(String namespace, String name) { return namespace.isEmpty() ? name : namespace + "/" + name; }
}
