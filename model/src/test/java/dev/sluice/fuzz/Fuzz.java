package dev.sluice.fuzz;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * Seeded generators and mutators shared by the model's fuzz tests: one seed always gives the same
 * input, so a failing case is replayed by its seed ({@code -Dfuzz.seed=S -Dfuzz.cases=1}), and more
 * cases are explored with {@code -Dfuzz.cases=N}. Mutations work on the parsed tree (delete,
 * duplicate, retype, deepen, rename fields) and on the text (truncate, splice YAML syntax, bytes).
 */
public final class Fuzz {
    private static final JsonNodeFactory F = JsonNodeFactory.instance;
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final YAMLMapper YAML = YAMLMapper.builder().build();

    /** Strings that break naive parsers: syntax, control characters, unicode edge cases, numbers in disguise. */
    static final List<String> NASTY = List.of("", " ", "a", "-", ".", "..", "/", "a/b", "a:b", "k8s:a", "reserved:x",
            "reserved:host", "any:a", "None", "null", "~", "true", "No", "yes", "0", "-1", "65536", "0x50", "1e400",
            "99999999999999999999999", "-9223372036854775809", "NaN", ".inf", "10.0.0.1", "10.0.0.0/8", "::1",
            "256.1.1.1/33", "10.0.0.1/", "a\nb", "a\rb", "tab\there", "\u0000", "nul\u0000nul", "\uFEFFbom",
            "\uD800", "\uDFFF\uD800", "😀", "é", "ﬁ", "\u202Eevil", "\u2028", "'", "\"", "\\", "{", "[", "*a", "&a",
            "!!binary", "%s%n", "${x}", "((((((((((((((((", "(a+)+$", "[", "a".repeat(64), "a".repeat(254),
            "x".repeat(5000));

    public final long seed;
    public final SplittableRandom r;

    public Fuzz(long seed) {
        this.seed = seed;
        this.r = new SplittableRandom(seed);
    }

    /** The seeds a fuzz test runs: {@code -Dfuzz.seed} (default 1) onwards, {@code -Dfuzz.cases} of them. */
    public static Stream<Long> seeds(int cases) {
        long first = Long.getLong("fuzz.seed", 1);
        return LongStream.range(first, first + Integer.getInteger("fuzz.cases", cases)).boxed();
    }

    public int below(int n) { return r.nextInt(n); }
    public boolean chance(double p) { return r.nextDouble() < p; }
    public <T> T pick(List<T> l) { return l.get(r.nextInt(l.size())); }

    public String string() {
        return switch (below(4)) {
            case 0 -> pick(NASTY);
            case 1 -> {
                var sb = new StringBuilder();
                for (int i = below(20); i > 0; i--) sb.appendCodePoint(chance(0.7) ? 0x20 + below(0x5f) : below(0x110000));
                yield sb.toString();
            }
            case 2 -> Long.toString(r.nextLong());
            default -> pick(NASTY) + pick(NASTY);
        };
    }

    /** A value of any JSON type, often not the one expected. */
    public JsonNode value(int depth) {
        return switch (below(depth > 3 ? 9 : 11)) {
            case 0 -> F.nullNode();
            case 1 -> F.booleanNode(r.nextBoolean());
            case 2 -> F.numberNode(pick(List.of(0, -1, 1, 80, 65535, 65536, Integer.MAX_VALUE, Integer.MIN_VALUE)));
            case 3 -> F.numberNode(r.nextLong());
            case 4 -> F.numberNode(new java.math.BigInteger("9".repeat(1 + below(40))));
            case 5 -> F.numberNode(pick(List.of(0.5, -0.0, 1e300, Double.MIN_VALUE)));
            case 6, 7, 8 -> F.stringNode(string());
            case 9 -> {
                ArrayNode a = F.arrayNode();
                for (int i = below(4); i > 0; i--) a.add(value(depth + 1));
                yield a;
            }
            default -> {
                ObjectNode o = F.objectNode();
                for (int i = below(4); i > 0; i--) o.set(string(), value(depth + 1));
                yield o;
            }
        };
    }

    /** A value nested {@code depth} levels deep in lists or objects. */
    public JsonNode deep(int depth) {
        JsonNode n = value(4);
        for (int i = 0; i < depth; i++) n = chance(0.5) ? F.arrayNode().add(n) : F.objectNode().set("a", n);
        return n;
    }

    /** A copy of {@code tree} with one to four structural mutations. */
    public JsonNode mutate(JsonNode tree) {
        JsonNode root = tree.deepCopy();
        for (int m = 1 + below(4); m > 0; m--) {
            List<JsonNode> containers = new ArrayList<>();
            collect(root, containers);
            JsonNode c = pick(containers);
            if (c instanceof ObjectNode o) mutateObject(o);
            else if (c instanceof ArrayNode a) mutateArray(a);
        }
        return root;
    }

    private static void collect(JsonNode n, List<JsonNode> out) {
        if (n.isContainer()) out.add(n);
        for (JsonNode c : n.values()) collect(c, out);
    }

