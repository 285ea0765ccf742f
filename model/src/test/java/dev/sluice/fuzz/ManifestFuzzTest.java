package dev.sluice.fuzz;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.sluice.k8s.ClusterNode;
import dev.sluice.k8s.Kinds;
import dev.sluice.k8s.KubeObject;
import dev.sluice.k8s.LbIpPool;
import dev.sluice.k8s.ManifestException;
import dev.sluice.k8s.ManifestFiles;
import dev.sluice.k8s.ManifestReader;
import dev.sluice.k8s.Service;
import dev.sluice.policy.PolicyInputs;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * Fuzzes the manifest reader and every kind decoder with mutated valid manifests (the golden and
 * demo inputs plus the examples below). Every case ends in decoded objects or one
 * {@link ManifestException} per bad object whose message is one line naming the file and where;
 * never another exception, never a hang.
 */
class ManifestFuzzTest {
    static final String FILE = "fuzz.yaml";
    static final Duration BOUND = Duration.ofSeconds(20);

    /** Kinds and fields the golden inputs do not cover. */
    static final String EXTRA = """
            apiVersion: v1
            kind: Node
            metadata: {name: n1, labels: {zone: a}}
            spec: {podCIDR: 10.0.9.0/24, providerID: x, taints: []}
            status: {addresses: [{type: Hostname, address: n1}, {type: InternalIP, address: 192.168.9.1}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: all, namespace: x, labels: {a: b}}
            spec:
              type: LoadBalancer
              clusterIP: 10.96.0.9
              clusterIPs: [10.96.0.9]
              selector: {app: web}
              ports:
              - {name: http, port: 80, targetPort: http, nodePort: 30080, protocol: TCP, appProtocol: http}
              - {name: dns, port: 53, targetPort: 5353, protocol: UDP}
              externalIPs: [203.0.113.9]
              sessionAffinity: ClientIP
              sessionAffinityConfig: {clientIP: {timeoutSeconds: 60}}
              externalTrafficPolicy: Local
              internalTrafficPolicy: Cluster
              healthCheckNodePort: 32000
              publishNotReadyAddresses: false
              allocateLoadBalancerNodePorts: true
              loadBalancerIP: 192.0.2.9
              loadBalancerSourceRanges: [198.51.100.0/24]
              ipFamilies: [IPv4]
              ipFamilyPolicy: SingleStack
            status: {loadBalancer: {ingress: [{ip: 192.0.2.9}]}}
            ---
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: many, namespace: x}
            specs:
            - endpointSelector: {matchExpressions: [{key: k8s:app, operator: In, values: [a, b]}]}
              enableDefaultDeny: {ingress: true}
              ingress:
              - fromCIDR: [10.1.0.0/16]
                toPorts: [{ports: [{port: http, protocol: ANY}]}]
              - fromEntities: [world, cluster]
            - endpointSelector: {}
              egressDeny: [{toEndpoints: [{matchLabels: {reserved:host: ""}}]}]
            ---
            apiVersion: cilium.io/v2
            kind: CiliumClusterwideNetworkPolicy
            metadata: {name: nodes}
            spec:
              nodeSelector: {matchLabels: {role: edge}}
              ingress: [{fromEntities: [all], toPorts: [{ports: [{port: "0"}]}]}]
            ---
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: blocks, namespace: x}
            spec:
              podSelector: {matchExpressions: [{key: app, operator: NotIn, values: [db]}]}
              policyTypes: [Ingress, Egress]
              ingress: [{from: [{namespaceSelector: {matchLabels: {team: a}}, podSelector: {}}], ports: [{port: 8000, endPort: 8080}]}]
              egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}], ports: [{port: dns, protocol: UDP}]}]
            ---
            apiVersion: v1
            kind: List
            items:
            - {apiVersion: v1, kind: Namespace, metadata: {name: x, labels: {team: a}}}
            """;

    /** The documents of each corpus file, parsed once. */
    static final List<List<JsonNode>> CORPUS = corpus();

