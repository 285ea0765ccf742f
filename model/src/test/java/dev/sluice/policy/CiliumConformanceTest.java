package dev.sluice.policy;

import static dev.sluice.policy.E2eModel.expected;
import static dev.sluice.policy.E2eModel.matrix;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.identity.LabelFilter;
import dev.sluice.k8s.Protocol;
import java.util.Map;
import java.util.function.BiPredicate;
import org.junit.jupiter.api.Test;

/** CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy cases on the e2e model. */
class CiliumConformanceTest {
    static final Protocol TCP = Protocol.TCP, UDP = Protocol.UDP;

    static void check(String policies, String port, Protocol proto, BiPredicate<String, String> allowed) {
        assertThat(matrix(policies, port, proto)).isEqualTo(expected(allowed));
    }

    static String cnp(String ns, String name, String spec) {
        return "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: " + name + "\n  namespace: " + ns
                + "\nspec:\n" + spec.stripIndent().indent(2) + "---\n";
    }

    static String ccnp(String name, String spec) {
        return "apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata:\n  name: " + name
                + "\nspec:\n" + spec.stripIndent().indent(2) + "---\n";
    }

    static String np(String ns, String name, String spec) {
        return NetworkPolicyConformanceTest.np(ns, name, spec);
    }

    static boolean in(String pod, String ns) { return pod.startsWith(ns + "/"); }

    @Test void emptyEndpointSelectorsStayInThePolicyNamespace() {
        check(cnp("x", "same-ns", "endpointSelector: {}\ningress:\n- fromEndpoints:\n  - {}\n"), "80", TCP, (f, t) -> !in(t, "x") || in(f, "x"));
    }

    @Test void namespaceLabelLiftsTheRestriction() {
        for (String key : new String[] {"io.kubernetes.pod.namespace", "k8s:io.kubernetes.pod.namespace"}) {
            String p = cnp("x", "from-y", "endpointSelector: {matchLabels: {pod: a}}\ningress:\n- fromEndpoints:\n  - matchLabels: {\"" + key + "\": y, \"k8s:pod\": b}\n");
            check(p, "80", TCP, (f, t) -> !t.equals("x/a") || f.equals("y/b"));
        }
    }

    @Test void clusterwideEmptySelectorSelectsEveryPod() {
        check(ccnp("all", "endpointSelector: {}\ningress:\n- fromEndpoints:\n  - matchLabels: {pod: c}\n"), "80", TCP, (f, t) -> f.endsWith("/c"));
    }

    @Test void emptyRuleSectionEnablesDefaultDeny() {
        check(cnp("x", "deny", "endpointSelector: {}\ningress:\n- {}\n"), "80", TCP, (f, t) -> !in(t, "x"));
        check(cnp("x", "deny", "endpointSelector: {}\negress:\n- {}\n"), "80", TCP, (f, t) -> !in(f, "x"));
    }

    @Test void enableDefaultDenyFalseOnlyAdds() {
        String p = cnp("x", "deny", "endpointSelector: {}\ningress:\n- {}\n")
                + ccnp("no-default-deny", "endpointSelector: {}\nenableDefaultDeny: {ingress: false}\ningress:\n- fromEndpoints:\n  - matchLabels: {pod: b}\n");
        check(p, "80", TCP, (f, t) -> !in(t, "x") || f.endsWith("/b"));
        check(ccnp("open", "endpointSelector: {}\nenableDefaultDeny: {ingress: false}\ningress:\n- fromEndpoints:\n  - matchLabels: {pod: b}\n"),
                "80", TCP, (f, t) -> true);
    }

    @Test void l4OnlyRuleAllowsAnyPeer() {
        String p = cnp("x", "l4", "endpointSelector: {}\ningress:\n- toPorts:\n  - ports:\n    - port: \"80\"\n      protocol: TCP\n");
        check(p, "80", TCP, (f, t) -> true);
        check(p, "81", TCP, (f, t) -> !in(t, "x"));
        check(p, "80", UDP, (f, t) -> !in(t, "x"));
    }

