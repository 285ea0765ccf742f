package dev.sluice.policy.flows;

import static dev.sluice.policy.flows.Flows.End;
import static dev.sluice.policy.flows.Flows.flow;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.policy.EngineConfig;
import dev.sluice.policy.PolicyInputs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.SerializationFeature;
import tools.jackson.databind.json.JsonMapper;

/**
 * Replay of crafted flows against crafted policies: which flows change verdict and why, how they
 * are grouped, and the JSON report (golden file policy/flows/replay.json).
 */
class PolicyReplayTest {
    static final End WEB = End.pod("shop/web", "10.0.1.10", "app=web"), API = End.pod("shop/api", "10.0.1.11", "app=api"),
            INTRUDER = End.pod("shop/intruder", "10.0.1.12", "app=intruder"),
            BATCH = End.pod("shop/batch-7d9f8c6b5-x2x9k", "10.0.1.13", "app=batch", "pod-template-hash=7d9f8c6b5"),
            OUTSIDE = End.world("1.2.3.4"), NODE = End.host("10.0.0.1");

    static final String POLICIES = """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: api-in, namespace: shop}
            spec:
              podSelector: {matchLabels: {app: api}}
              ingress:
              - from: [{podSelector: {matchLabels: {app: web}}}]
                ports: [{protocol: TCP, port: 8080}]
              - from: [{podSelector: {matchLabels: {app: batch}}}]
                ports: [{protocol: TCP, port: 9090}]
            ---
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: web-out, namespace: shop}
            spec:
              endpointSelector: {matchLabels: {app: web}}
              egress:
              - toEndpoints: [{matchLabels: {app: api}}]
                toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
              - toCIDRSet: [{cidr: 0.0.0.0/0, except: [1.2.3.0/24]}]
                toPorts: [{ports: [{port: "443", protocol: TCP}]}]
            ---
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: no-intruder, namespace: shop}
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingressDeny:
              - fromEndpoints: [{matchLabels: {app: intruder}}]
            """;

    static List<RecordedFlow> recorded() {
        return List.of(
                flow("f:1", WEB, API, "TCP", 8080, "INGRESS", false, "FORWARDED", 0),
                flow("f:2", WEB, API, "TCP", 8080, "INGRESS", true, "FORWARDED", 0),
                flow("f:3", INTRUDER, API, "TCP", 8080, "INGRESS", false, "FORWARDED", 0),
                flow("f:4", WEB, OUTSIDE, "TCP", 443, "EGRESS", false, "FORWARDED", 0),
                flow("f:5", BATCH, API, "TCP", 9090, "INGRESS", false, "DROPPED", 140),
                flow("f:6", NODE, API, "TCP", 8080, "INGRESS", false, "FORWARDED", 0),
                flow("f:7", INTRUDER, WEB, "TCP", 80, "EGRESS", false, "DROPPED", 140),
                flow("f:8", INTRUDER, WEB, "TCP", 80, "INGRESS", false, "FORWARDED", 0),
                flow("f:9", WEB, API, "TCP", 8080, "INGRESS", false, "DROPPED", 151),
                flow("f:10", WEB, API, "TCP", 8080, "EGRESS", false, "TRANSLATED", 0),
                flow("f:11", WEB, API, "TCP", 8080, "EGRESS", false, "AUDIT", 0));
    }

    static PolicyReplay.Report replay(String policies, List<RecordedFlow> flows) {
        PolicyInputs in = Flows.manifests(policies);
        return PolicyReplay.replay(in, EngineConfig.DEFAULT, flows);
    }

    @Test void changesAreTheFlowsWhoseVerdictDiffersGroupedByPolicyAndWorkloadPair() throws Exception {
        PolicyReplay.Report r = replay(POLICIES, recorded());
        assertThat(r.flows()).isEqualTo(11);
        assertThat(r.evaluated()).isEqualTo(9);
        assertThat(r.skipped()).containsOnlyKeys("dropped, not by policy (CT_MAP_INSERTION_FAILED)", "translated: no policy verdict");
        var where = r.groups().stream().flatMap(g -> g.flows().stream()).map(PolicyReplay.Change::where).sorted().toList();
        // f:1, f:2 (web to api on 8080, its reply too) and f:6 (the node) keep their verdict;
        // f:11 (audited: the old policy would have dropped it) is now allowed by web-out
        assertThat(where).containsExactly("f:11", "f:3", "f:4", "f:5", "f:7", "f:8");
        var json = JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build().writeValueAsString(r) + "\n";
        Path golden = Path.of("src/test/resources/policy/flows/replay.json");
        if (Boolean.getBoolean("golden.update")) Files.writeString(golden, json);
        assertThat(json).isEqualTo(Files.readString(golden));
    }

