package dev.sluice.k8s;

import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;
import tools.jackson.databind.node.StringNode;

/**
 * The compact, read-only form in which the store keeps an object's tree: the same {@link JsonNode}s
 * (equal to the parsed tree, the same field order, serialised the same), but each object's fields
 * in two arrays instead of a {@code LinkedHashMap} with an entry, a table and a key set per field,
 * lists in immutable lists, and field names and string values shared ({@link String#intern}): with
 * 10,000 Services the parsed trees were about 30 MiB of the agent's heap, mostly maps and copies of
 * the same words ("apiVersion", "metadata", "TCP", ...).
 *
 * <p>Equal subtrees (in the same field order) are one object ({@link #share}): the trees cannot change, so every object whose
 * EndpointSlices list the same pod holds that pod's endpoint once, every Service with ports
 * {@code [{port: 80, protocol: TCP}]} the same list, every endpoint the same {@code conditions}.
 * With 10,000 Services and their slices, read through the informers, the agent's live heap went
 * from 150 to about 45 MiB. The root of each object and its metadata are not shared (they name the
 * object: nothing to share, and an entry in the table of shared subtrees would cost more than it
 * saves).
 *
 * <p>The tree cannot be changed in place (put, remove: UnsupportedOperationException); a
 * {@code deepCopy()} is an ordinary mutable tree.
 */
final class CompactJson {
    private static final JsonNodeFactory FACTORY = JsonNodeFactory.instance;

    /**
     * Every shared node by its {@link Shape}, held weakly: a node no tree holds any more leaves the
     * table after a collection (and its children, which its shape held, after the next).
     */
    private static final Map<Shape, Held> SHARED = new java.util.HashMap<>();
    private static final java.lang.ref.ReferenceQueue<JsonNode> GONE = new java.lang.ref.ReferenceQueue<>();

    private static final class Held extends java.lang.ref.WeakReference<JsonNode> {
        final Shape shape;

        Held(JsonNode n, Shape shape) {
            super(n, GONE);
            this.shape = shape;
        }
    }

    /**
     * What makes two compact nodes the same node: the same kind, and the same scalar, or the same
     * field names in the same order (document order is kept) with the same children. Children are
     * shared before their parent, so "the same children" is a comparison of references.
     */
    private static final class Shape {
        final Object scalar;      // a string's text (interned), or a number's node; null for containers
        final String[] keys;      // an object's field names (interned); null for arrays and scalars
        final JsonNode[] children; // an object's values or an array's items; null for scalars
        final int hash;

        Shape(Object scalar, String[] keys, JsonNode[] children) {
            this.scalar = scalar;
            this.keys = keys;
            this.children = children;
            int h = scalar == null ? 0 : scalar.hashCode();
            if (keys != null) for (String k : keys) h = 31 * h + k.hashCode();
            if (children != null) for (JsonNode c : children) h = 31 * h + System.identityHashCode(c);
            this.hash = 31 * h + (keys != null ? 1 : children != null ? 2 : 3);
        }

        @Override public int hashCode() { return hash; }

        @Override public boolean equals(Object o) {
            if (!(o instanceof Shape x) || x.hash != hash || (keys == null) != (x.keys == null) || (children == null) != (x.children == null))
                return false;
            if (scalar != null ? !(scalar.getClass() == x.scalar.getClass() && scalar.equals(x.scalar)) : x.scalar != null) return false;
            if (keys != null) {
                if (keys.length != x.keys.length) return false;
                for (int i = 0; i < keys.length; i++) if (keys[i] != x.keys[i]) return false;
            }
            if (children != null) {
                if (children.length != x.children.length) return false;
                for (int i = 0; i < children.length; i++) if (children[i] != x.children[i]) return false;
            }
            return true;
        }
    }

    private CompactJson() {}

    /** A compact copy of {@code n} (null stays null). */
    static JsonNode of(JsonNode n) { return of(n, true); }

