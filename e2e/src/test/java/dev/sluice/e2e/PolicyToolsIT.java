package dev.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import tools.jackson.databind.JsonNode;

/**
 * {@code sluice policy replay} and {@code policy suggest} on flows recorded in a lab with known
 * traffic, then checked with real connections.
 *
 * <p>Lab {@code rpit}: two nodes; in namespace {@code pt} the client and the other on node1, the
 * server and the db on node2. Recorded, with no policy in force: client and other to the server's
 * port 80, client to the db's 5432. A policy that lets only the client reach the server changes
 * exactly the other-to-server flows in replay, and applied it blocks exactly that connection. The
 * suggested policies with a namespace-wide default deny keep the three connections working and
 * block the pair never seen (other to db).
 */
@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: network namespaces, BPF, netlink")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PolicyToolsIT {
    static final String LAB = "rpit";
    static final String PODS = """
            apiVersion: v1
            kind: Pod
            metadata: {name: client, namespace: pt, labels: {app: client}}
            spec: {nodeName: node1, containers: [{name: c, ports: [{containerPort: 80}]}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: other, namespace: pt, labels: {app: other}}
            spec: {nodeName: node1, containers: [{name: c, ports: [{containerPort: 80}]}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: server, namespace: pt, labels: {app: server}}
            spec: {nodeName: node2, containers: [{name: c, ports: [{containerPort: 80}]}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: db, namespace: pt, labels: {app: db}}
            spec: {nodeName: node2, containers: [{name: c, ports: [{containerPort: 5432}]}]}
            """;
    static final String ONLY_CLIENT = """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: server-only-client, namespace: pt}
            spec:
              podSelector: {matchLabels: {app: server}}
              ingress:
              - from: [{podSelector: {matchLabels: {app: client}}}]
                ports: [{protocol: TCP, port: 80}]
            """;
    static final String DEFAULT_DENY = """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: default-deny, namespace: pt}
            spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
            """;
    /** The connections the lab's traffic makes: from, to, port. */
    static final List<String[]> OBSERVED = List.of(new String[] {"pt/client", "pt/server", "80"},
            new String[] {"pt/other", "pt/server", "80"}, new String[] {"pt/client", "pt/db", "5432"});

    static Path dir, flows;
    static Map<String, String> ips;

    @BeforeAll static void setUp() throws Exception {
        Cli.requireRoot();
        Cli.down(LAB);
        dir = Files.createTempDirectory("sluice-policy-tools-it");
        Files.writeString(dir.resolve("pods.yaml"), PODS);
        Cli.sluice("lab", "up", "--name", LAB, "--nodes", "2", "-f", dir.resolve("pods.yaml").toString()).ok();
        ips = SecurityIT.podIps(LAB);
        for (String[] c : OBSERVED) assertThat(connects(c)).as("%s -> %s:%s with no policy", c[0], c[1], c[2]).isTrue();
        flows = dir.resolve("flows.json");
        record();
    }

    @AfterAll static void tearDown() {
        Cli.down(LAB);
    }

    static boolean connects(String[] c) throws IOException, InterruptedException {
        return SecurityIT.connects(LAB, c[0], ips.get(c[1]) + ":" + c[2]);
    }

    /**
     * Every flow of the agents' rings into the file, as {@code sluice observe -o json} prints them,
     * once each observed connection shows at the server's side (ingress, not a reply): the agents
     * read the data path's ring every 200 ms. At most 10 s.
     */
    static void record() throws InterruptedException, IOException {
        long deadline = System.currentTimeMillis() + 10_000;
        while (true) {
            String out = Cli.sluice("observe", "--name", LAB, "-n", "pt", "--last", "0", "-o", "json").ok().out();
            Set<String> seen = new TreeSet<>();
            for (String l : out.lines().toList()) {
                JsonNode f = Cli.JSON.readTree(l).path("flow");
                if (f.path("verdict").asString().equals("FORWARDED") && f.path("traffic_direction").asString().equals("INGRESS")
                        && !f.path("is_reply").asBoolean(false))
                    seen.add(pod(f.path("source")) + ">" + pod(f.path("destination")));
            }
            if (seen.containsAll(List.of("pt/client>pt/server", "pt/other>pt/server", "pt/client>pt/db"))) {
                Files.writeString(flows, out);
                return;
            }
            assertThat(System.currentTimeMillis()).as("the observed connections' flows within 10 s; observe printed:\n%s", out).isLessThan(deadline);
            Thread.sleep(250);
        }
    }

    static String pod(JsonNode e) { return e.path("namespace").asString() + "/" + e.path("pod_name").asString(); }

    @Test @Order(1)
    void replayNamesExactlyTheFlowsThePolicyWouldBlockAndApplyingItBlocksExactlyThem() throws Exception {
        Path policy = dir.resolve("only-client.yaml");
        Files.writeString(policy, ONLY_CLIENT);
        Cli.Run r = Cli.sluice("policy", "replay", "-f", policy.toString(), "--flows", flows.toString(), "-o", "json");
        assertThat(r.exit()).as("exit code (1: some flow changes); stderr %s", r.err()).isEqualTo(1);
        JsonNode rep = r.json();
        assertThat(rep.path("groups")).hasSize(1);
        JsonNode g = rep.path("groups").get(0);
        assertThat(g.path("change").asString()).isEqualTo("FORWARDED -> DROPPED");
        assertThat(g.path("policies").toString()).isEqualTo("[\"NetworkPolicy pt/server-only-client\"]");
        assertThat(g.path("from").asString()).isEqualTo("pt/other");
        assertThat(g.path("to").asString()).isEqualTo("pt/server");
        assertThat(g.path("direction").asString()).isEqualTo("ingress");
        assertThat(g.path("ports").toString()).isEqualTo("[\"TCP/80\"]");
        // exactly the recorded flows checked at the server's ingress for the other's connection
        int expected = 0;
        for (String l : Files.readAllLines(flows)) {
            JsonNode f = Cli.JSON.readTree(l).path("flow");
            boolean reply = f.path("is_reply").asBoolean(false);
            String opener = pod(f.path(reply ? "destination" : "source")), responder = pod(f.path(reply ? "source" : "destination"));
            if (f.path("verdict").asString().equals("FORWARDED") && f.path("traffic_direction").asString().equals("INGRESS")
                    && !f.path("sluice").path("policy_match").asString("").isEmpty() && opener.equals("pt/other") && responder.equals("pt/server"))
                expected++;
        }
        assertThat(expected).isPositive();
        assertThat(rep.path("changed").asInt()).isEqualTo(expected);
        assertThat(g.path("flows")).hasSize(expected);
        // the table says the same; the agents' flow API (no --flows) gives the same answer
        Cli.Run table = Cli.sluice("policy", "replay", "-f", policy.toString(), "--name", LAB);
        assertThat(table.exit()).isEqualTo(1);
        assertThat(table.out()).contains("FORWARDED -> DROPPED").contains("NetworkPolicy pt/server-only-client").contains("pt/other").contains("pt/server");
        assertThat(table.out()).doesNotContain("pt/client ->");
        Cli.Run grpc = Cli.sluice("policy", "replay", "-f", policy.toString(), "--server", "unix:///run/sluice/labs/" + LAB + "/nodes/node2/hubble.sock", "-o", "json");
        assertThat(grpc.exit()).as("through node2's Hubble Observer: %s", grpc.err()).isEqualTo(1);
        assertThat(grpc.json().path("groups")).hasSize(1);
        assertThat(grpc.json().path("groups").get(0).path("from").asString()).isEqualTo("pt/other");

        follow(policy);

        Cli.sluice("lab", "apply", "--name", LAB, "-f", policy.toString()).ok();
        try {
            assertThat(connects(OBSERVED.get(1))).as("pt/other -> pt/server:80 under the policy").isFalse();
            assertThat(connects(OBSERVED.get(0))).as("pt/client -> pt/server:80 under the policy").isTrue();
            assertThat(connects(OBSERVED.get(2))).as("pt/client -> pt/db:5432 under the policy").isTrue();
        } finally {
            Cli.sluice("lab", "delete", "--name", LAB, "-f", policy.toString()).ok();
        }
    }

    /**
     * {@code --follow}: the agents' flows, then new ones as they come, one JSON line per changing
     * flow; a new connection of the other to the server (flows not in the recording) shows up
     * while it runs.
     */
    static void follow(Path policy) throws Exception {
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-XX:TieredStopAtLevel=1",
                "-Dsluice.home=" + Cli.home(), "-jar", dev.sluice.lab.LabEnv.detect().jar().toString(),
                "policy", "replay", "--follow", "--name", LAB, "-f", policy.toString(), "-o", "json");
        Path out = dir.resolve("follow.out");
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        Set<String> recorded = new TreeSet<>();
        for (String l : Files.readAllLines(flows)) recorded.add(Cli.JSON.readTree(l).path("flow").path("uuid").asString());
        try {
            long deadline = System.currentTimeMillis() + 20_000;
            boolean connected = false;
            while (true) {
                List<String> lines = Files.readAllLines(out).stream().filter(l -> l.startsWith("{")).toList();
                boolean fresh = false;
                for (String l : lines) {
                    JsonNode c = Cli.JSON.readTree(l);
                    assertThat(c.path("from").asString()).isEqualTo("pt/other");
                    assertThat(c.path("to").asString()).isEqualTo("pt/server");
                    assertThat(c.path("replayed").asString()).isEqualTo("DROPPED");
                    String where = c.path("where").asString();
                    fresh |= !recorded.contains(where.substring(where.indexOf('/') + 1));
                }
                if (!connected && !lines.isEmpty()) {
                    connected = true;
                    assertThat(connects(OBSERVED.get(1))).isTrue();
                }
                if (fresh) {
                    assertThat(p.isAlive()).as("still following").isTrue();
                    return;
                }
                assertThat(System.currentTimeMillis()).as("replay --follow printed a flow newer than the recording: %s", lines).isLessThan(deadline);
                Thread.sleep(250);
            }
        } finally {
            p.destroy();
            p.waitFor();
        }
    }

    @Test @Order(2)
    void suggestedPoliciesWithDefaultDenyKeepEveryObservedConnectionAndBlockAnUnobservedPair() throws Exception {
        Cli.Run s = Cli.sluice("policy", "suggest", "-n", "pt", "--flows", flows.toString());
        assertThat(s.exit()).as("stderr %s", s.err()).isZero();
        Path suggested = dir.resolve("suggested.yaml");
        Files.writeString(suggested, s.out() + "---\n" + DEFAULT_DENY);
        Cli.sluice("policy", "validate", "-f", suggested.toString()).ok();
        // replayed against the flows it came from, nothing changes
        Cli.Run replay = Cli.sluice("policy", "replay", "-f", suggested.toString(), "--flows", flows.toString());
        assertThat(replay.exit()).as("replay of the suggestion: %s", replay.out()).isZero();

        Cli.sluice("lab", "apply", "--name", LAB, "-f", suggested.toString()).ok();
        try {
            List<String> broken = new ArrayList<>();
            for (String[] c : OBSERVED) if (!connects(c)) broken.add(c[0] + " -> " + c[1] + ":" + c[2]);
            assertThat(broken).as("observed connections broken by the suggestion").isEmpty();
            assertThat(connects(new String[] {"pt/other", "pt/db", "5432"})).as("pt/other -> pt/db:5432, never observed").isFalse();
            assertThat(connects(new String[] {"pt/server", "pt/client", "80"})).as("pt/server -> pt/client:80, never observed").isFalse();
        } finally {
            Cli.sluice("lab", "delete", "--name", LAB, "-f", suggested.toString()).ok();
        }
    }
}