    static List<List<JsonNode>> corpus() {
        List<String> texts = new ArrayList<>(List.of(EXTRA));
        Path home = Path.of(System.getProperty("sluice.home", ".."));
        for (Path dir : List.of(home.resolve("model/src/test/resources"), home.resolve("examples"))) {
            try (Stream<Path> s = Files.walk(dir)) {
                for (Path p : s.filter(f -> f.toString().endsWith(".yaml") && !f.getFileName().toString().equals("values.yaml")).sorted().toList())
                    texts.add(Files.readString(p));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        YAMLMapper yaml = YAMLMapper.builder().build();
        List<List<JsonNode>> out = new ArrayList<>();
        for (String t : texts) {
            try (var it = yaml.readerFor(JsonNode.class).<JsonNode>readValues(t)) {
                out.add(it.readAll().stream().filter(n -> n != null && !n.isNull() && !n.isMissingNode()).toList());
            }
        }
        return out;
    }

    static Stream<Long> seeds() { return Fuzz.seeds(1000); }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void mutatedManifests(long seed) {
        Fuzz f = new Fuzz(seed);
        String text = mutated(f);
        check(seed, text);
    }

    /** A corpus file with some of its documents mutated as trees, then maybe as text. */
    static String mutated(Fuzz f) {
        List<JsonNode> docs = f.pick(CORPUS);
        if (f.chance(0.6)) docs = List.of(f.pick(docs)); // one object: the decoders see more of it
        int kind = f.below(10);
        StringBuilder sb = new StringBuilder();
        for (JsonNode d : docs) {
            JsonNode m = kind < 8 && (docs.size() == 1 || f.chance(0.3)) ? f.mutate(d) : d;
            sb.append(sb.isEmpty() ? "" : "---\n").append(f.render(m));
        }
        String text = sb.toString();
        return kind >= 6 ? f.mutateText(text) : text;
    }

    /** Inputs built to hurt: expansion bombs, deep nesting, huge and many documents. */
    static Stream<Arguments> hostile() {
        String laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "bcdefghij".chars().mapToObj(c -> (char) c + ": &" + (char) c
                + " [" + ("*" + (char) (c - 1) + ", ").repeat(9) + "*" + (char) (c - 1) + "]\n").collect(Collectors.joining());
        return Stream.of(
                Arguments.of("billion laughs", laughs),
                Arguments.of("alias as a manifest", "x: &p {apiVersion: v1, kind: Namespace, metadata: {name: a}}\n---\n*p\n"),
                Arguments.of("deep flow list", "[".repeat(100_000)),
                Arguments.of("deep flow map", "{a: ".repeat(100_000)),
                Arguments.of("deep block list", "- ".repeat(20_000) + "x\n"),
                Arguments.of("deep block map", buildDeepBlock(3000)),
                Arguments.of("many documents", "---\n".repeat(50_000)),
                Arguments.of("many namespaces", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n".repeat(5_000)),
                Arguments.of("huge name", "apiVersion: v1\nkind: Namespace\nmetadata: {name: " + "a".repeat(300_000) + "}\n"),
                Arguments.of("huge key", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n" + "k".repeat(100_000) + ": 1\n"),
                Arguments.of("wide map", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  labels:\n"
                        + IntStream.range(0, 20_000).mapToObj(i -> "    k" + i + ": v\n").collect(Collectors.joining())),
                Arguments.of("binary", "\u0000\u0001\u0002\uFFFE\uFFFF"),
                Arguments.of("bom and directive", "\uFEFF%YAML 1.1\n%TAG ! tag:x,2000:\n---\n!x {apiVersion: v1}\n"),
                Arguments.of("python tag", "apiVersion: !!python/object/apply:os.system [\"true\"]\nkind: Pod\n"),
                Arguments.of("complex key", "? [a, b]\n: c\n"),
                Arguments.of("tabs", "apiVersion:\tv1\n\tkind: Pod\n"));
    }

    static String buildDeepBlock(int depth) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < depth; i++) sb.append("  ".repeat(i)).append("a:\n");
        return sb.append("  ".repeat(depth)).append("x\n").toString();
    }

    /** Inputs the fuzzer found mishandled, with the answer each gets now ("" when it decodes). */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            alias read as its name            | 'apiVersion: v1\\nkind: Pod\\nmetadata: {name: &n web, labels: {app: *n}}\\nspec: {containers: [{name: c}]}' | fuzz.yaml: line 3: YAML alias *n (expected: the value written out; aliases are not supported)
            duplicate key kept the last        | 'apiVersion: v1\\nkind: Namespace\\nmetadata: {name: a, name: b}'   | fuzz.yaml: line 3: not valid YAML: Duplicate Object property "name"
            integer beyond long               | 'apiVersion: v1\\nkind: Pod\\nmetadata: {name: a}\\nspec: {containers: [{name: c, ports: [{containerPort: 99999999999999999999}]}]}' | fuzz.yaml: Pod default/a: spec.containers[0].ports[0].containerPort: 99999999999999999999 (expected: an integer 1-65535)
            targetPort beyond long             | 'apiVersion: v1\\nkind: Service\\nmetadata: {name: a}\\nspec: {ports: [{port: 80, targetPort: 99999999999999999999}]}' | spec.ports[0].targetPort: 99999999999999999999 (expected: an integer 1-65535)
            policy port beyond long            | 'apiVersion: networking.k8s.io/v1\\nkind: NetworkPolicy\\nmetadata: {name: a}\\nspec: {podSelector: {}, ingress: [{ports: [{port: -99999999999999999999}]}]}' | spec.ingress[0].ports[0].port: -99999999999999999999 (expected: an integer 1-65535)
            newline in a value (seed 875)      | '{"apiVersion":"v1","kind":"Node","metadata":{"name":"n"},"spec":{"podCIDRs":["a\\u000ab"]}}' | fuzz.yaml: Node n: spec.podCIDRs[0]: a\\nb (expected: an IPv4 CIDR a.b.c.d/n)
            newline in a key (seed 1400)       | '{"apiVersion":"v1","kind":"Service","metadata":{"name":"s","a\\u000ab":1},"spec":{"ports":[{"port":80}]}}' | fuzz.yaml: Service default/s: metadata.a\\nb: unknown field
            a huge name is cut in the message  | 'apiVersion: v1\\nkind: Namespace\\nmetadata: {name: HUGE}' | more characters)...aaa
            emoji at char 1024 (seed 642)      | 'apiVersion: v1\\nkind: Namespace\\nmetadata: {name: a}\\n# PAD\uD83D\uDE00' | ''
            """)
    void regressions(String name, String text, String expected) {
        // PAD puts the emoji's first half at char 1024, where the YAML reader's first buffer ends
        String t = text.replace("\\n", "\n");
        t = t.replace("PAD", "x".repeat(1024 - t.indexOf("PAD"))).replace("HUGE", "a".repeat(100_000));
        List<String> errors = decodeAll(t);
        if (expected.isEmpty()) assertThat(errors).isEmpty();
        else assertThat(errors).hasSize(1).first().asString().contains(expected);
    }

    /** A file that is not UTF-8 said "cannot read: Input length = 1". */
    @Test
    void fileNotUtf8(@TempDir Path dir) throws IOException {
        Path f = Files.write(dir.resolve("latin1.yaml"), "apiVersion: v1\nkind: Namespace\nmetadata: {name: caf\u00e9}\n"
                .getBytes(StandardCharsets.ISO_8859_1));
        assertThatThrownBy(() -> ManifestFiles.load(List.of(f)))
                .hasMessage(f + ": not UTF-8 text (expected: YAML or JSON in UTF-8)");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("hostile")
    void hostileInputs(String name, String text) {
        check(0, text);
    }

    /** Reads and decodes everything; any outcome but objects or well-formed ManifestExceptions fails. */
    static void check(long seed, String text) {
        assertTimeoutPreemptively(BOUND, () -> {
            try {
                decodeAll(text);
            } catch (AssertionError | Exception | StackOverflowError e) {
                throw new AssertionError("seed " + seed + ": " + e + "\ninput: " + Fuzz.show(text), e);
            }
        }, () -> "seed " + seed + ": no answer within " + BOUND + "\ninput: " + Fuzz.show(text));
    }

    /** The error messages, each checked to be well formed; empty when everything decoded. */
    static List<String> decodeAll(String text) {
        List<ManifestException> errors = new ArrayList<>();
        List<KubeObject> objects;
        try {
            objects = ManifestReader.parse(FILE, text);
        } catch (ManifestException e) {
            objects = List.of();
            errors.add(e);
        }
        for (KubeObject o : objects) {
            try {
                switch (o.kind()) { // Namespace, Pod and the policy kinds: PolicyInputs below
                    case Kinds.NODE -> ClusterNode.decode(o);
                    case Kinds.SERVICE -> Service.decode(o);
                    case Kinds.CILIUM_LB_IP_POOL -> LbIpPool.decode(o);
                    default -> { }
                }
            } catch (ManifestException e) {
                errors.add(e);
            }
        }
        errors.addAll(PolicyInputs.decode(objects).errors());
        errors.forEach(ManifestFuzzTest::wellFormed);
        return errors.stream().map(ManifestException::getMessage).toList();
    }

    /** One line naming the file and a place in it (document, line, object or field), then the problem. */
    static void wellFormed(ManifestException e) {
        assertThat(e.getMessage()).as("one line").doesNotContain("\n", "\r", "\u0085", "\u2028", "\u2029").startsWith(FILE + ": ")
                .hasSizeLessThan(2500);
        assertThat(e.object() + e.field()).as("names where").isNotBlank();
        assertThat(e.problem()).as("names the problem").isNotBlank();
    }
}