    private static JsonNode of(JsonNode n, boolean root) {
        if (n == null) return null;
        if (n.isObject()) {
            if (n instanceof ObjectNode o && o.size() == 0) return share(new ObjectNode(FACTORY, Map.of()), new Shape(null, new String[0], new JsonNode[0]));
            int size = n.size(), i = 0;
            String[] keys = new String[size];
            JsonNode[] values = new JsonNode[size];
            for (var e : n.properties()) {
                keys[i] = e.getKey().intern();
                // an object's own metadata names it: compacted, not shared
                values[i] = root && keys[i] == "metadata" ? of(e.getValue(), true) : of(e.getValue(), false);
                i++;
            }
            ObjectNode o = new ObjectNode(FACTORY, new Fields(keys, values));
            return root ? o : share(o, new Shape(null, keys, values));
        }
        if (n.isArray()) {
            JsonNode[] items = new JsonNode[n.size()];
            for (int i = 0; i < items.length; i++) items[i] = of(n.get(i), false);
            return share(new ArrayNode(FACTORY, List.of(items)), new Shape(null, null, items));
        }
        if (n.isString()) {
            String t = n.asString().intern();
            return share(StringNode.valueOf(t), new Shape(t, null, null));
        }
        if (n.isNumber()) return share(n, new Shape(n, null, null)); // an IntNode 80 per port otherwise
        return n; // booleans and null: one node each already
    }

    /** The node of this shape that compact trees hold, {@code n} itself if none held one. */
    private static JsonNode share(JsonNode n, Shape shape) {
        synchronized (SHARED) {
            for (java.lang.ref.Reference<? extends JsonNode> r; (r = GONE.poll()) != null; ) SHARED.remove(((Held) r).shape, r);
            Held h = SHARED.get(shape);
            JsonNode held = h == null ? null : h.get();
            if (held != null) return held;
            SHARED.put(shape, new Held(n, shape));
            return n;
        }
    }

    /** An object's fields in document order, in two arrays; read-only. */
    static final class Fields extends AbstractMap<String, JsonNode> {
        private final String[] keys;
        private final JsonNode[] values;
        /** Computed once: the table of shared subtrees hashes every object it is asked for. */
        private final int hash;

        Fields(String[] keys, JsonNode[] values) {
            this.keys = keys;
            this.values = values;
            int h = 0;
            for (int i = 0; i < keys.length; i++) h += keys[i].hashCode() ^ values[i].hashCode(); // as AbstractMap's
            this.hash = h;
        }

        @Override public int hashCode() { return hash; }

        @Override public boolean equals(Object o) {
            if (o == this) return true;
            if (!(o instanceof Fields f)) return super.equals(o);
            if (f.hash != hash || f.keys.length != keys.length) return false;
            // a map: the same keys in any order; usually the same order, and the values shared
            for (int i = 0; i < keys.length; i++) {
                int j = keys[i] == f.keys[i] ? i : f.indexOf(keys[i]);
                if (j < 0 || (values[i] != f.values[j] && !values[i].equals(f.values[j]))) return false;
            }
            return true;
        }

        private int indexOf(Object key) {
            for (int i = 0; i < keys.length; i++) if (keys[i] == key) return i;
            if (key instanceof String) for (int i = 0; i < keys.length; i++) if (keys[i].equals(key)) return i;
            return -1;
        }

        @Override public int size() { return keys.length; }
        @Override public boolean isEmpty() { return keys.length == 0; }
        @Override public boolean containsKey(Object key) { return indexOf(key) >= 0; }

        @Override public JsonNode get(Object key) {
            int i = indexOf(key);
            return i < 0 ? null : values[i];
        }

        @Override public Set<Entry<String, JsonNode>> entrySet() {
            return new AbstractSet<>() {
                @Override public int size() { return keys.length; }

                @Override public Iterator<Entry<String, JsonNode>> iterator() {
                    return new Iterator<>() {
                        int i;

                        @Override public boolean hasNext() { return i < keys.length; }

                        @Override public Entry<String, JsonNode> next() {
                            if (i >= keys.length) throw new NoSuchElementException();
                            var e = new SimpleImmutableEntry<>(keys[i], values[i]);
                            i++;
                            return e;
                        }
                    };
                }
            };
        }
    }
}
