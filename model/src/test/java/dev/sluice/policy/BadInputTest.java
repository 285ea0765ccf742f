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
            http on udp      | ingress: [{toPorts: [{ports: [{port: '80', protocol: UDP}], rules: {http: [{}]}}]}] | spec.ingress[0].toPorts[0].ports[0].protocol: UDP with HTTP rules (expected: TCP or ANY for HTTP rules)
            fqdn on ingress  | ingress: [{toFQDNs: [{matchName: a.com}]}]                     | spec.ingress[0].toFQDNs: in an ingress rule (expected: toFQDNs only in egress rules
            fromFQDNs        | ingress: [{fromFQDNs: [{matchName: a.com}]}]                   | spec.ingress[0].fromFQDNs: in an ingress rule
            fqdn in deny     | egressDeny: [{toFQDNs: [{matchName: a.com}]}]                  | spec.egressDeny[0].toFQDNs: in an egressDeny rule (expected: toFQDNs only in egress allow rules
            fqdn with peers  | egress: [{toFQDNs: [{matchName: a.com}], toEndpoints: [{}]}]   | spec.egress[0].toFQDNs: given with toEndpoints (expected: toFQDNs as the rule's only peers
            fqdn with cidr   | egress: [{toFQDNs: [{matchName: a.com}], toCIDR: [1.2.3.4/32]}] | spec.egress[0].toFQDNs: given with toCIDR
            fqdn with entity | egress: [{toFQDNs: [{matchPattern: '*'}], toEntities: [world]}] | spec.egress[0].toFQDNs: given with toEntities
            fqdn both        | egress: [{toFQDNs: [{matchName: a.com, matchPattern: '*.a.com'}]}] | spec.egress[0].toFQDNs[0].matchName: given with matchPattern (expected: exactly one of matchName or matchPattern)
            fqdn neither     | egress: [{toFQDNs: [{}]}]                                      | spec.egress[0].toFQDNs[0].matchName: missing (expected: exactly one of matchName or matchPattern)
            fqdn unknown key | egress: [{toFQDNs: [{matchNames: a.com}]}]                     | spec.egress[0].toFQDNs[0].matchNames: unknown field
            fqdn bad char    | egress: [{toFQDNs: [{matchName: 'a*.com'}]}]                   | spec.egress[0].toFQDNs[0].matchName: "a*.com": character '*' at 1 (expected only letters, digits, '-', '_', '.')
            fqdn space       | egress: [{toFQDNs: [{matchName: 'a b.com'}]}]                  | spec.egress[0].toFQDNs[0].matchName: "a b.com": character ' ' at 1
            fqdn regex       | egress: [{toFQDNs: [{matchPattern: '(.*).com'}]}]              | spec.egress[0].toFQDNs[0].matchPattern: "(.*).com": character '(' at 0 (expected only letters, digits, '-', '_', '.' and '*')
            fqdn empty       | egress: [{toFQDNs: [{matchName: ''}]}]                         | spec.egress[0].toFQDNs[0].matchName: "": empty
            fqdn empty label | egress: [{toFQDNs: [{matchName: 'a..com'}]}]                   | spec.egress[0].toFQDNs[0].matchName: "a..com": an empty label
            fqdn leading dot | egress: [{toFQDNs: [{matchPattern: '.a.com'}]}]                | spec.egress[0].toFQDNs[0].matchPattern: ".a.com": an empty label
            fqdn double star | egress: [{toFQDNs: [{matchPattern: '**.a.com'}]}]              | spec.egress[0].toFQDNs[0].matchPattern: "**.a.com": '**' (expected: '*' within one label
            fqdn long label  | egress: [{toFQDNs: [{matchName: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com'}]}] | longer than 63 characters
            fqdn not object  | egress: [{toFQDNs: [a.com]}]                                   | spec.egress[0].toFQDNs[0]
            dns on ingress   | ingress: [{toPorts: [{ports: [{port: '53', protocol: UDP}], rules: {dns: [{matchPattern: '*'}]}}]}] | spec.ingress[0].toPorts[0].rules.dns: in an ingress rule (expected: DNS rules only in egress rules)
            dns in deny      | egressDeny: [{toPorts: [{ports: [{port: '53'}], rules: {dns: [{matchPattern: '*'}]}}]}] | spec.egressDeny[0].toPorts[0].rules: in a deny rule
            dns and http     | egress: [{toPorts: [{ports: [{port: '53'}], rules: {dns: [{matchPattern: '*'}], http: [{}]}}]}] | spec.egress[0].toPorts[0].rules.dns: given with http (expected: one L7 kind per port rule
            dns no ports     | egress: [{toPorts: [{rules: {dns: [{matchPattern: '*'}]}}]}]   | spec.egress[0].toPorts[0].ports: missing (expected: at least one port for DNS rules
            dns port 0       | egress: [{toPorts: [{ports: [{port: '0', protocol: UDP}], rules: {dns: [{matchPattern: '*'}]}}]}] | spec.egress[0].toPorts[0].ports[0].port: 0 (expected: a specific port for DNS rules
            dns sctp         | egress: [{toPorts: [{ports: [{port: '53', protocol: SCTP}], rules: {dns: [{matchPattern: '*'}]}}]}] | spec.egress[0].toPorts[0].ports[0].protocol: SCTP with DNS rules (expected: UDP, TCP or ANY for DNS rules)
            dns both fields  | egress: [{toPorts: [{ports: [{port: '53'}], rules: {dns: [{matchName: a.com, matchPattern: '*'}]}}]}] | spec.egress[0].toPorts[0].rules.dns[0].matchName: given with matchPattern
            dns bad pattern  | egress: [{toPorts: [{ports: [{port: '53'}], rules: {dns: [{matchPattern: 'a/b'}]}}]}] | spec.egress[0].toPorts[0].rules.dns[0].matchPattern: "a/b": character '/' at 1
            dns unknown key  | egress: [{toPorts: [{ports: [{port: '53'}], rules: {dns: [{name: a.com}]}}]}] | spec.egress[0].toPorts[0].rules.dns[0].name: unknown field
            """)
    void cilium(String name, String rule, String expected) {
        String bad = CiliumConformanceTest.cnp("x", "bad", "endpointSelector: {}\n" + rule + "\n");
        var d = PolicyInputs.decode(ManifestReader.parse("cnp.yaml", bad + GOOD));
        assertThat(d.errors()).hasSize(1);
        assertThat(d.errors().getFirst().getMessage()).startsWith("cnp.yaml: CiliumNetworkPolicy x/bad: ").contains(expected);
        assertThat(d.inputs().policies()).extracting(Policy::name).containsExactly("good");
    }
}
