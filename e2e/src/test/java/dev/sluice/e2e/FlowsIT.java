package dev.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import tools.jackson.databind.JsonNode;

/**
 * Flows of real connections between lab pods, read back with {@code sluice observe -o json}: an
 * allowed connection is FORWARDED with the allowing policy in ingress_allowed_by; a connection
 * default deny refuses is DROPPED (POLICY_DENIED) naming the policy that isolates the server; one a
 * deny rule refuses is DROPPED (POLICY_DENY) naming that rule's policy.
 *
 * <p>Lab {@code flowit}: two nodes (tunnel mode), the client and the intruder on node1, the server
 * on node2, so the flows cross the overlay.
 */
@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: network namespaces, BPF, netlink")
@org.junit.jupiter.api.TestMethodOrder(org.junit.jupiter.api.MethodOrderer.OrderAnnotation.class)
class FlowsIT {
    static final String LAB = "flowit";
    static final String PODS = """
            apiVersion: v1
            kind: Pod
            metadata: {name: client, namespace: fl, labels: {app: client}}
            spec: {nodeName: node1, containers: [{name: c, ports: [{containerPort: 80}]}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: intruder, namespace: fl, labels: {app: intruder}}
            spec: {nodeName: node1, containers: [{name: c, ports: [{containerPort: 80}]}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: worker, namespace: fl, labels: {app: worker}}
            spec: {nodeName: node1, containers: [{name: c, ports: [{containerPort: 80}]}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: server, namespace: fl, labels: {app: server}}
            spec: {nodeName: node2, containers: [{name: c, ports: [{containerPort: 80}, {containerPort: 8080}]}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: server, namespace: fl}
            spec: {selector: {app: server}, ports: [{port: 80}]}
            """;
    /**
     * The server admits TCP 80 from anyone but the intruder, whom a Cilium deny rule refuses; 8080 is
     * under default deny. The worker may only send to the server's port 80.
     */
    static final String POLICIES = """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: server-in, namespace: fl}
            spec:
              podSelector: {matchLabels: {app: server}}
              ingress:
              - ports: [{protocol: TCP, port: 80}]
            ---
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: no-intruder, namespace: fl}
            spec:
              endpointSelector: {matchLabels: {app: server}}
              ingressDeny:
              - fromEndpoints: [{matchLabels: {app: intruder}}]
            ---
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: worker-out, namespace: fl}
            spec:
              podSelector: {matchLabels: {app: worker}}
              policyTypes: [Egress]
              egress:
              - to: [{podSelector: {matchLabels: {app: server}}}]
                ports: [{protocol: TCP, port: 80}]
            """;
    static Path dir;
    static Map<String, String> ips;
    static String clusterIp;

    @BeforeAll static void setUp() throws IOException {
        Cli.requireRoot();
        Cli.down(LAB);
        dir = Files.createTempDirectory("sluice-flows-it");
        Files.writeString(dir.resolve("pods.yaml"), PODS);
        Cli.sluice("lab", "up", "--name", LAB, "--nodes", "2", "-f", dir.resolve("pods.yaml").toString()).ok();
        PolicyLab.apply(LAB, dir, "policies", POLICIES);
        ips = SecurityIT.podIps(LAB);
        for (JsonNode svc : Cli.sluice("service", "list", "--name", LAB, "-o", "json").ok().json())
            if (svc.path("service").asString().equals("fl/server")) clusterIp = svc.path("clusterIP").asString();
        assertThat(clusterIp).as("ClusterIP of fl/server").isNotBlank();
    }

    @AfterAll static void tearDown() {
        Cli.down(LAB);
    }

    @Test
    void anAllowedConnectionIsForwardedWithTheAllowingPolicy() throws Exception {
        assertThat(SecurityIT.connects(LAB, "fl/client", ips.get("fl/server") + ":80")).isTrue();
        JsonNode f = awaitFlow(List.of("--to-pod", "fl/server", "--from-pod", "fl/client", "--verdict", "FORWARDED", "--port", "80"),
                x -> x.path("trace_observation_point").asString().equals("TO_ENDPOINT") && !x.path("is_reply").asBoolean(false));
        assertThat(f.path("source").path("pod_name").asString()).isEqualTo("client");
        assertThat(f.path("source").path("namespace").asString()).isEqualTo("fl");
        assertThat(f.path("destination").path("pod_name").asString()).isEqualTo("server");
        assertThat(f.path("destination").path("labels").toString()).contains("k8s:app=server");
        assertThat(f.path("node_name").asString()).isEqualTo("node2");
        assertThat(f.path("traffic_direction").asString()).isEqualTo("INGRESS");
        assertThat(f.path("Type").asString()).isEqualTo("L3_L4");
        assertThat(f.path("IP").path("source").asString()).isEqualTo(ips.get("fl/client"));
        assertThat(f.path("l4").path("TCP").path("destination_port").asInt()).isEqualTo(80);
        assertThat(f.path("source").path("identity").asLong()).isPositive();
        assertThat(policies(f, "ingress_allowed_by")).containsExactly("NetworkPolicy fl/server-in");
        assertThat(f.has("ingress_denied_by")).isFalse();
    }

