package dev.sluice.e2e;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * CiliumNetworkPolicy rules on real packets: entities (world through a NodePort and to the world
 * host, host, cluster), toCIDRSet with except, deny precedence over NetworkPolicy and CNP allows,
 * drops and audit verdicts in {@code sluice monitor}, the enforcement modes always and never, audit
 * mode; ICMP into a default-deny pod; and an agent killed and restarted while an allowed connection
 * is held open, new allowed connections keep coming and a denied pod keeps trying.
 */
@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: network namespaces, BPF, netlink")
class CiliumRulesIT {
    static final String LAB = "pz3", ALWAYS = "pz4", NEVER = "pz5", AUDIT = "pz6";
    static final String WORLD = "172.30.0.200", NODE1 = "172.30.0.11";
    static final String PODS = """
            apiVersion: v1
            kind: Namespace
            metadata: {name: x, labels: {ns: x}}
            ---
            apiVersion: v1
            kind: Namespace
            metadata: {name: y, labels: {ns: y}}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: a, namespace: x, labels: {pod: a}}
            spec: {nodeName: node1, containers: [{name: c, ports: [{containerPort: 80}, {containerPort: 80, protocol: UDP}]}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: b, namespace: x, labels: {pod: b}}
            spec: {nodeName: node2, containers: [{name: c, ports: [{containerPort: 80}, {containerPort: 80, protocol: UDP}]}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: c, namespace: x, labels: {pod: c}}
            spec: {nodeName: node1, containers: [{name: c, ports: [{containerPort: 80}, {containerPort: 80, protocol: UDP}]}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: d, namespace: y, labels: {pod: d}}
            spec: {nodeName: node2, containers: [{name: c, ports: [{containerPort: 80}, {containerPort: 80, protocol: UDP}]}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: np-a, namespace: x}
            spec:
              type: NodePort
              selector: {pod: a}
              ports: [{port: 80, protocol: TCP, nodePort: 30080}]
            """;
    static Path dir;

    @BeforeAll static void setUp() throws IOException {
        Cli.requireRoot();
        for (String l : List.of(LAB, ALWAYS, NEVER, AUDIT)) Cli.down(l);
        dir = Files.createTempDirectory("sluice-cilium-rules");
        Files.writeString(dir.resolve("pods.yaml"), PODS);
        Files.writeString(dir.resolve("masq.yaml"), "bpf:\n  masquerade: true\n");
    }

    @AfterAll static void tearDown() {
        for (String l : List.of(LAB, ALWAYS, NEVER, AUDIT)) Cli.down(l);
    }

    // ---------------------------------------------------------------- helpers

    static String cnp(String ns, String name, String spec) {
        return "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: " + name + ", namespace: " + ns + "}\nspec:\n"
                + spec.indent(2);
    }

    static String np(String ns, String name, String spec) {
        return "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: " + name + ", namespace: " + ns + "}\nspec:\n"
                + spec.indent(2);
    }

    static void apply(String lab, String name, String yaml) throws IOException { PolicyLab.apply(lab, dir, lab + "-" + name, yaml); }

    static void delete(String lab, String name) { PolicyLab.delete(lab, dir, lab + "-" + name); }

    /** Runs a command in a network namespace of the lab (no JVM: fast enough to probe in a loop). */
    static String inNetns(String netns, String... cmd) throws IOException, InterruptedException {
        List<String> c = new ArrayList<>(List.of("nsenter", "--net=/var/run/netns/" + netns, "--"));
        c.addAll(List.of(cmd));
        return PolicyLab.run(c.toArray(String[]::new));
    }

    static String podTool() { return Cli.home() + "/build/bin/sluice-pod"; }

    /** One TCP (or UDP) connection from a pod (or "world") to ip:port; true when it was answered. */
    static boolean reach(String lab, String from, String target, String proto) throws Exception {
        String netns = from.equals("world") ? "sl-" + lab + "-world" : PolicyLab.podNetns(lab, from);
        String out = inNetns(netns, podTool(), "probe", "--timeout-ms", "1000", "--proto", proto, target);
        return out.contains("\"ok\":true");
    }

    static boolean reach(String lab, String from, String target) throws Exception { return reach(lab, from, target, "tcp"); }

