package dev.sluice.agent.fuzz;

import java.nio.charset.StandardCharsets;
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

/**
 * Seeded generators and mutators shared by the agent's fuzz tests (CNI handler, CNI plugin, API
 * server): one seed always gives the same input, so a failure is replayed with
 * {@code -Dfuzz.seed=S -Dfuzz.cases=1}, and more cases are explored with {@code -Dfuzz.cases=N}.
 */
public final class Fuzz {
    private static final JsonNodeFactory F = JsonNodeFactory.instance;
    public static final JsonMapper JSON = JsonMapper.builder().build();

    /** Strings aimed at what the agent does with them: ip(8) batch lines, paths, files, messages. */
    static final List<String> NASTY = List.of("", " ", "a", ".", "..", "/", "eth0", "eth0 ", " eth0", "eth0\nlink del lo",
            "eth0 type dummy", "eth0\"", "#eth0", "eth0:1", "eth/0", "0123456789abcdef", "e".repeat(16), "/proc/1/ns/net",
            "/var/run/netns/x y", "/x\nlink set lo down", "relative/netns", "../../etc/passwd", "/tmp/\u0000x", "c0ffee\"1",
            "-rf", "K8S_POD_NAMESPACE=x;K8S_POD_NAME=a", "K8S_POD_NAMESPACE=x;K8S_POD_NAME=a\nb", "K8S_POD_NAMESPACE=X;K8S_POD_NAME=a",
            "K8S_POD_NAMESPACE=x;K8S_POD_NAME=" + "a".repeat(300), ";;==;", "=x", "ADD", "DEL", "VERSION", "add", "0.2.0",
            "1.1.0", "1.1", "ё", "😀", "\uD800", "\u202E", "\u0000", "\t", "\r\n", "%s%n", "null", "-1", "1e999",
            "x".repeat(70_000));

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
        return switch (below(3)) {
            case 0, 1 -> pick(NASTY);
            default -> {
                var sb = new StringBuilder();
                for (int i = below(20); i > 0; i--) sb.appendCodePoint(chance(0.7) ? 0x20 + below(0x5f) : below(0x110000));
                yield sb.toString();
            }
        };
    }

    /** A value of any JSON type, often not the one expected. */
    public JsonNode value(int depth) {
        return switch (below(depth > 2 ? 7 : 9)) {
            case 0 -> F.nullNode();
            case 1 -> F.booleanNode(r.nextBoolean());
            case 2 -> F.numberNode(r.nextLong());
            case 3 -> F.numberNode(new java.math.BigInteger("9".repeat(1 + below(40))));
            case 4 -> F.numberNode(r.nextDouble() * 1e300);
            case 5, 6 -> F.stringNode(string());
            case 7 -> {
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

    /** A copy of {@code tree} with one to four mutations: fields deleted, retyped, renamed, added, nulled. */
    public JsonNode mutate(JsonNode tree) {
        JsonNode root = tree.deepCopy();
        for (int m = 1 + below(4); m > 0; m--) {
            List<JsonNode> containers = new ArrayList<>();
            collect(root, containers);
            if (containers.isEmpty()) return value(0);
            JsonNode c = pick(containers);
            if (c instanceof ObjectNode o) {
                List<String> names = new ArrayList<>(o.propertyNames());
                if (names.isEmpty() || chance(0.15)) {
                    o.set(string(), value(0));
                    continue;
                }
                String k = pick(names);
                switch (below(5)) {
                    case 0 -> o.remove(k);
                    case 1 -> o.set(k, F.stringNode(string()));
                    case 2 -> o.set(k, F.nullNode());
                    case 3 -> o.set(k, F.stringNode(o.get(k).asString("") + string()));
                    default -> o.set(k, value(0));
                }
            } else if (c instanceof ArrayNode a) {
                if (a.isEmpty() || chance(0.3)) a.add(value(0));
                else a.set(below(a.size()), value(0));
            }
        }
        return root;
    }

    private static void collect(JsonNode n, List<JsonNode> out) {
        if (n.isContainer()) out.add(n);
        for (JsonNode c : n.values()) collect(c, out);
    }

    /** JSON syntax spliced into text. */
    static final List<String> TOKENS = List.of("{", "}", "[", "]", ",", ":", "\"", "\\", "\\u", "\\ud800", "\\u0000",
            "null", "true", "-", "0", "1e999", "01", " ", "\n", "\t", "//", "/*", "'", "NaN", "\u0000", "😀");

    /** Bytes that are not UTF-8 on their own: continuations, truncated leads, surrogates' lead, never-valid. */
    static final List<Byte> BAD_UTF8 = List.of((byte) 0x80, (byte) 0xc0, (byte) 0xc3, (byte) 0xe2, (byte) 0xed, (byte) 0xf0,
            (byte) 0xf5, (byte) 0xfe, (byte) 0xff);

    /** One to three byte-level mutations: truncation, deletion, splicing, invalid UTF-8, random bytes. */
    public byte[] mutateBytes(byte[] b) {
        for (int m = 1 + below(3); m > 0; m--) {
            int at = below(b.length + 1);
            byte[] insert = switch (below(6)) {
                case 0 -> null;
                case 1 -> new byte[0];
                case 2, 3 -> pick(TOKENS).getBytes(StandardCharsets.UTF_8);
                case 4 -> new byte[] {pick(BAD_UTF8)};
                default -> { byte[] x = new byte[1 + below(8)]; r.nextBytes(x); yield x; }
            };
            if (insert == null) { // truncate
                b = java.util.Arrays.copyOf(b, at);
                continue;
            }
            int cut = insert.length == 0 ? Math.min(b.length, at + 1 + below(10)) : at;
            byte[] out = new byte[at + insert.length + b.length - cut];
            System.arraycopy(b, 0, out, 0, at);
            System.arraycopy(insert, 0, out, at, insert.length);
            System.arraycopy(b, cut, out, at + insert.length, b.length - cut);
            b = out;
        }
        return b;
    }

    public static byte[] bytes(JsonNode n) { return JSON.writeValueAsBytes(n); }

    /** The input as a failure message shows it: escaped, at most 2000 characters. */
    public static String show(byte[] b) {
        String s = new String(b, StandardCharsets.UTF_8);
        String t = s.length() > 2000 ? s.substring(0, 2000) + "... (" + s.length() + " chars)" : s;
        return JSON.writeValueAsString(t);
    }
}