    @Test
    void aDefaultDenyDropNamesThePolicyThatIsolatesTheServer() throws Exception {
        assertThat(SecurityIT.connects(LAB, "fl/client", ips.get("fl/server") + ":8080")).isFalse();
        JsonNode f = awaitFlow(List.of("--to-pod", "fl/server", "--verdict", "DROPPED", "--port", "8080"), x -> true);
        assertThat(f.path("verdict").asString()).isEqualTo("DROPPED");
        assertThat(f.path("drop_reason_desc").asString()).isEqualTo("POLICY_DENIED");
        assertThat(f.path("sluice").path("reason_code").asInt()).isEqualTo(140);
        assertThat(f.path("source").path("pod_name").asString()).isEqualTo("client");
        assertThat(f.path("trace_observation_point").asString()).isEqualTo("TO_ENDPOINT");
        assertThat(policies(f, "ingress_denied_by")).contains("NetworkPolicy fl/server-in");
        // the compact line names it too, without asking
        String compact = Cli.sluice("observe", "--name", LAB, "--to-pod", "fl/server", "--verdict", "DROPPED", "--port", "8080", "--last", "1")
                .ok().out();
        assertThat(compact).contains("fl/client:").contains("-> fl/server:8080").contains("POLICY_DENIED DROPPED")
                .contains("ingress denied by").contains("NetworkPolicy fl/server-in");
    }

    @Test
    void aDenyRuleDropNamesTheDenyingPolicy() throws Exception {
        assertThat(SecurityIT.connects(LAB, "fl/intruder", ips.get("fl/server") + ":80")).isFalse();
        JsonNode f = awaitFlow(List.of("--from-pod", "fl/intruder", "--to-pod", "fl/server", "--verdict", "DROPPED"), x -> true);
        assertThat(f.path("drop_reason_desc").asString()).isEqualTo("POLICY_DENY");
        assertThat(f.path("sluice").path("policy_match").asString()).isIn("identity", "any");
        assertThat(policies(f, "ingress_denied_by")).containsExactly("CiliumNetworkPolicy fl/no-intruder");
    }

    @Test
    void theEgressSideNamesTheSendersPolicyBothWays() throws Exception {
        assertThat(SecurityIT.connects(LAB, "fl/worker", ips.get("fl/server") + ":80")).isTrue();
        JsonNode ok = awaitFlow(List.of("--from-pod", "fl/worker", "--verdict", "FORWARDED", "--port", "80"),
                x -> x.path("trace_observation_point").asString().equals("FROM_ENDPOINT"));
        assertThat(ok.path("node_name").asString()).isEqualTo("node1");
        assertThat(ok.path("traffic_direction").asString()).isEqualTo("EGRESS");
        assertThat(policies(ok, "egress_allowed_by")).containsExactly("NetworkPolicy fl/worker-out");
        assertThat(SecurityIT.connects(LAB, "fl/worker", ips.get("fl/server") + ":8080")).isFalse();
        JsonNode drop = awaitFlow(List.of("--from-pod", "fl/worker", "--verdict", "DROPPED", "--port", "8080"), x -> true);
        assertThat(drop.path("trace_observation_point").asString()).isEqualTo("FROM_ENDPOINT");
        assertThat(drop.path("drop_reason_desc").asString()).isEqualTo("POLICY_DENIED");
        assertThat(policies(drop, "egress_denied_by")).containsExactly("NetworkPolicy fl/worker-out");
        assertThat(drop.has("ingress_denied_by")).isFalse();
    }

    @Test
    void aServiceConnectionIsTranslatedAndNamesTheService() throws Exception {
        assertThat(SecurityIT.connects(LAB, "fl/client", clusterIp + ":80")).isTrue();
        JsonNode f = awaitFlow(List.of("--from-pod", "fl/client", "--verdict", "TRANSLATED"), x -> true);
        assertThat(f.path("destination_service").path("name").asString()).isEqualTo("server");
        assertThat(f.path("destination_service").path("namespace").asString()).isEqualTo("fl");
        assertThat(f.path("destination").path("pod_name").asString()).as("the backend").isEqualTo("server");
        assertThat(f.path("sluice").path("frontend").asString()).isEqualTo(clusterIp + ":80");
        assertThat(f.path("trace_observation_point").asString()).isEqualTo("FROM_ENDPOINT");
        assertThat(f.path("node_name").asString()).isEqualTo("node1");
    }