    static boolean ping(String lab, String from, String ip) throws Exception {
        Process p = new ProcessBuilder("nsenter", "--net=/var/run/netns/" + PolicyLab.podNetns(lab, from), "--", "ping", "-c1", "-W1", ip)
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        return p.waitFor() == 0;
    }

    static String ip(String lab, String pod) { return PolicyLab.podIp(lab, pod); }

    static long identity(String lab, String pod) {
        JsonNode eps = Cli.sluice("endpoint", "list", "--name", lab, "-o", "json").ok().json();
        for (JsonNode node : eps.path("nodes"))
            for (JsonNode ep : node.path("result"))
                if (ep.path("pod").asString().equals(pod)) return ep.path("identity").asLong();
        throw new AssertionError("no endpoint " + pod);
    }

    /**
     * Starts {@code sluice monitor --type T --count N -o json}, makes traffic until it has seen N
     * events (at most 60 s) and returns the events.
     */
    static List<JsonNode> monitor(String lab, String type, int count, Action traffic) throws Exception {
        CompletableFuture<Cli.Run> mon = CompletableFuture.supplyAsync(() -> Cli.sluice("monitor", "--name", lab, "--type", type,
                "--count", Integer.toString(count), "-o", "json"));
        long deadline = System.currentTimeMillis() + 60_000;
        while (!mon.isDone()) {
            assertThat(System.currentTimeMillis()).as("%d %s events within 60 s", count, type).isLessThan(deadline);
            traffic.run();
            TimeUnit.MILLISECONDS.sleep(200);
        }
        Cli.Run r = mon.get().ok();
        List<JsonNode> events = new ArrayList<>();
        for (String line : r.out().strip().split("\n")) events.add(Cli.JSON.readTree(line));
        return events;
    }

    interface Action { void run() throws Exception; }

    // ---------------------------------------------------------------- the main lab

