package dev.sluice.lab.api;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import tools.jackson.databind.JsonNode;

/**
 * Label selectors ({@code a=b,c!=d,e,!f,g in (x,y),h notin (z)}) and field selectors
 * ({@code metadata.name=x,spec.nodeName!=y}) as the API server reads them from a query.
 */
final class Selectors {
    private Selectors() {}

    static Predicate<JsonNode> labels(String selector) {
        if (selector == null || selector.isBlank()) return o -> true;
        List<Predicate<JsonNode>> terms = new ArrayList<>();
        for (String term : split(selector)) {
            String t = term.strip();
            if (t.isEmpty()) continue;
            terms.add(labelTerm(t));
        }
        return o -> terms.stream().allMatch(p -> p.test(o));
    }

    private static Predicate<JsonNode> labelTerm(String t) {
        var in = java.util.regex.Pattern.compile("^([^\\s!=]+)\\s+(in|notin)\\s+\\((.*)\\)$").matcher(t);
        if (in.matches()) {
            String key = in.group(1);
            Set<String> values = Set.copyOf(List.of(in.group(3).split("\\s*,\\s*")).stream().map(String::strip).toList());
            boolean positive = in.group(2).equals("in");
            return o -> {
                JsonNode v = label(o, key);
                return positive ? v != null && values.contains(v.asString()) : v == null || !values.contains(v.asString());
            };
        }
        int ne = t.indexOf("!=");
        if (ne > 0) {
            String key = t.substring(0, ne).strip(), value = t.substring(ne + 2).strip();
            return o -> {
                JsonNode v = label(o, key);
                return v == null || !v.asString().equals(value);
            };
        }
        int eq = t.indexOf('=');
        if (eq > 0) {
            String key = t.substring(0, eq).strip(), value = t.substring(t.startsWith("==", eq) ? eq + 2 : eq + 1).strip();
            return o -> {
                JsonNode v = label(o, key);
                return v != null && v.asString().equals(value);
            };
        }
        if (t.startsWith("!")) {
            String key = t.substring(1).strip();
            return o -> label(o, key) == null;
        }
        if (!t.matches("[A-Za-z0-9./_-]+")) throw ApiError.badRequest("unable to parse requirement: " + t + " (expected: KEY, !KEY, KEY=VALUE, KEY!=VALUE, KEY in (V,...))");
        return o -> label(o, t) != null;
    }

    private static JsonNode label(JsonNode o, String key) {
        JsonNode v = o.path("metadata").path("labels").get(key);
        return v == null || v.isNull() ? null : v;
    }

    static Predicate<JsonNode> fields(String selector) {
        if (selector == null || selector.isBlank()) return o -> true;
        List<Predicate<JsonNode>> terms = new ArrayList<>();
        for (String term : selector.split(",")) {
            String t = term.strip();
            if (t.isEmpty()) continue;
            boolean negate = t.contains("!=");
            String[] kv = negate ? t.split("!=", 2) : t.split("==?", 2);
            if (kv.length != 2) throw ApiError.badRequest("invalid field selector: " + t + " (expected: FIELD=VALUE or FIELD!=VALUE)");
            String[] path = kv[0].strip().split("\\.");
            String value = kv[1].strip();
            terms.add(o -> {
                JsonNode n = o;
                for (String p : path) n = n.path(p);
                boolean eq = (n.isMissingNode() || n.isNull() ? "" : n.asString()).equals(value);
                return negate != eq;
            });
        }
        return o -> terms.stream().allMatch(p -> p.test(o));
    }

    /** Splits on commas outside parentheses. */
    private static List<String> split(String s) {
        List<String> out = new ArrayList<>();
        int depth = 0, start = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '(') depth++;
            else if (c == ')') depth--;
            else if (c == ',' && depth == 0) {
                out.add(s.substring(start, i));
                start = i + 1;
            }
        }
        out.add(s.substring(start));
        return out;
    }
}