    @Test void theSamePoliciesThatDecidedChangeNothing() {
        // flows recorded under exactly these policies: replaying them changes nothing
        List<RecordedFlow> flows = List.of(
                flow("g:1", WEB, API, "TCP", 8080, "INGRESS", false, "FORWARDED", 0),
                flow("g:2", INTRUDER, API, "TCP", 8080, "INGRESS", false, "DROPPED", 140),
                flow("g:3", INTRUDER, WEB, "TCP", 80, "INGRESS", false, "DROPPED", 141),
                flow("g:4", WEB, OUTSIDE, "TCP", 443, "EGRESS", false, "DROPPED", 140),
                flow("g:5", WEB, End.world("8.8.8.8"), "TCP", 443, "EGRESS", false, "FORWARDED", 0),
                flow("g:6", WEB, End.world("8.8.8.8"), "TCP", 443, "EGRESS", true, "FORWARDED", 0),
                flow("g:7", BATCH, API, "TCP", 9090, "INGRESS", true, "FORWARDED", 0));
        PolicyReplay.Report r = replay(POLICIES, flows);
        assertThat(r.evaluated()).isEqualTo(7);
        assertThat(r.changed()).isZero();
        assertThat(r.groups()).isEmpty();
    }

    @Test void aDenyRuleIsNamedAndARevokedReplyIsChecked() {
        PolicyReplay.Report r = replay(POLICIES, List.of(flow("h:1", INTRUDER, WEB, "TCP", 80, "INGRESS", true, "FORWARDED", 0)));
        assertThat(r.changed()).isEqualTo(1);
        var g = r.groups().getFirst();
        assertThat(g.policies()).containsExactly("CiliumNetworkPolicy shop/no-intruder");
        assertThat(g.from()).isEqualTo("shop/intruder");
        assertThat(g.to()).isEqualTo("shop/web");
        assertThat(g.flows().getFirst().reason()).isEqualTo("ingress denied by CiliumNetworkPolicy shop/no-intruder");
        assertThat(g.flows().getFirst().l4()).as("a reply is checked on the connection's port").isEqualTo("TCP/80");
    }

    @Test void anL7RuleDropsAsTheDataPathDoesWithoutAProxy() {
        String l7 = """
                apiVersion: cilium.io/v2
                kind: CiliumNetworkPolicy
                metadata: {name: api-http, namespace: shop}
                spec:
                  endpointSelector: {matchLabels: {app: api}}
                  ingress:
                  - toPorts: [{ports: [{port: "8080", protocol: TCP}], rules: {http: [{method: GET}]}}]
                """;
        PolicyReplay.Report r = replay(l7, List.of(flow("l:1", WEB, API, "TCP", 8080, "INGRESS", false, "FORWARDED", 0)));
        assertThat(r.changed()).isEqualTo(1);
        assertThat(r.groups().getFirst().flows().getFirst().reason()).contains("needs the L7 proxy of CiliumNetworkPolicy shop/api-http");
    }

    @Test void toFqdnsReplaysWithoutDnsAnswersAndSaysSo() {
        String fqdn = """
                apiVersion: cilium.io/v2
                kind: CiliumNetworkPolicy
                metadata: {name: web-fqdn, namespace: shop}
                spec:
                  endpointSelector: {matchLabels: {app: web}}
                  egress:
                  - toFQDNs: [{matchName: api.example.com}]
                    toPorts: [{ports: [{port: "443", protocol: TCP}]}]
                """;
        PolicyReplay.Report r = replay(fqdn, List.of(flow("q:1", WEB, OUTSIDE, "TCP", 443, "EGRESS", false, "FORWARDED", 0)));
        assertThat(r.changed()).as("no DNS answers offline: never allowed wider than live").isEqualTo(1);
        assertThat(r.notes()).containsExactly("CiliumNetworkPolicy shop/web-fqdn use toFQDNs, which allow only addresses learned from DNS answers:"
                + " replay has none, so flows only they allowed replay as dropped");
    }

    @Test void namedPortsOfPodsKnownOnlyFromFlowsAreNotedAndAPodManifestResolvesThem() {
        String named = """
                apiVersion: networking.k8s.io/v1
                kind: NetworkPolicy
                metadata: {name: api-named, namespace: shop}
                spec:
                  podSelector: {matchLabels: {app: api}}
                  ingress:
                  - ports: [{port: http}]
                """;
        var f = List.of(flow("n:1", WEB, API, "TCP", 8080, "INGRESS", false, "FORWARDED", 0));
        PolicyReplay.Report r = replay(named, f);
        assertThat(r.changed()).as("the name resolves to no port of a pod without a manifest").isEqualTo(1);
        assertThat(r.notes()).containsExactly("NetworkPolicy shop/api-named name ports, which pods known only from flows do not declare"
                + " (2 pods, e.g. shop/api): pass their Pod manifests with -f");
        String pod = """
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: api, namespace: shop, labels: {app: api}}
                spec: {containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]}
                """;
        PolicyReplay.Report withPod = replay(named + pod, f);
        assertThat(withPod.changed()).isZero();
    }
}
