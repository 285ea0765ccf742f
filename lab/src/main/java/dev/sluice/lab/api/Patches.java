package dev.sluice.lab.api;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * The three patch types of the API: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and the
 * strategic merge patch kubectl sends for a second {@code apply} of a built-in kind. The strategic
 * form merges lists of objects by their merge key where Kubernetes declares one for the field
 * (containers by name, container ports by containerPort, Service ports by port, ...), honours the
 * {@code $patch} and {@code $deleteFromPrimitiveList} directives, and replaces every other list.
 */
final class Patches {
    private Patches() {}

    static final String MERGE = "application/merge-patch+json";
    static final String JSON_PATCH = "application/json-patch+json";
    static final String STRATEGIC = "application/strategic-merge-patch+json";

    /** Merge keys of the list fields Sluice's lab users patch, by field name. */
    private static final Map<String, String> MERGE_KEYS = Map.ofEntries(
            Map.entry("containers", "name"), Map.entry("initContainers", "name"), Map.entry("ephemeralContainers", "name"),
            Map.entry("volumes", "name"), Map.entry("env", "name"), Map.entry("imagePullSecrets", "name"),
            Map.entry("volumeMounts", "mountPath"), Map.entry("conditions", "type"), Map.entry("addresses", "type"),
            Map.entry("finalizers", ""), Map.entry("ownerReferences", "uid"), Map.entry("ports", "port"));

