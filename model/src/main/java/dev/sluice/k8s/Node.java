package dev.sluice.k8s;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import tools.jackson.databind.JsonNode;

/**
 * A cursor over a parsed YAML/JSON tree that remembers where it is (file, object, field path), so
 * every decoding error names exactly what was wrong and what was expected. Decoders walk manifests
 * only through this class.
 */
public final class Node {
    private final JsonNode json;
    private final String file;
    private final String object;
    private final String path;

    public Node(JsonNode json, String file, String object, String path) {
        this.json = json;
        this.file = file;
        this.object = object;
        this.path = path;
    }

    /**
     * Equal when the trees are equal and they are attributed to the same place: what lets a store
     * tell an update that changes nothing (a relist, a resync, a rewritten file) from a real one.
     */
    @Override public boolean equals(Object o) {
        return o instanceof Node n && java.util.Objects.equals(json, n.json) && java.util.Objects.equals(file, n.file)
                && java.util.Objects.equals(object, n.object) && java.util.Objects.equals(path, n.path);
    }

    @Override public int hashCode() { return java.util.Objects.hash(json, file, object, path); }

    public JsonNode json() { return json; }
    public String path() { return path; }
    public String file() { return file; }
    public String object() { return object; }

    /** The same tree, attributed to another object name (used once metadata is known). */
    public Node as(String objectName) { return new Node(json, file, objectName, path); }

    public ManifestException error(String problem) {
        return new ManifestException(file, object, path, problem);
    }

    public ManifestException error(String field, String problem) {
        return new ManifestException(file, object, child(field), problem);
    }

    private String child(String field) { return path.isEmpty() ? field : path + "." + field; }

    public boolean isNull() { return json == null || json.isNull() || json.isMissingNode(); }
    public boolean has(String field) { return json != null && json.isObject() && json.has(field) && !json.get(field).isNull(); }
    public boolean present(String field) { return json != null && json.isObject() && json.has(field); }

    /** The field as a node; a missing field gives a null node (check with {@link #isNull()}). */
    public Node get(String field) {
        JsonNode v = json != null && json.isObject() ? json.get(field) : null;
        return new Node(v, file, object, child(field));
    }

    public Node requireObject() {
        if (json == null || !json.isObject()) throw error("expected: an object, got " + describe(json));
        return this;
    }

    /** Rejects fields not in {@code allowed}: an unknown field is never silently ignored. */
    public Node allowOnly(Set<String> allowed) {
        if (json == null || !json.isObject()) return this;
        for (String name : json.propertyNames()) {
            if (!allowed.contains(name)) {
                throw error(name, "unknown field (expected one of: " + String.join(", ", new java.util.TreeSet<>(allowed)) + ")");
            }
        }
        return this;
    }

    public Node allowOnly(String... allowed) { return allowOnly(Set.of(allowed)); }

    public String string() {
        if (json == null || !json.isValueNode() || json.isNull()) throw error("expected: a string, got " + describe(json));
        return json.asString();
    }

    public String string(String field) {
        Node n = get(field);
        if (n.isNull()) throw error(field, "missing (expected: a string)");
        return n.string();
    }

    public Optional<String> optString(String field) {
        Node n = get(field);
        return n.isNull() ? Optional.empty() : Optional.of(n.string());
    }

    public String string(String field, String dflt) { return optString(field).orElse(dflt); }

    public long integer(long min, long max) {
        long v;
        if (json != null && json.isIntegralNumber() && json.canConvertToLong()) v = json.asLong();
        else if (json != null && json.isString() && json.asString().matches("-?\\d{1,18}")) v = Long.parseLong(json.asString());
        else throw error(describe(json) + " (expected: an integer " + min + "-" + max + ")");
        if (v < min || v > max) throw error(v + " (expected: " + min + "-" + max + ")");
        return v;
    }

    public Optional<Long> optInteger(String field, long min, long max) {
        Node n = get(field);
        return n.isNull() ? Optional.empty() : Optional.of(n.integer(min, max));
    }

    public long integer(String field, long min, long max) {
        Node n = get(field);
        if (n.isNull()) throw error(field, "missing (expected: an integer " + min + "-" + max + ")");
        return n.integer(min, max);
    }

    public boolean bool() {
        if (json != null && json.isBoolean()) return json.asBoolean();
        if (json != null && json.isString() && (json.asString().equals("true") || json.asString().equals("false")))
            return Boolean.parseBoolean(json.asString());
        throw error(describe(json) + " (expected: true or false)");
    }

    public boolean bool(String field, boolean dflt) {
        Node n = get(field);
        return n.isNull() ? dflt : n.bool();
    }

    /** One of the given words, exactly. */
    public String oneOf(String... allowed) {
        String s = string();
        for (String a : allowed) if (a.equals(s)) return s;
        throw error(s + " (expected one of: " + String.join(", ", allowed) + ")");
    }

    /** Elements of a list field; a missing or null field is an empty list. */
    public List<Node> list(String field) {
        return get(field).list();
    }

    public List<Node> list() {
        if (isNull()) return List.of();
        if (!json.isArray()) throw error("expected: a list, got " + describe(json));
        List<Node> out = new ArrayList<>(json.size());
        for (int i = 0; i < json.size(); i++) out.add(new Node(json.get(i), file, object, path + "[" + i + "]"));
        return out;
    }

    /** A string-to-string map (labels, selectors); values that are numbers or booleans are taken as text. */
    public Map<String, String> stringMap(String field) {
        Node n = get(field);
        if (n.isNull()) return Map.of();
        if (!n.json.isObject()) throw n.error("expected: a map of strings, got " + describe(n.json));
        Map<String, String> out = new TreeMap<>();
        for (var e : n.json.properties()) {
            JsonNode v = e.getValue();
            if (v == null || !v.isValueNode()) throw n.error(e.getKey(), "expected: a string, got " + describe(v));
            out.put(e.getKey(), v.isNull() ? "" : v.asString());
        }
        return Collections.unmodifiableMap(out);
    }

    /** The field names, in document order. */
    public Set<String> fieldNames() {
        if (json == null || !json.isObject()) return Set.of();
        return new LinkedHashSet<>(json.propertyNames());
    }

    public Map<String, Node> fields() {
        Map<String, Node> out = new LinkedHashMap<>();
        for (String f : fieldNames()) out.put(f, get(f));
        return out;
    }

    static String describe(JsonNode n) {
        if (n == null || n.isMissingNode()) return "nothing";
        if (n.isNull()) return "null";
        if (n.isObject()) return "an object";
        if (n.isArray()) return "a list";
        if (n.isString()) return "\"" + n.asString() + "\"";
        return n.toString();
    }
}
