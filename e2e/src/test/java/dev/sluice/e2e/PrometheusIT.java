package dev.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.lab.LabNames;
import dev.sluice.lab.LabNet;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import tools.jackson.databind.JsonNode;

/**
 * A real Prometheus server (Debian's {@code prometheus}) scrapes every agent of a lab, :9962 and
 * :9965 on each node's InternalIP, and the series read back through its HTTP API count what known
 * traffic did.
 *
 * <p>Lab {@code promit}: two nodes, the client on node1, the server on node2, whose NetworkPolicy
 * admits TCP 80 and isolates it otherwise. Prometheus runs in the lab's {@code world} namespace,
 * listening on 127.0.0.1 there only, scraping every second. Under bpf.monitorAggregation medium
 * (the default) a connection's first packet is reported where each direction's policy decides
 * and every dropped packet is reported, so: each allowed connection is one ingress policy verdict
 * {@code forwarded} on node2, and each refused attempt (a probe that gives up before TCP's first
 * retransmission, so one SYN) one {@code POLICY_DENIED} drop on node2, in hubble_drop_total,
 * hubble_policy_verdicts_total and cilium_drop_count_total alike.
 */
@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: network namespaces, BPF, netlink")
class PrometheusIT {
    static final String LAB = "promit";
    static final int PROM_PORT = 39090;
    static final int ALLOWED = 3, DENIED = 4;
    static final String PODS = """
            apiVersion: v1
            kind: Pod
            metadata: {name: client, namespace: pm, labels: {app: client}}
            spec: {nodeName: node1, containers: [{name: c, ports: [{containerPort: 80}]}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: server, namespace: pm, labels: {app: server}}
            spec: {nodeName: node2, containers: [{name: c, ports: [{containerPort: 80}, {containerPort: 8080}]}]}
            """;
    static final String POLICY = """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: server-in, namespace: pm}
            spec:
              podSelector: {matchLabels: {app: server}}
              ingress:
              - ports: [{protocol: TCP, port: 80}]
            """;
    static final String NODE1 = LabNames.nodeIp(1), NODE2 = LabNames.nodeIp(2);
    static Path dir;
    static Process prometheus;
    static Map<String, String> ips;

    @BeforeAll static void setUp() throws Exception {
        Cli.requireRoot();
        Path bin = Path.of("/usr/bin/prometheus");
        if (!Files.isExecutable(bin)) throw new IllegalStateException(bin + " is missing (expected: Debian's prometheus package; scripts/deps.sh installs it)");
        Cli.down(LAB);
        dir = Files.createTempDirectory("sluice-prom-it");
        Files.writeString(dir.resolve("pods.yaml"), PODS);
        Cli.sluice("lab", "up", "--name", LAB, "--nodes", "2", "-f", dir.resolve("pods.yaml").toString()).ok();
        PolicyLab.apply(LAB, dir, "policy", POLICY);
        ips = SecurityIT.podIps(LAB);
        Files.writeString(dir.resolve("prometheus.yml"), """
                global: {scrape_interval: 1s, scrape_timeout: 900ms, evaluation_interval: 1s}
                scrape_configs:
                - job_name: sluice-agent
                  static_configs: [{targets: ["%1$s:9962", "%2$s:9962"]}]
                - job_name: hubble
                  static_configs: [{targets: ["%1$s:9965", "%2$s:9965"]}]
                """.formatted(NODE1, NODE2));
        Files.createDirectories(dir.resolve("tsdb"));
        // inside the lab's world namespace, on its loopback: nothing of it is reachable from the host
        prometheus = new ProcessBuilder(LabNet.inNetns(LabNames.worldNetns(LAB), List.of(bin.toString(),
                "--config.file=" + dir.resolve("prometheus.yml"), "--storage.tsdb.path=" + dir.resolve("tsdb"),
                "--web.listen-address=127.0.0.1:" + PROM_PORT, "--storage.tsdb.retention.time=1h", "--log.level=warn")))
                .redirectErrorStream(true).redirectOutput(dir.resolve("prometheus.log").toFile()).start();
        long deadline = System.currentTimeMillis() + 60_000;
        while (true) {
            JsonNode up = queryOrNull("up");
            if (up != null && up.size() == 4 && allOne(up)) break;
            if (!prometheus.isAlive() || System.currentTimeMillis() > deadline)
                throw new AssertionError("Prometheus did not see 4 targets up within 60 s (up: " + up + "); its log: "
                        + Files.readString(dir.resolve("prometheus.log")));
            Thread.sleep(250);
        }
    }