    @Test
    void aPingShowsItsEchoRequestAndEchoReply() throws Exception {
        // the server (node2) pings the client (node1) across the overlay: no policy restricts either
        assertThat(CiliumRulesIT.ping(LAB, "fl/server", ips.get("fl/client"))).isTrue();
        JsonNode req = awaitFlow(List.of("--from-pod", "fl/server", "--to-pod", "fl/client", "--protocol", "icmp"),
                x -> x.path("trace_observation_point").asString().equals("TO_ENDPOINT"));
        assertThat(req.path("node_name").asString()).isEqualTo("node1");
        assertThat(req.path("l4").path("ICMPv4").path("type").asInt()).isEqualTo(8);
        assertThat(req.path("Summary").asString()).isEqualTo("ICMPv4 EchoRequest");
        // the reply is the flow's first: reported under the default aggregation (medium) where it reaches the server
        JsonNode reply = awaitFlow(List.of("--from-pod", "fl/client", "--to-pod", "fl/server", "--protocol", "icmp"),
                x -> x.path("trace_observation_point").asString().equals("TO_ENDPOINT"));
        assertThat(reply.path("node_name").asString()).isEqualTo("node2");
        assertThat(reply.path("is_reply").asBoolean()).isTrue();
        assertThat(reply.path("l4").path("ICMPv4").has("type")).as("type 0, left out as Hubble's JSON does").isFalse();
        assertThat(reply.path("Summary").asString()).isEqualTo("ICMPv4 EchoReply");
        String compact = Cli.sluice("observe", "--name", LAB, "--from-pod", "fl/client", "--to-pod", "fl/server", "--protocol", "icmp",
                "--last", "1").ok().out();
        assertThat(compact).contains("fl/client").contains("-> fl/server").contains("(ICMPv4 EchoReply)");
    }

    @Test
    void badFiltersAreOneLineNamingTheField() {
        var r = Cli.sluice("observe", "--name", LAB, "--verdict", "ALLOWED");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err().strip()).contains("verdict: ALLOWED (expected one of: FORWARDED, DROPPED, ERROR, AUDIT, TRANSLATED)");
        assertThat(r.err().strip().lines().count()).isEqualTo(1);
    }

    /** After the traffic above: sluice status counts each node's flows, none lost on the way. */
    @Test
    @org.junit.jupiter.api.Order(Integer.MAX_VALUE - 1)
    void statusCountsTheFlowsAndNoneLost() {
        JsonNode st = Cli.sluice("status", "--name", LAB, "-o", "json").ok().json();
        for (JsonNode n : st.path("nodes")) {
            JsonNode f = n.path("flows");
            assertThat(f.path("capacity").asInt()).as(n.path("node").asString()).isEqualTo(4095);
            assertThat(f.path("seen").asLong()).as(n.path("node").asString()).isPositive();
            assertThat(f.path("flows").asLong()).as(n.path("node").asString()).isEqualTo(Math.min(4095, f.path("seen").asLong()));
            assertThat(f.path("lostEvents").asLong()).as(n.path("node").asString()).isZero();
            assertThat(f.path("notEnriched").asLong()).as(n.path("node").asString()).isZero();
        }
        assertThat(st.path("nodes")).hasSize(2);
        assertThat(Cli.sluice("status", "--name", LAB).ok().out()).contains("Flows:").contains("0 lost by the data path");
    }

    /** Last: after all the traffic above, no agent logged an error or an event it could not enrich or read. */
    @Test
    @org.junit.jupiter.api.Order(Integer.MAX_VALUE)
    void theAgentsLoggedNoErrorAndEnrichedEveryEvent() throws IOException {
        for (String node : List.of("node1", "node2")) {
            Path log = Path.of("/run/sluice/labs", LAB, "logs", node + ".log");
            List<String> bad = Files.readAllLines(log).stream()
                    .filter(l -> l.contains(" ERROR ") || l.contains("not enriched") || l.contains("event ring buffer:")).toList();
            assertThat(bad).as("%s", log).isEmpty();
        }
    }

    /** `kind ns/name` of each policy in a flow's list field. */
    static List<String> policies(JsonNode f, String field) {
        List<String> out = new ArrayList<>();
        for (JsonNode p : f.path(field)) out.add(p.path("kind").asString() + " " + p.path("namespace").asString() + "/" + p.path("name").asString());
        return out;
    }

    /**
     * The newest flow {@code sluice observe -o json ARGS} shows that matches; the agents read the
     * data path's ring every 200 ms, so a flow may take a moment to arrive: asked again for at most
     * 10 s.
     */
    static JsonNode awaitFlow(List<String> filters, Predicate<JsonNode> want) throws InterruptedException {
        List<String> args = new ArrayList<>(List.of("observe", "--name", LAB, "-o", "json", "--last", "200"));
        args.addAll(filters);
        long deadline = System.currentTimeMillis() + 10_000;
        String last = "";
        while (true) {
            Cli.Run r = Cli.sluice(args.toArray(String[]::new)).ok();
            last = r.out();
            List<String> lines = last.lines().toList();
            for (int i = lines.size() - 1; i >= 0; i--) {
                JsonNode f = Cli.JSON.readTree(lines.get(i)).path("flow");
                if (want.test(f)) return f;
            }
            if (System.currentTimeMillis() > deadline) throw new AssertionError("no flow for " + filters + " within 10 s; observe printed:\n" + last);
            Thread.sleep(250);
        }
    }
}