    @Test
    void ciliumRulesEntitiesCidrDenyMonitorRestartAndIcmp() throws Exception {
        Cli.sluice("lab", "up", "--name", LAB, "--nodes", "2", "--values", dir.resolve("masq.yaml").toString(),
                "-f", dir.resolve("pods.yaml").toString()).ok();
        String a = ip(LAB, "x/a"), b = ip(LAB, "x/b"), c = ip(LAB, "x/c"), d = ip(LAB, "y/d");
        // without policy: everything reaches everything, the world host reaches x/a through its NodePort on node1
        assertThat(reach(LAB, "world", NODE1 + ":30080")).as("world -> NodePort of x/a, no policy").isTrue();
        assertThat(reach(LAB, "x/b", WORLD + ":80")).as("x/b -> world host, no policy (masquerade)").isTrue();

        // --- fromEntities world: the world reaches x/a through the NodePort (node-local backend keeps
        // the client address), pods of the cluster do not
        apply(LAB, "world-in", cnp("x", "world-in", """
                endpointSelector: {matchLabels: {pod: a}}
                ingress: [{fromEntities: [world]}]"""));
        assertThat(reach(LAB, "world", NODE1 + ":30080")).as("world -> NodePort -> x/a with fromEntities world").isTrue();
        assertThat(reach(LAB, "x/b", a + ":80")).as("x/b -> x/a with fromEntities world only").isFalse();
        assertThat(reach(LAB, "x/c", a + ":80")).as("x/c -> x/a with fromEntities world only").isFalse();
        apply(LAB, "world-in", cnp("x", "world-in", """
                endpointSelector: {matchLabels: {pod: a}}
                ingress: [{fromEntities: [cluster]}]"""));
        assertThat(reach(LAB, "world", NODE1 + ":30080")).as("world -> NodePort -> x/a with fromEntities cluster").isFalse();
        assertThat(reach(LAB, "x/b", a + ":80")).as("x/b -> x/a with fromEntities cluster").isTrue();
        delete(LAB, "world-in");

        // --- toEntities world: x/b reaches the world host and nothing in the cluster
        apply(LAB, "world-out", cnp("x", "world-out", """
                endpointSelector: {matchLabels: {pod: b}}
                egress: [{toEntities: [world]}]"""));
        assertThat(reach(LAB, "x/b", WORLD + ":80")).as("x/b -> world with toEntities world").isTrue();
        assertThat(reach(LAB, "x/b", c + ":80")).as("x/b -> x/c with toEntities world").isFalse();
        delete(LAB, "world-out");

        // --- toEntities host: x/c (node1) reaches a server in node1's namespace only with host
        Process server = new ProcessBuilder("setsid", "nsenter", "--net=/var/run/netns/sl-" + LAB + "-node1", "--", podTool(), "serve",
                "--name", "node", "--tcp", "9000").redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try {
            long until = System.currentTimeMillis() + 10_000;
            while (!reach(LAB, "x/c", NODE1 + ":9000")) {
                assertThat(System.currentTimeMillis()).as("node server up, x/c reaches it without policy").isLessThan(until);
                TimeUnit.MILLISECONDS.sleep(200);
            }
            apply(LAB, "host", cnp("x", "host", """
                    endpointSelector: {matchLabels: {pod: c}}
                    egress: [{toEntities: [host]}]"""));
            assertThat(reach(LAB, "x/c", NODE1 + ":9000")).as("x/c -> its node with toEntities host").isTrue();
            assertThat(reach(LAB, "x/c", a + ":80")).as("x/c -> x/a with toEntities host only").isFalse();
            apply(LAB, "host", cnp("x", "host", """
                    endpointSelector: {matchLabels: {pod: c}}
                    egress: [{toEndpoints: [{}]}, {toEntities: [world]}]"""));
            assertThat(reach(LAB, "x/c", NODE1 + ":9000")).as("x/c -> its node without host").isFalse();
            assertThat(reach(LAB, "x/c", a + ":80")).as("x/c -> x/a with toEndpoints {}").isTrue();
            // --- toEntities cluster: pods and the node, not the world
            apply(LAB, "host", cnp("x", "host", """
                    endpointSelector: {matchLabels: {pod: c}}
                    egress: [{toEntities: [cluster]}]"""));
            assertThat(reach(LAB, "x/c", d + ":80")).as("x/c -> y/d with toEntities cluster").isTrue();
            assertThat(reach(LAB, "x/c", NODE1 + ":9000")).as("x/c -> its node with toEntities cluster").isTrue();
            assertThat(reach(LAB, "x/c", WORLD + ":80")).as("x/c -> world with toEntities cluster").isFalse();
            delete(LAB, "host");
        } finally {
            server.destroyForcibly().waitFor();
        }

        // --- toCIDRSet with except: x/a reaches node1's pods (10.0.0.0/24) but not node2's
        apply(LAB, "cidr", cnp("x", "cidr", """
                endpointSelector: {matchLabels: {pod: a}}
                egress: [{toCIDRSet: [{cidr: 10.0.0.0/16, except: [10.0.1.0/24]}]}]"""));
        assertThat(reach(LAB, "x/a", c + ":80")).as("x/a -> x/c (in the CIDR)").isTrue();
        assertThat(reach(LAB, "x/a", b + ":80")).as("x/a -> x/b (in the except)").isFalse();
        assertThat(reach(LAB, "x/a", d + ":80", "udp")).as("x/a -> y/d UDP (in the except)").isFalse();
        assertThat(reach(LAB, "x/a", WORLD + ":80")).as("x/a -> world (outside the CIDR)").isFalse();
        delete(LAB, "cidr");

        // --- deny precedence: ingressDeny beats an allow-all NetworkPolicy and an allow-all CNP
        apply(LAB, "allow-np", np("y", "allow-np", """
                podSelector: {}
                ingress: [{}]"""));
        apply(LAB, "allow-cnp", cnp("y", "allow-cnp", """
                endpointSelector: {}
                ingress: [{fromEntities: [all]}]"""));
        assertThat(reach(LAB, "x/b", d + ":80")).as("x/b -> y/d allowed before the deny").isTrue();
        apply(LAB, "deny", cnp("y", "deny", """
                endpointSelector: {matchLabels: {pod: d}}
                ingressDeny: [{fromEndpoints: [{matchLabels: {io.kubernetes.pod.namespace: x, pod: b}}]}]"""));
        assertThat(reach(LAB, "x/b", d + ":80")).as("x/b -> y/d with ingressDeny").isFalse();
        assertThat(reach(LAB, "x/b", d + ":80", "udp")).as("x/b -> y/d UDP with ingressDeny").isFalse();
        assertThat(reach(LAB, "x/a", d + ":80")).as("x/a -> y/d, not denied").isTrue();

        // the kernel's map of y/d (node2) from the CLI without --node: node1 answers "not here" first
        JsonNode pm = Cli.sluice("bpf", "policy", "get", "--name", LAB, "-o", "json", "y/d").ok().json();
        assertThat(pm.path("node").asString()).isEqualTo("node2");
        assertThat(pm.path("ingressEnforced").asBoolean()).isTrue();
        assertThat(pm.path("entries").toString()).as("y/d's entries").contains("deny").contains("allow");

        // --- the drop in sluice monitor: pods, identities, port, reason, direction
        long idB = identity(LAB, "x/b"), idD = identity(LAB, "y/d");
        List<JsonNode> drops = monitor(LAB, "drop", 3, () -> reach(LAB, "x/b", d + ":80"));
        JsonNode drop = drops.stream().filter(e -> e.path("source").path("pod").asString().equals("x/b")
                && e.path("destination").path("pod").asString().equals("y/d")).findFirst().orElseThrow(() -> new AssertionError("no drop x/b -> y/d in " + drops));
        assertThat(drop.path("type").asString()).isEqualTo("drop");
        assertThat(drop.path("direction").asString()).isEqualTo("ingress");
        assertThat(drop.path("node").asString()).isEqualTo("node2");
        assertThat(drop.path("protocol").asString()).isEqualTo("TCP");
        assertThat(drop.path("source").path("identity").asLong()).isEqualTo(idB);
        assertThat(drop.path("destination").path("identity").asLong()).isEqualTo(idD);
        assertThat(drop.path("source").path("ip").asString()).isEqualTo(b);
        assertThat(drop.path("destination").path("port").asInt()).isEqualTo(80);
        assertThat(drop.path("reason").asString()).as("reason of %s", drop).isNotEmpty();
        assertThat(drop.path("code").asInt()).as("a policy drop code in %s", drop).isBetween(140, 149);
        // an egress drop names the egress direction and the client's node
        apply(LAB, "egress-deny", np("x", "egress-deny", """
                podSelector: {matchLabels: {pod: c}}
                policyTypes: [Egress]"""));
        List<JsonNode> eg = monitor(LAB, "drop", 3, () -> reach(LAB, "x/c", d + ":80"));
        JsonNode e = eg.stream().filter(x -> x.path("source").path("pod").asString().equals("x/c")).findFirst()
                .orElseThrow(() -> new AssertionError("no drop from x/c in " + eg));
        assertThat(e.path("direction").asString()).isEqualTo("egress");
        assertThat(e.path("node").asString()).isEqualTo("node1");
        assertThat(e.path("destination").path("pod").asString()).isEqualTo("y/d");
        assertThat(e.path("destination").path("port").asInt()).isEqualTo(80);
        for (String p : List.of("allow-np", "allow-cnp", "deny", "egress-deny")) delete(LAB, p);

        // --- hostile traffic: ICMP echo into a default-deny pod is dropped; its own pings get their replies
        apply(LAB, "only-a", np("y", "only-a", """
                podSelector: {matchLabels: {pod: d}}
                ingress: [{from: [{namespaceSelector: {matchLabels: {ns: x}}, podSelector: {matchLabels: {pod: a}}}]}]"""));
        assertThat(ping(LAB, "x/b", d)).as("ping x/b -> y/d (ingress default deny)").isFalse();
        assertThat(ping(LAB, "x/c", d)).as("ping x/c -> y/d (ingress default deny)").isFalse();
        assertThat(ping(LAB, "x/a", d)).as("ping x/a -> y/d (allowed peer, all protocols)").isTrue();
        assertThat(ping(LAB, "y/d", b)).as("ping y/d -> x/b: the reply comes back in").isTrue();
        assertThat(ping(LAB, "y/d", a)).as("ping y/d -> x/a (other node): the reply comes back in").isTrue();

        agentRestart(d);
    }

