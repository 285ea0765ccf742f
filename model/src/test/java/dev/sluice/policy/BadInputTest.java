package dev.sluice.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.k8s.ManifestReader;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Bad policies: one clear error naming file, object and field; the good policies still compute. */
class BadInputTest {
    static final String GOOD = NetworkPolicyConformanceTest.np("x", "good", "podSelector: {}\npolicyTypes: [Ingress]\n");

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            unknown operator     | podSelector: {matchExpressions: [{key: a, operator: Has}]}                 | spec.podSelector.matchExpressions[0].operator: Has (expected one of: In, NotIn, Exists, DoesNotExist)
            In without values    | podSelector: {matchExpressions: [{key: a, operator: In}]}                  | spec.podSelector.matchExpressions[0].values: missing or empty
            Exists with values   | podSelector: {matchExpressions: [{key: a, operator: Exists, values: [b]}]} | spec.podSelector.matchExpressions[0].values: must be empty
            bad label key        | podSelector: {matchLabels: {'a b': c}}                                       | spec.podSelector.matchLabels.a b: invalid label key
            port out of range    | ingress: [{ports: [{port: 70000}]}]                                          | spec.ingress[0].ports[0].port: 70000 (expected: 1-65535)
            endPort below port   | ingress: [{ports: [{port: 90, endPort: 80}]}]                                | spec.ingress[0].ports[0].endPort: 80 is below port 90
            bad cidr             | ingress: [{from: [{ipBlock: {cidr: 10.0.0.300/8}}]}]                         | spec.ingress[0].from[0].ipBlock.cidr: 10.0.0.300/8 (expected: an IPv4 CIDR
            bad protocol         | ingress: [{ports: [{protocol: ICMP}]}]                                       | spec.ingress[0].ports[0].protocol: ICMP (expected one of: TCP, UDP, SCTP)
            unknown field        | ingress: [{form: []}]                                                        | spec.ingress[0].form: unknown field (expected one of: from, ports)
            empty peer           | ingress: [{from: [{}]}]                                                      | spec.ingress[0].from[0]: empty peer
            """)
    void networkPolicy(String name, String spec, String expected) {
        String bad = NetworkPolicyConformanceTest.np("x", "bad", "podSelector: {}\n" + (spec.startsWith("podSelector") ? "" : spec + "\n"))
                .replace("podSelector: {}\n", spec.startsWith("podSelector") ? spec + "\n" : "podSelector: {}\n");
        var d = PolicyInputs.decode(ManifestReader.parse("np.yaml", bad + GOOD));
        assertThat(d.errors()).hasSize(1);
        assertThat(d.errors().getFirst().getMessage()).startsWith("np.yaml: NetworkPolicy x/bad: ").contains(expected);
        assertThat(d.inputs().policies()).extracting(Policy::name).containsExactly("good");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            unknown entity   | ingress: [{fromEntities: [everything]}]                       | spec.ingress[0].fromEntities[0]: everything (expected one of: all, world
            bad cidr         | egress: [{toCIDR: [300.1.1.1/8]}]                              | spec.egress[0].toCIDR[0]: 300.1.1.1/8
            except outside   | egress: [{toCIDRSet: [{cidr: 10.0.0.0/8, except: [11.0.0.0/8]}]}] | spec.egress[0].toCIDRSet[0].except[0]: 11.0.0.0/8 is not inside 10.0.0.0/8
            bad regex        | ingress: [{toPorts: [{ports: [{port: '80'}], rules: {http: [{path: '(['}]}}]}] | spec.ingress[0].toPorts[0].rules.http[0].path: "([" (expected: a regular expression
            l7 in deny       | ingressDeny: [{toPorts: [{ports: [{port: '80'}], rules: {http: [{}]}}]}] | spec.ingressDeny[0].toPorts[0].rules: in a deny rule
            kafka            | ingress: [{toPorts: [{ports: [{port: '9092'}], rules: {kafka: [{}]}}]}] | spec.ingress[0].toPorts[0].rules.kafka: not supported yet
            toGroups         | egress: [{toGroups: [{aws: {}}]}]                              | spec.egress[0].toGroups: not supported yet
            unknown field    | ingress: [{fromEndpoint: [{}]}]                                | spec.ingress[0].fromEndpoint: unknown field
            port range       | ingress: [{toPorts: [{ports: [{port: '80', endPort: 70000}]}]}] | spec.ingress[0].toPorts[0].ports[0].endPort: 70000 (expected: 0-65535)
            """)
    void cilium(String name, String rule, String expected) {
        String bad = CiliumConformanceTest.cnp("x", "bad", "endpointSelector: {}\n" + rule + "\n");
        var d = PolicyInputs.decode(ManifestReader.parse("cnp.yaml", bad + GOOD));
        assertThat(d.errors()).hasSize(1);
        assertThat(d.errors().getFirst().getMessage()).startsWith("cnp.yaml: CiliumNetworkPolicy x/bad: ").contains(expected);
        assertThat(d.inputs().policies()).extracting(Policy::name).containsExactly("good");
    }
}
