package dev.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
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
 * The seed's L7 policy on a 2-node tunnel lab: the frontend may {@code GET /api/v1/data} on the
 * backend's port 8080 and nothing else. Real clients (curl over HTTP/1.1, curl and nghttp over
 * HTTP/2 with prior knowledge and the h2c upgrade) from a frontend on the backend's node and from one
 * on the other node; the backend's own access log ({@code sluice lab logs}) proves that what the
 * proxy refused never reached it. Another pod cannot connect at all. A wider L4 allow of the same
 * peer on a port range that holds 8080 leaves L7 enforced (the CVE-2024-52529 class). A keep-alive
 * connection held open across a restart of the backend node's agent gets nothing past the policy,
 * and new connections meet the new agent's proxy.
 */
@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: network namespaces, BPF")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class L7PolicyIT {
    static final String LAB = "l7it";
    static final String MANIFESTS = """
            apiVersion: v1
            kind: Namespace
            metadata: {name: production}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: frontend-1, namespace: production, labels: {app: frontend}}
            spec: {nodeName: node1, containers: [{name: web}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: frontend-2, namespace: production, labels: {app: frontend}}
            spec: {nodeName: node2, containers: [{name: web}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: backend, namespace: production, labels: {app: backend}}
            spec: {nodeName: node2, containers: [{name: api, ports: [{containerPort: 8080}, {containerPort: 9090}]}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: other, namespace: production, labels: {app: other}}
            spec: {nodeName: node1, containers: [{name: c}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: backend, namespace: production}
            spec: {selector: {app: backend}, ports: [{name: http, port: 8080}]}
            ---
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: l7-frontend-policy, namespace: production}
            spec:
              endpointSelector: {matchLabels: {app: backend}}
              ingress:
              - fromEndpoints: [{matchLabels: {app: frontend}}]
                toPorts:
                - ports: [{port: "8080", protocol: TCP}]
                  rules:
                    http:
                    - method: "GET"
                      path: "/api/v1/data"
            """;
    /** The CVE-2024-52529 class: an L4 allow of the same peer on a range holding 8080. */
    static final String RANGE_ALLOW = """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: frontend-port-range, namespace: production}
            spec:
              endpointSelector: {matchLabels: {app: backend}}
              ingress:
              - fromEndpoints: [{matchLabels: {app: frontend}}]
                toPorts:
                - ports: [{port: "1", endPort: 9999, protocol: TCP}]
            """;
    static Path dir;
    static String backend, service;

    @BeforeAll static void setUp() throws IOException {
        Cli.requireRoot();
        Cli.down(LAB);
        dir = Files.createTempDirectory("sluice-l7-it");
        Files.writeString(dir.resolve("m.yaml"), MANIFESTS);
        Files.writeString(dir.resolve("range.yaml"), RANGE_ALLOW);
        Files.writeString(dir.resolve("values.yaml"), "hubble:\n  metrics:\n    enabled: [flow, drop, policy, http, dns]\n");
        Cli.sluice("lab", "up", "--name", LAB, "--nodes", "2", "--values", dir.resolve("values.yaml").toString(),
                "-f", dir.resolve("m.yaml").toString()).ok();
        backend = SecurityIT.podIps(LAB).get("production/backend");
        for (JsonNode s : Cli.sluice("service", "list", "--name", LAB, "-o", "json").ok().json())
            if (s.path("service").asString().equals("production/backend")) service = s.path("clusterIP").asString();
        assertThat(backend).isNotBlank();
        assertThat(service).isNotBlank();
    }

    @AfterAll static void tearDown() { Cli.down(LAB); }

    /** curl's answer: the status code on the last line, the body before it. */
    record Http(int exit, int code, String body, String err) {}

    static Http curl(String from, String... args) {
        List<String> cmd = new java.util.ArrayList<>(List.of("curl", "-sS", "-m", "5", "-w", "\n%{http_code}"));
        cmd.addAll(List.of(args));
        Cli.Run r = Cli.exec(LAB, from, cmd.toArray(String[]::new));
        String out = r.out();
        int nl = out.lastIndexOf('\n');
        int code = 0;
        try {
            code = Integer.parseInt(out.substring(nl + 1).strip());
        } catch (NumberFormatException e) {
            // no status line: the transfer failed, exit says why
        }
        return new Http(r.exit(), code, nl < 0 ? "" : out.substring(0, nl), r.err());
    }

    /** The backend's access log: one line per request that reached it. */
    static List<String> backendLog() {
        return Cli.sluice("lab", "logs", "--name", LAB, "production/backend").ok().out().lines().filter(l -> l.startsWith("http ")).toList();
    }

    static void assertAllowed(Http h, String what) {
        assertThat(h.exit()).as("%s: curl exit, stderr %s", what, h.err()).isZero();
        assertThat(h.code()).as(what).isEqualTo(200);
        assertThat(h.body()).as(what).contains("\"pod\":\"production/backend\"").contains("\"path\":\"/api/v1/data\"");
    }

    static void assertDenied(Http h, String what) {
        assertThat(h.exit()).as("%s: curl exit, stderr %s", what, h.err()).isZero();
        assertThat(h.code()).as(what).isEqualTo(403);
        assertThat(h.body()).as(what).contains("Access denied");
    }

    @Test @Order(1)
    void theFrontendMayGetTheDataAndNothingElse() {
        int before = backendLog().size();
        for (String from : List.of("production/frontend-1", "production/frontend-2")) {
            for (String to : List.of(backend, service)) {
                String base = "http://" + to + ":8080";
                assertAllowed(curl(from, base + "/api/v1/data"), from + " GET " + to);
                assertDenied(curl(from, "-X", "POST", "-d", "x=1", base + "/api/v1/data"), from + " POST " + to);
                assertDenied(curl(from, base + "/api/v1/data/../admin"), from + " GET a path outside the rule");
                assertDenied(curl(from, base + "/api/v1/dataX"), from + " GET a longer path (the rule is a full match)");
                assertDenied(curl(from, "-X", "DELETE", base + "/api/v1/data"), from + " DELETE");
            }
        }
        List<String> got = backendLog().subList(before, backendLog().size());
        assertThat(got).as("only the allowed GETs reached the backend").hasSize(4).allMatch(l -> l.contains(" GET /api/v1/data "));
    }

    @Test @Order(2)
    void http2WithPriorKnowledgeAndTheUpgradeIsCheckedPerRequest() {
        int before = backendLog().size();
        String url = "http://" + backend + ":8080/api/v1/data";
        for (String from : List.of("production/frontend-1", "production/frontend-2")) {
            for (String mode : List.of("--http2-prior-knowledge", "--http2")) {
                assertAllowed(curl(from, mode, url), from + " " + mode + " GET");
                assertDenied(curl(from, mode, "-X", "POST", "-d", "x", url), from + " " + mode + " POST");
            }
            // nghttp: a second HTTP/2 client, prior knowledge, two streams on one connection
            Cli.Run n = Cli.exec(LAB, from, "nghttp", "-n", "-s", "-t", "5", url, "http://" + backend + ":8080/secret");
            assertThat(n.exit()).as("nghttp: %s %s", n.out(), n.err()).isIn(0, 1);
            assertThat(n.out()).as("nghttp statistics").contains("200").contains("403");
        }
        List<String> got = backendLog().subList(before, backendLog().size());
        assertThat(got).as("only allowed GETs reached the backend, as HTTP/1.1 from the proxy").hasSize(6)
                .allMatch(l -> l.contains(" GET /api/v1/data "));
    }

    @Test @Order(3)
    void otherPodsCannotConnect() {
        Http h = curl("production/other", "--connect-timeout", "2", "http://" + backend + ":8080/api/v1/data");
        assertThat(h.exit()).as("no connection from a pod the policy does not name").isIn(7, 28);
        assertThat(backendLog()).noneMatch(l -> l.contains("other"));
    }

    @Test @Order(4)
    void aWiderPortRangeAllowDoesNotBypassTheL7Rule() {
        Cli.sluice("lab", "apply", "--name", LAB, "-f", dir.resolve("range.yaml").toString()).ok();
        try {
            String base = "http://" + backend + ":8080";
            for (String from : List.of("production/frontend-1", "production/frontend-2")) {
                assertAllowed(curl(from, base + "/api/v1/data"), from + " GET under the range allow");
                assertDenied(curl(from, "-X", "POST", base + "/api/v1/data"), from + " POST under the range allow");
                // the range itself works on the other port, without the proxy
                Http other = curl(from, "http://" + backend + ":9090/anything");
                assertThat(other.code()).as(from + " to 9090 under the range allow").isEqualTo(200);
            }
        } finally {
            Cli.sluice("lab", "delete", "--name", LAB, "-f", dir.resolve("range.yaml").toString()).ok();
        }
    }

    @Test @Order(5)
    void theProxyReportsItsListenersAndVerdicts() {
        JsonNode st = Cli.sluice("proxy", "status", "--name", LAB, "--node", "node2", "-o", "json").ok().json();
        JsonNode node = st.path("nodes").path(0).path("result");
        assertThat(node.toString()).contains("ingress");
        assertThat(node.path("http").path("requests").path("forwarded").asLong()).as(st.toString()).isPositive();
        assertThat(node.path("http").path("requests").path("denied").asLong()).as(st.toString()).isPositive();
        String table = Cli.sluice("proxy", "status", "--name", LAB).ok().out();
        assertThat(table).contains("# node node2").contains("DENIED").contains("ingress 127.0.0.1:");
    }

    @Test @Order(5)
    void l7FlowsNameTheRequestAndTheVerdict() {
        String all = Cli.sluice("observe", "--name", LAB, "--type", "l7", "--last", "200", "-o", "json").ok().out();
        assertThat(all).contains("/api/v1/data").contains("GET").contains("POST");
        assertThat(all).contains("403");
    }

    /** Hostile requests from a pod, byte for byte through the data path: refused by the proxy, never at the backend. */
    @Test @Order(6)
    void smugglingAndMalformedRequestsFromAPodNeverReachTheBackend() throws IOException {
        Path script = dir.resolve("raw.py");
        Files.writeString(script, """
                import socket, sys
                s = socket.create_connection((sys.argv[1], 8080), timeout=5)
                s.sendall(bytes(sys.argv[2], "ascii").decode("unicode_escape").encode("latin-1"))
                out = b""
                try:
                    while True:
                        d = s.recv(4096)
                        if not d: break
                        out += d
                except socket.timeout:
                    pass
                print(out.split(b"\\r\\n")[0].decode("latin-1") if out else "no answer")
                """);
        int before = backendLog().size();
        var cases = java.util.Map.of(
                "CL.TE smuggling", "POST /api/v1/data HTTP/1.1\\r\\nHost: b\\r\\nContent-Length: 44\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n0\\r\\n\\r\\nGET /admin HTTP/1.1\\r\\nHost: b\\r\\n\\r\\n",
                "two Content-Length", "GET /api/v1/data HTTP/1.1\\r\\nHost: b\\r\\nContent-Length: 0\\r\\nContent-Length: 5\\r\\n\\r\\nGET /admin HTTP/1.1\\r\\n\\r\\n",
                "obs-fold", "GET /api/v1/data HTTP/1.1\\r\\nHost: b\\r\\nX-A: 1\\r\\n x-b: 2\\r\\n\\r\\n",
                "dot segments", "GET /api/v1/data/../../admin HTTP/1.1\\r\\nHost: b\\r\\n\\r\\n");
        for (var c : cases.entrySet()) {
            Cli.Run r = Cli.exec(LAB, "production/frontend-1", "/usr/bin/python3", script.toString(), backend, c.getValue());
            assertThat(r.out()).as(c.getKey() + ": " + r.err()).startsWith("HTTP/1.1 4");
        }
        assertThat(backendLog().subList(before, backendLog().size())).as("nothing of them reached the backend").isEmpty();
    }

    /** Hubble's HTTP metrics of the backend's node: the proxy's requests and answers by method and status. */
    @Test @Order(7)
    void hubbleHttpMetricsCountTheProxiedRequests() {
        String m = Cli.exec(LAB, "node2", "curl", "-sS", "-m", "5", "http://172.30.0.12:9965/metrics").ok().out();
        assertThat(m).containsPattern("hubble_http_requests_total\\{[^}]*method=\"GET\"[^}]*} [1-9]");
        assertThat(m).containsPattern("hubble_http_responses_total\\{[^}]*status=\"403\"[^}]*} [1-9]");
        assertThat(m).contains("hubble_http_request_duration_seconds_bucket");
    }

    /**
     * A keep-alive connection through the proxy, held open while the backend node's agent is killed
     * and started again: its next request gets nothing past the policy (the proxy it was on is gone;
     * the data path drops rather than deliver around it), and new connections meet the new proxy.
     */
    @Test @Order(9)
    void aRestartedAgentKeepsEnforcingWithAProxiedConnectionOpen() throws Exception {
        Path go = dir.resolve("go");
        Path script = dir.resolve("client.py");
        Files.writeString(script, """
                import http.client, os, sys, time
                c = http.client.HTTPConnection(sys.argv[1], 8080, timeout=5)
                c.request("GET", "/api/v1/data"); r = c.getresponse(); r.read(); print("first", r.status, flush=True)
                while not os.path.exists(sys.argv[2]): time.sleep(0.1)
                try:
                    c.request("POST", "/api/v1/data", body="x"); r = c.getresponse(); r.read(); print("second", r.status, flush=True)
                except Exception as e:
                    print("second", type(e).__name__, flush=True)
                """);
        int before = backendLog().size();
        Path out = dir.resolve("client.out");
        Process client = new ProcessBuilder(Cli.home().resolve("sluice").toString(), "lab", "exec", "--name", LAB, "production/frontend-2", "--",
                "/usr/bin/python3", script.toString(), backend, go.toString()).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        long deadline = System.currentTimeMillis() + 30_000;
        while (!Files.readString(out).contains("first")) {
            assertThat(System.currentTimeMillis()).as("first request answered: %s", Files.readString(out)).isLessThan(deadline);
            TimeUnit.MILLISECONDS.sleep(100);
        }
        assertThat(Files.readString(out)).contains("first 200");
        Cli.restartAgent(LAB, "node2");
        Files.writeString(go, "");
        assertThat(client.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(Files.readString(out)).as("the POST on the old connection").doesNotContain("second 200");
        List<String> got = backendLog().subList(before, backendLog().size());
        assertThat(got).as("the POST never reached the backend").hasSize(1).allMatch(l -> l.contains(" GET /api/v1/data "));
        // new connections: the new agent's proxy, the same policy
        assertAllowed(curl("production/frontend-2", "http://" + backend + ":8080/api/v1/data"), "GET after the restart");
        assertDenied(curl("production/frontend-2", "-X", "POST", "http://" + backend + ":8080/api/v1/data"), "POST after the restart");
    }
}