    /**
     * y/d (node2) admits only x/a. While node2's agent is killed and restarted: a connection x/a ->
     * y/d held open survives, new x/a -> y/d connections work again after the restart, and x/b
     * (node2) never gets through.
     */
    void agentRestart(String d) throws Exception {
        String holdNetns = PolicyLab.podNetns(LAB, "x/a");
        Path holdOut = dir.resolve("hold.out");
        Process hold = new ProcessBuilder("setsid", "nsenter", "--net=/var/run/netns/" + holdNetns, "--", podTool(), "hold", "--to", d + ":80",
                "--seconds", "40", "--interval-ms", "100").redirectErrorStream(true).redirectOutput(holdOut.toFile()).start();
        try {
            assertThat(reach(LAB, "x/a", d + ":80")).isTrue();
            String sock = "/run/sluice/labs/" + LAB + "/nodes/node2/agent.sock";
            long pid = Long.parseLong(PolicyLab.run("pgrep", "-f", "--", "--socket " + sock).strip().lines().findFirst().orElseThrow());
            List<String> cmdline = List.of(new String(Files.readAllBytes(Path.of("/proc/" + pid + "/cmdline")), StandardCharsets.UTF_8).split("\0"));
            PolicyLab.run("kill", "-9", Long.toString(pid));
            int deniedTries = 0, allowedOkWhileDown = 0, allowedTriesWhileDown = 0;
            // a few probes while no agent runs on node2: the data path keeps enforcing
            for (int i = 0; i < 3; i++) {
                assertThat(reach(LAB, "x/b", d + ":80")).as("x/b -> y/d while node2's agent is down").isFalse();
                deniedTries++;
                allowedTriesWhileDown++;
                if (reach(LAB, "x/a", d + ":80")) allowedOkWhileDown++;
            }
            List<String> cmd = new ArrayList<>(List.of("setsid", "nsenter", "--net=/var/run/netns/sl-" + LAB + "-node2", "--"));
            cmd.addAll(cmdline);
            new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.appendTo(Path.of("/run/sluice/labs", LAB, "logs/node2.log").toFile()))
                    .redirectErrorStream(true).start();
            // the restart window: the agent starts, reloads its state and reprograms; x/b keeps trying
            long deadline = System.currentTimeMillis() + 90_000;
            CompletableFuture<Boolean> up = CompletableFuture.supplyAsync(() -> {
                while (System.currentTimeMillis() < deadline) {
                    if (Cli.sluice("status", "--name", LAB, "--node", "node2").exit() == 0) return true;
                    try { TimeUnit.MILLISECONDS.sleep(300); } catch (InterruptedException ie) { return false; }
                }
                return false;
            });
            while (!up.isDone()) {
                assertThat(reach(LAB, "x/b", d + ":80")).as("x/b -> y/d during node2's agent restart (try %d)", deniedTries + 1).isFalse();
                deniedTries++;
            }
            assertThat(up.get()).as("node2's agent back within 90 s").isTrue();
            for (int i = 0; i < 5; i++) {
                assertThat(reach(LAB, "x/a", d + ":80")).as("x/a -> y/d after the restart (%d)", i).isTrue();
                assertThat(reach(LAB, "x/b", d + ":80")).as("x/b -> y/d after the restart (%d)", i).isFalse();
                deniedTries++;
            }
            assertThat(hold.waitFor(60, TimeUnit.SECONDS)).as("hold finished").isTrue();
            String h = Files.readString(holdOut);
            System.out.printf("agent restart: x/b denied on all %d tries; x/a allowed on %d/%d tries while the agent was down; hold: %s%n",
                    deniedTries, allowedOkWhileDown, allowedTriesWhileDown, h.strip());
            JsonNode hj = Cli.JSON.readTree(h.strip().lines().reduce((x, y) -> y).orElseThrow());
            assertThat(hj.path("reset").asBoolean()).as("held connection reset: %s", h).isFalse();
            assertThat(hj.path("error").asString()).as("held connection error: %s", h).isEmpty();
            assertThat(hj.path("echoed").asLong()).as("every message echoed: %s", h).isEqualTo(hj.path("sent").asLong()).isGreaterThan(100);
        } finally {
            hold.destroyForcibly();
        }
    }

    // ---------------------------------------------------------------- enforcement modes, audit

    static final String TWO_PODS = """
            apiVersion: v1
            kind: Pod
            metadata: {name: a, namespace: x, labels: {pod: a}}
            spec: {containers: [{name: c, ports: [{containerPort: 80}]}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: b, namespace: x, labels: {pod: b}}
            spec: {containers: [{name: c, ports: [{containerPort: 80}]}]}
            """;

    static void upModeLab(String lab, String values) throws IOException {
        Path v = dir.resolve(lab + "-values.yaml"), p = dir.resolve(lab + "-pods.yaml");
        Files.writeString(v, values);
        Files.writeString(p, TWO_PODS);
        Cli.sluice("lab", "up", "--name", lab, "--nodes", "1", "--values", v.toString(), "-f", p.toString()).ok();
    }

    /** Live matrix by pod IP and the offline one with the same values, for 80/TCP. */
    static void liveEqualsOffline(String lab, String values, String expectAB) throws Exception {
        Path v = dir.resolve(lab + "-values.yaml");
        JsonNode live = Cli.sluice("lab", "probe", "--name", lab, "--port", "80", "-o", "json").ok().json();
        JsonNode off = Cli.sluice("policy", "matrix", "-f", PolicyLab.manifests(lab).toString(), "--values", v.toString(), "--port", "80",
                "-o", "json").ok().json();
        assertThat(live.path("matrix")).as("%s (%s): live %s, offline %s", lab, values.strip(), live, off).isEqualTo(off.path("matrix"));
        assertThat(live.path("matrix").path("x/a").path("x/b").asString()).as("%s x/a -> x/b", lab).isEqualTo(expectAB);
        assertThat(live.path("matrix").path("x/b").path("x/a").asString()).as("%s x/b -> x/a", lab).isEqualTo(expectAB);
        assertThat(live.path("matrix").path("x/a").path("x/a").asString()).as("%s loopback", lab).isEqualTo("allow");
    }

    @Test
    void enforcementModeAlwaysIsolatesPodsWithoutPolicy() throws Exception {
        try {
            upModeLab(ALWAYS, "policyEnforcementMode: always\n");
            liveEqualsOffline(ALWAYS, "policyEnforcementMode: always", "deny");
            apply(ALWAYS, "allow", cnp("x", "allow", """
                    endpointSelector: {}
                    ingress: [{fromEndpoints: [{}]}]
                    egress: [{toEndpoints: [{}]}]"""));
            liveEqualsOffline(ALWAYS, "policyEnforcementMode: always + allow within x", "allow");
        } finally {
            Cli.down(ALWAYS);
        }
    }

    @Test
    void enforcementModeNeverIgnoresPolicies() throws Exception {
        try {
            upModeLab(NEVER, "policyEnforcementMode: never\n");
            apply(NEVER, "deny", np("x", "deny", """
                    podSelector: {}
                    policyTypes: [Ingress, Egress]"""));
            apply(NEVER, "cnp-deny", cnp("x", "cnp-deny", """
                    endpointSelector: {}
                    ingressDeny: [{fromEntities: [all]}]"""));
            liveEqualsOffline(NEVER, "policyEnforcementMode: never + deny policies", "allow");
        } finally {
            Cli.down(NEVER);
        }
    }

    @Test
    void auditModeLetsDeniedTrafficFlowAndReportsIt() throws Exception {
        try {
            upModeLab(AUDIT, "policyAuditMode: true\n");
            apply(AUDIT, "deny", np("x", "deny", """
                    podSelector: {matchLabels: {pod: b}}
                    policyTypes: [Ingress]"""));
            String b = ip(AUDIT, "x/b");
            assertThat(reach(AUDIT, "x/a", b + ":80")).as("x/a -> x/b denied by policy, passes in audit mode").isTrue();
            List<JsonNode> ev = monitor(AUDIT, "audit", 1, () -> reach(AUDIT, "x/a", b + ":80"));
            JsonNode e = ev.getFirst();
            assertThat(e.path("type").asString()).as("%s", e).isEqualTo("audit");
            assertThat(e.path("direction").asString()).as("%s", e).isEqualTo("ingress");
            assertThat(e.path("source").path("pod").asString()).as("%s", e).isEqualTo("x/a");
            assertThat(e.path("destination").path("pod").asString()).as("%s", e).isEqualTo("x/b");
            assertThat(e.path("destination").path("port").asInt()).as("%s", e).isEqualTo(80);
        } finally {
            Cli.down(AUDIT);
        }
    }
}