    @AfterAll static void tearDown() throws Exception {
        try {
            if (prometheus != null) {
                prometheus.destroy();
                if (!prometheus.waitFor(10, TimeUnit.SECONDS)) prometheus.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } finally {
            Cli.down(LAB);
            if (dir != null) deleteTree(dir);
        }
    }

    @Test
    void knownTrafficIsCountedInTheSeriesPrometheusScraped() throws Exception {
        String ingressForwarded = "sum(hubble_policy_verdicts_total{instance=\"" + NODE2 + ":9965\",direction=\"ingress\",action=\"forwarded\"})";
        String ingressDropped = "sum(hubble_policy_verdicts_total{instance=\"" + NODE2 + ":9965\",direction=\"ingress\",action=\"dropped\"})";
        String hubbleDrops = "sum(hubble_drop_total{instance=\"" + NODE2 + ":9965\",reason=\"POLICY_DENIED\",protocol=\"TCP\"})";
        String agentDrops = "sum(cilium_drop_count_total{instance=\"" + NODE2 + ":9962\",reason=\"Policy denied\",direction=\"INGRESS\"})";
        String forwardedTcp = "sum(hubble_flows_processed_total{verdict=\"FORWARDED\",protocol=\"TCP\",type=\"Trace\"})";
        String port80 = "sum(hubble_port_distribution_total{instance=\"" + NODE2 + ":9965\",protocol=\"TCP\",port=\"80\"})";
        List<String> all = List.of(ingressForwarded, ingressDropped, hubbleDrops, agentDrops, forwardedTcp, port80);
        Map<String, Double> before = new TreeMap<>();
        for (String q : all) before.put(q, scalar(q));

        String server = ips.get("pm/server");
        for (int i = 0; i < ALLOWED; i++) assertThat(connects("pm/client", server + ":80")).as("allowed connection %d", i).isTrue();
        for (int i = 0; i < DENIED; i++) assertThat(connects("pm/client", server + ":8080")).as("refused attempt %d", i).isFalse();

        // every count reaches what the traffic implies, then stays there for a few more scrapes
        awaitAtLeast(ingressForwarded, before.get(ingressForwarded) + ALLOWED);
        awaitAtLeast(hubbleDrops, before.get(hubbleDrops) + DENIED);
        awaitAtLeast(agentDrops, before.get(agentDrops) + DENIED);
        Thread.sleep(3000);
        assertThat(scalar(ingressForwarded) - before.get(ingressForwarded)).as(ingressForwarded).isEqualTo(ALLOWED);
        assertThat(scalar(ingressDropped) - before.get(ingressDropped)).as(ingressDropped).isEqualTo(DENIED);
        assertThat(scalar(hubbleDrops) - before.get(hubbleDrops)).as(hubbleDrops).isEqualTo(DENIED);
        assertThat(scalar(agentDrops) - before.get(agentDrops)).as(agentDrops).isEqualTo(DENIED);
        // each allowed connection: its SYN at least where it leaves the client and where it reaches the server
        assertThat(scalar(forwardedTcp) - before.get(forwardedTcp)).as(forwardedTcp).isGreaterThanOrEqualTo(2 * ALLOWED);
        assertThat(scalar(port80) - before.get(port80)).as(port80).isGreaterThanOrEqualTo(ALLOWED);
        // nothing went wrong on the way: no agent logged an error or a failed metric
        for (String node : List.of("node1", "node2")) {
            Path log = Path.of("/run/sluice/labs", LAB, "logs", node + ".log");
            assertThat(Files.readAllLines(log)).as("%s", log).noneMatch(l -> l.contains("ERROR") || l.contains("listener failed"));
        }
    }

    @Test
    void everyAgentReportsItsMapsEndpointsAndIdentities() throws Exception {
        for (String node : List.of(NODE1, NODE2)) {
            String inst = "instance=\"" + node + ":9962\"";
            JsonNode pressure = query("cilium_bpf_map_pressure{" + inst + "}");
            List<String> maps = new java.util.ArrayList<>();
            for (JsonNode s : pressure) {
                maps.add(s.path("metric").path("map_name").asString());
                double v = Double.parseDouble(s.path("value").get(1).asString());
                assertThat(v).as("pressure of %s on %s", s.path("metric").path("map_name").asString(), node).isBetween(0.0, 1.0);
            }
            assertThat(maps).as("maps of %s", node).contains("sl_endpoints", "sl_lxc", "sl_ipcache", "sl_metrics", "sl_policy", "sl_policy_cidr",
                    "sl_ct_tcp", "sl_ct_any", "sl_lb4_services", "sl_lb4_backends", "sl_snat");
            // node1 also runs the lab's DNS pod (kube-system/coredns-lab)
            assertThat(scalar("cilium_endpoint{" + inst + "}")).as("endpoints of %s", node).isEqualTo(node.equals(NODE1) ? 2 : 1);
            assertThat(scalar("sum(cilium_identity{" + inst + ",type=\"cluster_local\"})")).as("identities of %s", node).isGreaterThanOrEqualTo(2);
            assertThat(query("sluice_programming_duration_seconds_count{" + inst + "}")).as("programming histogram of %s", node).isNotEmpty();
            assertThat(scalar("sluice_events_lost_total{" + inst + "}")).isZero();
            assertThat(query("hubble_lost_events_total{instance=\"" + node + ":9965\",source=\"perf_event_ring_buffer\"}")).hasSize(1);
        }
    }

    /** One TCP attempt from a pod; gives up after 500 ms, before TCP's first retransmission (1 s): one SYN. */
    static boolean connects(String from, String target) throws IOException, InterruptedException {
        String out = SecurityIT.tool(LAB, from, "probe", "--timeout-ms", "500", "--proto", "tcp", target);
        String line = out.lines().filter(l -> l.startsWith("{\"target\"")).findFirst().orElseThrow(() -> new AssertionError("probe " + target + ": " + out));
        return Cli.JSON.readTree(line).path("ok").asBoolean();
    }

    static void awaitAtLeast(String q, double want) throws Exception {
        long deadline = System.currentTimeMillis() + 30_000;
        double have;
        while ((have = scalar(q)) < want) {
            if (System.currentTimeMillis() > deadline) throw new AssertionError(q + " = " + have + " after 30 s (expected at least " + want + ")");
            Thread.sleep(250);
        }
    }

    /** A query's single value; 0 when it has no series (a counter not yet created). */
    static double scalar(String q) throws Exception {
        JsonNode r = query(q);
        assertThat(r.size()).as("series of %s: %s", q, r).isLessThanOrEqualTo(1);
        return r.isEmpty() ? 0 : Double.parseDouble(r.get(0).path("value").get(1).asString());
    }

    static JsonNode query(String q) throws Exception {
        JsonNode r = queryOrNull(q);
        if (r == null) throw new AssertionError("Prometheus did not answer " + q + "; its log: " + Files.readString(dir.resolve("prometheus.log")));
        return r;
    }

    /** /api/v1/query, from inside the world namespace (where Prometheus listens); its data.result, or null (no answer, or not ready). */
    static JsonNode queryOrNull(String q) {
        String url = "http://127.0.0.1:" + PROM_PORT + "/api/v1/query?query=" + URLEncoder.encode(q, StandardCharsets.UTF_8);
        // -f: a Prometheus still starting answers 503 "Service Unavailable", not JSON: not ready yet
        var r = LabNet.exec(LabNames.worldNetns(LAB), List.of("curl", "-fsS", "--max-time", "5", url), 10_000);
        if (!r.ok()) return null;
        JsonNode body = Cli.JSON.readTree(r.stdout());
        return body.path("status").asString().equals("success") ? body.path("data").path("result") : null;
    }

    static boolean allOne(JsonNode result) {
        for (JsonNode s : result) if (!s.path("value").get(1).asString().equals("1")) return false;
        return true;
    }

    static void deleteTree(Path p) throws IOException {
        try (var s = Files.walk(p)) {
            for (Path x : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(x);
        }
    }
}