    @Test void anyProtocolAndPortRange() {
        String p = cnp("x", "range", "endpointSelector: {}\ningress:\n- toPorts:\n  - ports:\n    - port: \"81\"\n      endPort: 100\n");
        check(p, "81", UDP, (f, t) -> true);
        check(p, "81", Protocol.SCTP, (f, t) -> true);
        check(p, "80", TCP, (f, t) -> !in(t, "x"));
    }

    @Test void entities() {
        check(cnp("x", "cluster", "endpointSelector: {}\ningress:\n- fromEntities: [cluster]\n"), "80", TCP, (f, t) -> true);
        check(cnp("x", "all", "endpointSelector: {}\ningress:\n- fromEntities: [all]\n"), "80", TCP, (f, t) -> true);
        check(cnp("x", "world", "endpointSelector: {}\ningress:\n- fromEntities: [world]\n"), "80", TCP, (f, t) -> !in(t, "x"));
        check(cnp("x", "host", "endpointSelector: {}\negress:\n- toEntities: [host, kube-apiserver]\n"), "80", TCP, (f, t) -> !in(f, "x"));
        var e = E2eModel.engine(cnp("x", "world", "endpointSelector: {}\ningress:\n- fromEntities: [world, host]\n"), EngineConfig.DEFAULT);
        var t = new PolicyAnalysis(e).trace("8.8.8.8", "x/a", "80", TCP, null);
        assertThat(t.verdict()).isEqualTo("allow");
        assertThat(t.ingress().matched()).containsExactly("CiliumNetworkPolicy x/world spec.ingress[0]");
    }

    @Test void cidrSetWithExceptMatchesPodAddresses() {
        String p = cnp("x", "cidr", "endpointSelector: {}\negress:\n- toCIDRSet:\n  - cidr: 10.0.2.0/24\n    except: [10.0.2.2/32]\n- toCIDR: [10.0.3.3/32]\n");
        check(p, "80", TCP, (f, t) -> !in(f, "x") || t.equals("y/a") || t.equals("y/c") || t.equals("z/c"));
        var e = E2eModel.engine(p, EngineConfig.DEFAULT);
        assertThat(new PolicyAnalysis(e).trace("x/a", "10.0.2.77", "443", TCP, null).verdict()).isEqualTo("allow");
        assertThat(new PolicyAnalysis(e).trace("x/a", "1.1.1.1", "443", TCP, null).verdict()).isEqualTo("deny");
    }

    @Test void denyWinsAcrossPolicyKinds() {
        String p = np("x", "allow-all", "podSelector: {}\ningress:\n- {}\n")
                + cnp("x", "deny-b", "endpointSelector: {matchLabels: {pod: a}}\ningressDeny:\n- fromEndpoints:\n  - matchLabels: {\"k8s:io.kubernetes.pod.namespace\": y, pod: b}\n  toPorts:\n  - ports:\n    - port: \"80\"\n      protocol: TCP\n");
        check(p, "80", TCP, (f, t) -> !(t.equals("x/a") && f.equals("y/b")));
        check(p, "81", TCP, (f, t) -> true);
    }

    @Test void denyOnlyPolicyEnablesDefaultDenyForItsDirection() {
        String p = cnp("x", "deny-b", "endpointSelector: {matchLabels: {pod: a}}\ningressDeny:\n- fromEndpoints:\n  - matchLabels: {pod: b}\n");
        check(p, "80", TCP, (f, t) -> !t.equals("x/a"));
        String open = cnp("x", "deny-b", "endpointSelector: {matchLabels: {pod: a}}\nenableDefaultDeny: {ingress: false}\ningressDeny:\n- fromEndpoints:\n  - matchLabels: {pod: b}\n");
        check(open, "80", TCP, (f, t) -> !(t.equals("x/a") && f.equals("x/b")));
    }

    @Test void clusterwideDenyBeatsNamespacedAllow() {
        String p = cnp("x", "allow", "endpointSelector: {}\ningress:\n- fromEntities: [cluster]\n")
                + ccnp("deny-z", "endpointSelector: {}\ningressDeny:\n- fromEndpoints:\n  - matchLabels: {io.kubernetes.pod.namespace: z}\n");
        // The deny-only CCNP also turns on default deny for ingress everywhere (Cilium: sections with rules enable it).
        check(p, "80", TCP, (f, t) -> in(t, "x") && !in(f, "z"));
    }