    private JsonNode other(JsonNode v) {
        return switch (below(6)) {
            case 0 -> deep(1 + below(chance(0.1) ? 300 : 20)); // deeper than the writer allows: see the hostile inputs
            case 1 -> F.arrayNode().add(v);
            case 2 -> v.isString() ? F.stringNode(v.asString() + string()) : value(0);
            case 3 -> v.isString() ? F.stringNode(v.asString().toUpperCase()) : F.stringNode(v.toString());
            default -> value(0);
        };
    }

    private void mutateObject(ObjectNode o) {
        List<String> names = new ArrayList<>(o.propertyNames());
        if (names.isEmpty() || chance(0.15)) {
            o.set(chance(0.5) ? string() : pick(FIELDS), value(0));
            return;
        }
        String k = pick(names);
        switch (below(5)) {
            case 0 -> o.remove(k);
            case 1 -> o.set(k, other(o.get(k)));
            case 2 -> o.set(k, F.nullNode());
            case 3 -> { JsonNode v = o.remove(k); o.set(chance(0.5) ? k.toUpperCase() : k + string(), v); }
            default -> o.set(k, value(0));
        }
    }

    private void mutateArray(ArrayNode a) {
        if (a.isEmpty() || chance(0.15)) {
            a.add(value(0));
            return;
        }
        int i = below(a.size());
        switch (below(4)) {
            case 0 -> a.remove(i);
            case 1 -> a.add(a.get(i).deepCopy());
            case 2 -> a.set(i, other(a.get(i)));
            default -> a.set(i, value(0));
        }
    }

    /** Field names the decoders know, so mutations also reach the paths behind them. */
    static final List<String> FIELDS = List.of("apiVersion", "kind", "metadata", "name", "namespace", "labels", "spec",
            "status", "items", "containers", "ports", "port", "containerPort", "protocol", "targetPort", "nodePort",
            "endPort", "podSelector", "namespaceSelector", "ipBlock", "cidr", "except", "matchLabels",
            "matchExpressions", "key", "operator", "values", "ingress", "egress", "policyTypes", "from", "to",
            "endpointSelector", "nodeSelector", "fromEndpoints", "toCIDRSet", "toPorts", "rules", "http", "specs",
            "blocks", "start", "stop", "podCIDRs", "addresses", "clusterIP", "clusterIPs", "type", "selector");

    /** YAML syntax and scalars spliced into text. */
    static final List<String> TOKENS = List.of(":", ": ", "- ", "-", "{", "}", "[", "]", ",", "&a ", "*a", "*b",
            "<<: *a", "!!binary ", "!!str ", "!!int ", "!!map ", "!foo ", "? ", "|", ">-", "\t", "\n", "\n---\n", "\n...\n",
            "%YAML 1.2\n---\n", "#", "'", "\"", "\\", "\\u0000", "\u0000", "\uFEFF", "\uD800", "😀", "~", "null",
            "1e999", "0x1F", "0o17", "-.inf", ".nan", "99999999999999999999999", "  ", "\r\n", "@", "`", "=");

    /** One to three text mutations: truncation, deletion, splicing, line shuffles, byte changes. */
    public String mutateText(String s) {
        for (int m = 1 + below(3); m > 0; m--) {
            int n = s.length();
            int at = n == 0 ? 0 : below(n + 1);
            s = switch (below(7)) {
                case 0 -> s.substring(0, at);
                case 1 -> s.substring(0, at) + s.substring(Math.min(n, at + 1 + below(20)));
                case 2, 3 -> s.substring(0, at) + pick(TOKENS) + s.substring(at);
                case 4 -> lines(s, true);
                case 5 -> lines(s, false);
                default -> n == 0 ? s : s.substring(0, Math.min(at, n - 1)) + (char) below(0x10000) + s.substring(Math.min(at, n - 1) + 1);
            };
        }
        return s;
    }

    private String lines(String s, boolean duplicate) {
        List<String> l = new ArrayList<>(s.lines().toList());
        if (l.isEmpty()) return s;
        int i = below(l.size());
        if (duplicate) l.add(i, l.get(i));
        else java.util.Collections.swap(l, i, below(l.size()));
        return String.join("\n", l) + "\n";
    }

    /** The tree as YAML or, sometimes, as JSON (which YAML also reads). */
    public String render(JsonNode n) {
        if (chance(0.3)) return JSON.writeValueAsString(n) + "\n";
        try {
            return YAML.writeValueAsString(n);
        } catch (RuntimeException e) { // a value YAML cannot write (a lone surrogate): JSON can
            return JSON.writeValueAsString(n) + "\n";
        }
    }

    /** The input as a failure message shows it: escaped, at most 2000 characters. */
    public static String show(String s) {
        String t = s.length() > 2000 ? s.substring(0, 2000) + "... (" + s.length() + " chars)" : s;
        return JSON.writeValueAsString(t);
    }
}