    static JsonNode apply(String contentType, JsonNode target, JsonNode patch) {
        String ct = contentType == null ? "" : contentType.split(";")[0].strip();
        return switch (ct) {
            case MERGE -> merge(target, patch);
            case STRATEGIC -> strategic(target, patch, "");
            case JSON_PATCH -> jsonPatch(target, patch);
            default -> throw new ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted media types include: "
                    + JSON_PATCH + ", " + MERGE + ", " + STRATEGIC + " (got " + (ct.isEmpty() ? "none" : ct) + ")");
        };
    }

    static JsonNode merge(JsonNode target, JsonNode patch) {
        if (!patch.isObject()) return patch.deepCopy();
        ObjectNode out = target != null && target.isObject() ? (ObjectNode) target.deepCopy() : ApiTypes.JSON.createObjectNode();
        for (var e : patch.properties()) {
            if (e.getValue().isNull()) out.remove(e.getKey());
            else out.set(e.getKey(), merge(out.get(e.getKey()), e.getValue()));
        }
        return out;
    }

    static JsonNode strategic(JsonNode target, JsonNode patch, String field) {
        if (!patch.isObject()) return patch.deepCopy();
        if ("replace".equals(patch.path("$patch").asString(""))) {
            ObjectNode p = (ObjectNode) patch.deepCopy();
            p.remove("$patch");
            return p;
        }
        ObjectNode out = target != null && target.isObject() ? (ObjectNode) target.deepCopy() : ApiTypes.JSON.createObjectNode();
        for (var e : patch.properties()) {
            String k = e.getKey();
            JsonNode v = e.getValue();
            if (k.equals("$patch") || k.startsWith("$setElementOrder/") || k.equals("$retainKeys")) continue;
            if (k.startsWith("$deleteFromPrimitiveList/")) {
                String list = k.substring("$deleteFromPrimitiveList/".length());
                if (out.get(list) instanceof ArrayNode a) {
                    ArrayNode kept = a.arrayNode();
                    a.forEach(x -> {
                        boolean drop = false;
                        for (JsonNode d : v) drop |= d.equals(x);
                        if (!drop) kept.add(x);
                    });
                    out.set(list, kept);
                }
                continue;
            }
            if (v.isNull()) out.remove(k);
            else if (v.isArray() && MERGE_KEYS.containsKey(k) && out.get(k) instanceof ArrayNode have) out.set(k, mergeList(k, have, (ArrayNode) v));
            else if (v.isObject()) out.set(k, strategic(out.get(k), v, k));
            else out.set(k, v.deepCopy());
        }
        return out;
    }

    private static ArrayNode mergeList(String field, ArrayNode have, ArrayNode patch) {
        String key = MERGE_KEYS.get(field);
        // container ports merge on containerPort, Service ports on port
        if (field.equals("ports") && (has(have, "containerPort") || has(patch, "containerPort"))) key = "containerPort";
        if (key.isEmpty()) { // a set of scalars: union
            ArrayNode out = have.deepCopy();
            for (JsonNode x : patch) {
                boolean present = false;
                for (JsonNode y : out) present |= y.equals(x);
                if (!present) out.add(x.deepCopy());
            }
            return out;
        }
        List<JsonNode> out = new ArrayList<>();
        have.forEach(out::add);
        for (JsonNode p : patch) {
            if (!p.isObject()) return patch.deepCopy();
            JsonNode id = p.get(key);
            int at = -1;
            for (int i = 0; i < out.size(); i++) if (id != null && id.equals(out.get(i).get(key))) at = i;
            String directive = p.path("$patch").asString("");
            if (directive.equals("delete")) {
                if (at >= 0) out.remove(at);
            } else if (at >= 0) {
                out.set(at, strategic(out.get(at), p, field));
            } else {
                ObjectNode n = (ObjectNode) p.deepCopy();
                n.remove("$patch");
                out.add(n);
            }
        }
        ArrayNode a = have.arrayNode();
        out.forEach(a::add);
        return a;
    }

    private static boolean has(ArrayNode a, String field) {
        for (JsonNode x : a) if (x.has(field)) return true;
        return false;
    }

    static JsonNode jsonPatch(JsonNode target, JsonNode ops) {
        if (!ops.isArray()) throw ApiError.badRequest("json patch: expected an array of operations");
        JsonNode doc = target.deepCopy();
        for (JsonNode op : ops) {
            String kind = op.path("op").asString("");
            String path = op.path("path").asString("");
            switch (kind) {
                case "add" -> doc = put(doc, path, op.get("value"), true);
                case "replace" -> {
                    if (resolve(doc, path) == null) throw new ApiError(422, "Invalid", "json patch: replace: " + path + " does not exist");
                    doc = put(doc, path, op.get("value"), false);
                }
                case "remove" -> doc = remove(doc, path);
                case "test" -> {
                    JsonNode at = resolve(doc, path);
                    if (at == null || !at.equals(op.get("value"))) throw new ApiError(422, "Invalid", "json patch: test failed at " + path);
                }
                default -> throw ApiError.badRequest("json patch: unsupported op \"" + kind + "\" (expected: add, remove, replace, test)");
            }
        }
        return doc;
    }

    private static List<String> tokens(String path) {
        if (path.isEmpty()) return List.of();
        if (!path.startsWith("/")) throw ApiError.badRequest("json patch: path " + path + " (expected: a JSON pointer starting with /)");
        List<String> t = new ArrayList<>();
        for (String s : path.substring(1).split("/", -1)) t.add(s.replace("~1", "/").replace("~0", "~"));
        return t;
    }

    private static JsonNode resolve(JsonNode doc, String path) {
        JsonNode n = doc;
        for (String t : tokens(path)) {
            if (n == null) return null;
            n = n.isArray() ? (t.matches("\\d+") ? n.get(Integer.parseInt(t)) : null) : n.get(t);
        }
        return n;
    }

    private static JsonNode put(JsonNode doc, String path, JsonNode value, boolean insert) {
        List<String> t = tokens(path);
        if (t.isEmpty()) return value.deepCopy();
        JsonNode parent = resolve(doc, "/" + String.join("/", t.subList(0, t.size() - 1).stream().map(Patches::escape).toList()));
        if (t.size() == 1) parent = doc;
        String last = t.getLast();
        if (parent instanceof ObjectNode o) o.set(last, value.deepCopy());
        else if (parent instanceof ArrayNode a) {
            if (last.equals("-")) a.add(value.deepCopy());
            else if (insert) a.insert(Integer.parseInt(last), value.deepCopy());
            else a.set(Integer.parseInt(last), value.deepCopy());
        } else throw new ApiError(422, "Invalid", "json patch: the parent of " + path + " does not exist");
        return doc;
    }

    private static JsonNode remove(JsonNode doc, String path) {
        List<String> t = tokens(path);
        JsonNode parent = t.size() == 1 ? doc : resolve(doc, "/" + String.join("/", t.subList(0, t.size() - 1).stream().map(Patches::escape).toList()));
        String last = t.getLast();
        if (parent instanceof ObjectNode o && o.has(last)) o.remove(last);
        else if (parent instanceof ArrayNode a && last.matches("\\d+") && Integer.parseInt(last) < a.size()) a.remove(Integer.parseInt(last));
        else throw new ApiError(422, "Invalid", "json patch: remove: " + path + " does not exist");
        return doc;
    }

    private static String escape(String s) { return s.replace("~", "~0").replace("/", "~1"); }
}