    @Test void l7RulesRedirectToTheProxy() {
        String p = cnp("x", "l7", """
                endpointSelector: {matchLabels: {pod: a}}
                ingress:
                - fromEndpoints:
                  - matchLabels: {pod: b}
                  toPorts:
                  - ports:
                    - port: "80"
                      protocol: TCP
                    rules:
                      http:
                      - method: GET
                        path: "/public/.*"
                """);
        check(p, "80", TCP, (f, t) -> !t.equals("x/a") || f.equals("x/b"));
        var e = E2eModel.engine(p, EngineConfig.DEFAULT);
        var a = new PolicyAnalysis(e);
        assertThat(a.trace("x/b", "x/a", "80", TCP, null).ingress().verdict()).isEqualTo("redirect");
        assertThat(a.trace("x/b", "x/a", "80", TCP, new PolicyState.HttpRequest("GET", "/public/x", null, Map.of())).verdict()).isEqualTo("allow");
        assertThat(a.trace("x/b", "x/a", "80", TCP, new PolicyState.HttpRequest("POST", "/public/x", null, Map.of())).verdict()).isEqualTo("deny");
        assertThat(a.trace("x/b", "x/a", "80", TCP, new PolicyState.HttpRequest("GET", "/private", null, Map.of())).verdict()).isEqualTo("deny");
        String map = PolicyMapText.render(e.endpoint("x/a"));
        assertThat(map).contains("proto=TCP port=80 redirect http{method=GET path=/public/.*}");
    }

    @Test void enforcementModes() {
        String deny = cnp("x", "deny-b", "endpointSelector: {}\ningressDeny:\n- fromEndpoints:\n  - matchLabels: {pod: b}\n");
        String allowB = np("x", "allow-b", "podSelector: {}\ningress:\n- from:\n  - podSelector: {matchLabels: {pod: b}}\n");
        assertThat(matrix("", "80", TCP, EngineConfig.DEFAULT.withMode("always"))).isEqualTo(expected((f, t) -> false));
        assertThat(matrix(allowB, "80", TCP, EngineConfig.DEFAULT.withMode("always"))).isEqualTo(expected((f, t) -> false));
        assertThat(matrix(deny, "80", TCP, EngineConfig.DEFAULT.withMode("never"))).isEqualTo(expected((f, t) -> true));
        var audit = new EngineConfig("default", true, LabelFilter.DEFAULT);
        assertThat(matrix(deny, "80", TCP, audit)).isEqualTo(expected((f, t) -> true));
        var t = new PolicyAnalysis(E2eModel.engine(deny, audit)).trace("x/b", "x/c", "80", TCP, null);
        assertThat(t.ingress().verdict()).isEqualTo("deny (audit)");
        assertThat(t.verdict()).isEqualTo("allow");
    }

    @Test void unsupportedRulesAreRejectedNotWidened() {
        for (String rule : new String[] {"- toServices: [{k8sService: {serviceName: a}}]\n", "- toNodes: [{}]\n",
                "- toPorts:\n  - ports: [{port: \"9092\", protocol: TCP}]\n    rules:\n      kafka: [{topic: a}]\n"}) {
            var d = PolicyInputs.decode(dev.sluice.k8s.ManifestReader.parse("p.yaml", cnp("x", "fqdn", "endpointSelector: {}\negress:\n" + rule)));
            assertThat(d.errors()).hasSize(1);
            assertThat(d.errors().getFirst().getMessage()).startsWith("p.yaml: CiliumNetworkPolicy x/fqdn: spec.egress[0].").contains("not supported yet");
            assertThat(d.inputs().policies()).isEmpty();
        }
    }

    @Test void specsListAndNamedPorts() {
        String p = "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: two\n  namespace: x\nspecs:\n"
                + "- endpointSelector: {matchLabels: {pod: a}}\n  ingress:\n  - toPorts:\n    - ports: [{port: serve-81-udp}]\n"
                + "- endpointSelector: {matchLabels: {pod: b}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {pod: c}}]\n";
        check(p, "81", UDP, (f, t) -> !t.equals("x/b") || f.equals("x/c"));
        check(p, "80", UDP, (f, t) -> !t.equals("x/a") && (!t.equals("x/b") || f.equals("x/c")));
    }
}
