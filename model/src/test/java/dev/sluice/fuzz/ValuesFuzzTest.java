package dev.sluice.fuzz;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.sluice.config.Values;
import dev.sluice.k8s.ManifestException;
import java.time.Duration;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * Fuzzes the values decoder with mutations of a file that sets every key: each case is valid
 * values or one {@link ManifestException} whose message is one line naming the file, never
 * another exception, never a hang.
 */
class ValuesFuzzTest {
    static final String FILE = "values.yaml";
    static final Duration BOUND = Duration.ofSeconds(20);
    static final String ALL = """
            routingMode: native
            tunnelProtocol: vxlan
            tunnelPort: 8472
            mtu: 1450
            ipam:
              mode: cluster-pool
              operator: {clusterPoolIPv4PodCIDRList: [10.0.0.0/8], clusterPoolIPv4MaskSize: 24}
            kubeProxyReplacement: true
            k8sServiceHost: 10.0.0.1
            k8sServicePort: 6443
            bpf: {masquerade: true, ctTcpMax: 524288, ctAnyMax: 262144, policyMapMax: 16384, lbMapMax: 65536}
            conntrack: {enabled: true}
            loadBalancer: {algorithm: maglev}
            lb: {algorithm: maglev}
            serviceNoBackendResponse: drop
            maglev: {tableSize: 16381, hashSeed: JLfvgnHc2kaSUFaI}
            lbExternalIPPool: {cidr: 192.168.100.0/24}
            externalIPs: {allowedCIDRs: [203.0.113.0/24]}
            nodePort: {range: "30000,32767"}
            serviceCIDR: 10.96.0.0/12
            policyEnforcementMode: default
            policyEnforceMode: always
            policyAuditMode: false
            labels: "k8s:app k8s:io.kubernetes.pod.namespace"
            hubble:
              enabled: true
              relay: {enabled: true, replicas: 2}
              ui: {enabled: false}
              metrics: {enabled: [dns, drop, tcp, flow]}
            resources: {limits: {cpu: 1, memory: 1Gi}, requests: {cpu: 100m, memory: 128Mi}}
            debug: {enabled: false}
            cluster: {name: lab}
            """;
    static final JsonNode TREE = YAMLMapper.builder().build().readTree(ALL);

    static Stream<Long> seeds() { return Fuzz.seeds(600); }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void mutatedValues(long seed) {
        Fuzz f = new Fuzz(seed);
        int kind = f.below(10);
        String text = kind < 8 ? f.render(f.mutate(TREE)) : ALL;
        check(seed, kind >= 6 ? f.mutateText(text) : text);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            alias, read as its name  | 'tunnelPort: &p 9000\\nmtu: *p'                  | line 2: YAML alias *p (expected: the value written out
            duplicate key            | 'mtu: 1500\\nmtu: 9000'                          | line 2: not valid YAML: Duplicate Object property "mtu"
            two documents            | 'mtu: 1500\\n---\\nmtu: 9000'                    | 2 YAML documents (expected: one map of values)
            object taken as a list   | 'labels: {a: b}'                                 | labels: {"a":"b"} (expected: a list of strings)
            null in a list           | 'hubble: {metrics: {enabled: [dns, null]}}'      | hubble.metrics.enabled: ["dns",null] (expected: a list of strings)
            group given a scalar     | 'bpf: 5'                                         | bpf: 5 (expected: a map of bpf.* keys)
            newline in a key         | '"a\\u000ab": 1'                                   | a\\nb: unknown key
            billion laughs           | 'a: &a [1,1]\\nb: &b [*a,*a]\\nc: [*b,*b]'        | YAML alias *a
            """)
    void badValues(String name, String text, String expected) {
        String t = text.replace("\\n", "\n");
        assertThat(outcome(t)).startsWith(FILE + ": ").contains(expected);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            empty group       | 'hubble:\\nmtu: 1500'
            emoji at 1024     | '# PAD\uD83D\uDE00\\nmtu: 1500'
            """)
    void goodValues(String name, String text) {
        // PAD puts the emoji's first half at char 1024, where the YAML reader's first buffer ends
        String t = text.replace("\\n", "\n").replace("PAD", "x".repeat(1022));
        assertThat(outcome(t)).isEqualTo("ok");
    }

    /** "ok", or the error message after checking it is one well-formed line. */
    static String outcome(String text) {
        try {
            Values.parse(FILE, text, Map.of());
            return "ok";
        } catch (ManifestException e) {
            assertThat(e.getMessage()).as("one line").doesNotContain("\n", "\r", "\u0085", "\u2028", "\u2029").startsWith(FILE + ": ")
                    .hasSizeLessThan(2500);
            assertThat(e.problem()).as("names the problem").isNotBlank();
            return e.getMessage();
        }
    }

    static void check(long seed, String text) {
        assertTimeoutPreemptively(BOUND, () -> {
            try {
                outcome(text);
            } catch (AssertionError | Exception | StackOverflowError e) {
                throw new AssertionError("seed " + seed + ": " + e + "\ninput: " + Fuzz.show(text), e);
            }
        }, () -> "seed " + seed + ": no answer within " + BOUND + "\ninput: " + Fuzz.show(text));
    }
}
