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
 * <p>The tree cannot be changed in place (put, remove: UnsupportedOperationException); a
 * {@code deepCopy()} is an ordinary mutable tree.
 */
final class CompactJson {
    private static final JsonNodeFactory FACTORY = JsonNodeFactory.instance;

    private CompactJson() {}

    /** A compact copy of {@code n} (null stays null). */
    static JsonNode of(JsonNode n) {
        if (n == null) return null;
        if (n.isObject()) {
            if (n instanceof ObjectNode o && o.size() == 0) return new ObjectNode(FACTORY, Map.of());
            int size = n.size(), i = 0;
            String[] keys = new String[size];
            JsonNode[] values = new JsonNode[size];
            for (var e : n.properties()) {
                keys[i] = e.getKey().intern();
                values[i] = of(e.getValue());
                i++;
            }
            return new ObjectNode(FACTORY, new Fields(keys, values));
        }
        if (n.isArray()) {
            JsonNode[] items = new JsonNode[n.size()];
            for (int i = 0; i < items.length; i++) items[i] = of(n.get(i));
            return new ArrayNode(FACTORY, List.of(items));
        }
        if (n.isString()) return StringNode.valueOf(n.asString().intern());
        return n; // numbers, booleans, null: immutable already
    }

    /** An object's fields in document order, in two arrays; read-only. */
    static final class Fields extends AbstractMap<String, JsonNode> {
        private final String[] keys;
        private final JsonNode[] values;

        Fields(String[] keys, JsonNode[] values) {
            this.keys = keys;
            this.values = values;
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
