package dev.sluice.selector;

import dev.sluice.k8s.Labels;
import dev.sluice.k8s.Node;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.UnaryOperator;

/**
 * A Kubernetes label selector: {@code matchLabels} and {@code matchExpressions} (In, NotIn, Exists,
 * DoesNotExist), all ANDed. The empty selector matches every label set; a missing selector is the
 * caller's business (use {@code null} or {@link java.util.Optional}).
 *
 * <p>Matching follows the Kubernetes API reference: {@code NotIn} and {@code DoesNotExist} match a
 * label set that lacks the key. Values are compared exactly.
 *
 * <p>Used by the policy engine for podSelector, namespaceSelector, endpointSelector and friends;
 * other packages (services, LB IP pools) reuse it.
 */
public record LabelSelector(SortedMap<String, String> matchLabels, List<Requirement> matchExpressions) {

    public enum Operator { In, NotIn, Exists, DoesNotExist }

    /** One matchExpressions entry; {@code values} are sorted and empty for Exists/DoesNotExist. */
    public record Requirement(String key, Operator operator, List<String> values) {
        public Requirement {
            values = List.copyOf(new TreeSet<>(values));
        }

        public boolean matches(Map<String, String> labels) {
            String v = labels.get(key);
            return switch (operator) {
                case In -> v != null && values.contains(v);
                case NotIn -> v == null || !values.contains(v);
                case Exists -> v != null;
                case DoesNotExist -> v == null;
            };
        }

        @Override public String toString() {
            return switch (operator) {
                case In -> key + " in (" + String.join(",", values) + ")";
                case NotIn -> key + " notin (" + String.join(",", values) + ")";
                case Exists -> key;
                case DoesNotExist -> "!" + key;
            };
        }
    }

    public static final LabelSelector ALL = new LabelSelector(new TreeMap<>(), List.of());

    public LabelSelector {
        matchLabels = java.util.Collections.unmodifiableSortedMap(new TreeMap<>(matchLabels));
        // Sorted so that two selectors that mean the same compare equal (selector cache key).
        List<Requirement> sorted = new ArrayList<>(matchExpressions);
        sorted.sort(java.util.Comparator.comparing(Requirement::toString));
        matchExpressions = List.copyOf(sorted);
    }

    public static LabelSelector of(Map<String, String> matchLabels) {
        return new LabelSelector(new TreeMap<>(matchLabels), List.of());
    }

    /** True when this selector selects everything. */
    public boolean isEmpty() { return matchLabels.isEmpty() && matchExpressions.isEmpty(); }

    public boolean matches(Map<String, String> labels) {
        for (var e : matchLabels.entrySet()) if (!e.getValue().equals(labels.get(e.getKey()))) return false;
        for (Requirement r : matchExpressions) if (!r.matches(labels)) return false;
        return true;
    }

    /** Every key this selector mentions. */
    public java.util.Set<String> keys() {
        var s = new TreeSet<>(matchLabels.keySet());
        for (Requirement r : matchExpressions) s.add(r.key());
        return s;
    }

    /** The same selector with one more {@code key=value} requirement. */
    public LabelSelector with(String key, String value) {
        var m = new TreeMap<>(matchLabels);
        m.put(key, value);
        return new LabelSelector(m, matchExpressions);
    }

    /** Decodes a selector object at {@code n}, checking keys, values and operators. */
    public static LabelSelector decode(Node n) {
        return decode(n, UnaryOperator.identity());
    }

    /**
     * Decodes with a key normalizer (Cilium's {@code k8s:}/{@code any:} source prefixes); the
     * normalizer may throw {@link IllegalArgumentException} with the expectation text.
     */
    public static LabelSelector decode(Node n, UnaryOperator<String> key) {
        if (n.isNull()) return ALL;
        n.requireObject().allowOnly("matchLabels", "matchExpressions");
        var labels = new TreeMap<String, String>();
        Node ml = n.get("matchLabels");
        for (var e : n.stringMap("matchLabels").entrySet()) {
            String k = normalize(ml, e.getKey(), key);
            if (!Labels.validValue(e.getValue()))
                throw ml.error(e.getKey(), "\"" + e.getValue() + "\" invalid label value (expected: at most 63 alphanumerics, '-', '_', '.', starting and ending alphanumeric)");
            labels.put(k, e.getValue());
        }
        List<Requirement> reqs = new ArrayList<>();
        for (Node x : n.list("matchExpressions")) {
            x.requireObject().allowOnly("key", "operator", "values");
            String k = normalize(x, x.string("key"), key);
            Node opNode = x.get("operator");
            if (opNode.isNull()) throw x.error("operator", "missing (expected one of: In, NotIn, Exists, DoesNotExist)");
            Operator op = Operator.valueOf(opNode.oneOf("In", "NotIn", "Exists", "DoesNotExist"));
            List<String> values = new ArrayList<>();
            for (Node v : x.list("values")) {
                String s = v.string();
                if (!Labels.validValue(s)) throw v.error("\"" + s + "\" invalid label value (expected: at most 63 alphanumerics, '-', '_', '.')");
                values.add(s);
            }
            boolean needsValues = op == Operator.In || op == Operator.NotIn;
            if (needsValues && values.isEmpty())
                throw x.error("values", "missing or empty (expected: at least one value for operator " + op + ")");
            if (!needsValues && !values.isEmpty())
                throw x.error("values", "must be empty for operator " + op + " (expected: no values)");
            reqs.add(new Requirement(k, op, values));
        }
        return new LabelSelector(labels, reqs);
    }

    private static String normalize(Node at, String raw, UnaryOperator<String> key) {
        String k;
        try {
            k = key.apply(raw);
        } catch (IllegalArgumentException e) {
            throw at.error(raw, e.getMessage());
        }
        if (!k.startsWith("reserved:") && !Labels.validKey(k))
            throw at.error(raw, "invalid label key (expected: [prefix/]name, name of at most 63 alphanumerics, '-', '_', '.')");
        return k;
    }

    /** kubectl-style text, e.g. {@code app=web,tier in (a,b)}; {@code <all>} when empty. */
    @Override public String toString() {
        if (isEmpty()) return "<all>";
        List<String> parts = new ArrayList<>();
        matchLabels.forEach((k, v) -> parts.add(k + "=" + v));
        for (Requirement r : matchExpressions) parts.add(r.toString());
        return String.join(",", parts);
    }

}
