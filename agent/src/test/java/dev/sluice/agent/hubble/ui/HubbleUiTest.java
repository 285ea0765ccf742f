package dev.sluice.agent.hubble.ui;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.agent.flow.Enricher;
import dev.sluice.agent.flow.FlowObserver;
import dev.sluice.agent.flow.PolicySource;
import dev.sluice.agent.hubble.ObserverService;
import dev.sluice.hubble.Transport;
import dev.sluice.hubble.relay.Relay;
import io.grpc.ManagedChannel;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The UI's HTTP endpoints over a real relay reading a real agent Observer on Unix sockets. */
class HubbleUiTest {
    static final Enricher.Cluster NONE = new Enricher.Cluster() {
        public Optional<Enricher.PodInfo> podByIp(int ip) { return Optional.empty(); }
        public Optional<String> endpointPod(int id) { return Optional.empty(); }
        public Optional<String> serviceOf(int revNatId) { return Optional.empty(); }
    };
    static final JsonMapper JSON = JsonMapper.builder().build();

    @TempDir Path dir;
    FlowObserver node;
    Transport.Servers nodeServer, relayServer;
    Relay relay;
    ManagedChannel channel;
    HubbleUi ui;
    final HttpClient http = HttpClient.newHttpClient();

    @BeforeEach
    void start() throws Exception {
        node = new FlowObserver(new Enricher("node1", NONE, PolicySource.NONE, k -> Instant.EPOCH), 1023, () -> 0);
        String nodeSock = "unix://" + dir.resolve("hubble.sock"), relaySock = "unix://" + dir.resolve("relay.sock");
        relay = new Relay(Map.of("node1", nodeSock));
        nodeServer = Transport.serve(List.of(nodeSock), List.of(new ObserverService(node, "node1", nodeSock, 64)));
        relayServer = Transport.serve(List.of(relaySock), List.of(relay));
        channel = Transport.channel("relay", relaySock);
        ui = new HubbleUi(new InetSocketAddress("127.0.0.1", 0), channel);
        UiFlows.demo().forEach(node.ring()::add);
    }

    @AfterEach
    void stop() throws Exception {
        ui.close();
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        relay.close();
        relayServer.close();
        nodeServer.close();
    }

    HttpResponse<String> get(String pathAndQuery) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + ui.address().getPort() + pathAndQuery)).timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    JsonNode flows(String query) throws Exception {
        var r = get("/api/flows" + query);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return JSON.readTree(r.body()).path("flows");
    }

    @Test
    void flowsAreHubblesJsonFilteredAsObserveFilters() throws Exception {
        assertThat(flows("")).hasSize(8);
        assertThat(flows("?verdict=DROPPED")).singleElement().satisfies(f -> {
            assertThat(f.path("flow").path("verdict").asString()).isEqualTo("DROPPED");
            assertThat(f.path("flow").path("ingress_denied_by").get(0).path("name").asString()).isEqualTo("server-in");
            assertThat(f.path("node_name").asString()).isEqualTo("node2");
        });
        assertThat(flows("?namespace=other")).extracting(f -> f.path("flow").path("source").path("pod_name").asString()).containsExactly("db-0");
        assertThat(flows("?namespace=demo&pod=tool")).hasSize(3);
        assertThat(flows("?port=8080&protocol=tcp")).hasSize(2);
        assertThat(flows("?verdict=AUDIT&verdict=DROPPED")).hasSize(2);
        assertThat(flows("?last=2")).extracting(f -> f.path("flow").path("uuid").asString()).containsExactly("u7", "u8");
        assertThat(flows("?namespace=&pod=&verdict=")).hasSize(8); // an empty form field is no filter
    }

    @Test
    void theMapEndpointIsTheGoldenMap() throws Exception {
        var r = get("/api/map?namespace=demo");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(r.body())).isEqualTo(JSON.readTree(ServiceMapTest.golden("demo-map.json")));
    }

    @Test
    void badParametersAre400WithOneLineNamingTheParameter() throws Exception {
        Map<String, String> cases = Map.of(
                "/api/flows?verdict=NOPE", "verdict: NOPE (expected one of: FORWARDED, DROPPED, ERROR, AUDIT, TRANSLATED)\n",
                "/api/flows?port=70000", "port: 70000 (expected: 1-65535)\n",
                "/api/map?protocol=gre", "protocol: gre (expected one of: tcp, udp, icmp, sctp, http, dns, kafka)\n",
                "/api/flows?last=0", "last: 0 (expected: 1-10000)\n",
                "/api/flows?last=x", "last: x (expected: 1-10000)\n",
                "/api/flows?pod=a/b/c", "pod: \"a/b/c\" (expected: [namespace/]pod-name-prefix)\n",
                "/api/flows/stream?colour=red", "colour: unknown parameter (expected one of: namespace, pod, verdict, protocol, port, last)\n");
        for (var c : cases.entrySet()) {
            var r = get(c.getKey());
            assertThat(r.statusCode()).as(c.getKey()).isEqualTo(400);
            assertThat(r.body()).as(c.getKey()).isEqualTo(c.getValue());
        }
        assertThat(get("/nope").statusCode()).isEqualTo(404);
    }

    @Test
    void thePageAndItsScriptAreServedFromResources() throws Exception {
        var page = get("/");
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.headers().firstValue("Content-Type")).contains("text/html; charset=utf-8");
        assertThat(page.body()).contains("<svg id=\"map\"", "<script src=\"/app.js\">");
        for (String res : List.of("/", "/app.js", "/app.css")) {
            String body = get(res).body();
            // nothing from elsewhere: the lab has no route out
            assertThat(body).as(res).doesNotContainPattern("(src|href)=\"(https?:)?//").doesNotContain("@import", "url(http");
        }
        assertThat(get("/app.js").body()).contains("EventSource('/api/flows/stream?'");
    }

    @Test
    void theStreamSendsNewFlowsAsServerSentEvents() throws Exception {
        var req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + ui.address().getPort() + "/api/flows/stream?verdict=DROPPED")).build();
        var resp = http.send(req, HttpResponse.BodyHandlers.ofInputStream());
        assertThat(resp.statusCode()).isEqualTo(200);
        assertThat(resp.headers().firstValue("Content-Type")).contains("text/event-stream");
        // the relay's follow starts some time after the stream opens: flows go on coming until one is read (a
        // forwarded and a dropped one each time, ids odd for dropped), and the read gives up after 30 s
        var publisher = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
        var next = new java.util.concurrent.atomic.AtomicInteger(100);
        publisher.scheduleAtFixedRate(() -> {
            int id = next.getAndAdd(2);
            node.publish(UiFlows.flow(id, dev.sluice.agent.flow.Flow.Verdict.FORWARDED, UiFlows.WORLD, UiFlows.HOST, 1, false, List.of()));
            node.publish(UiFlows.flow(id + 1, dev.sluice.agent.flow.Flow.Verdict.DROPPED, UiFlows.WORLD, UiFlows.HOST, 1, false, UiFlows.DENY));
        }, 0, 200, TimeUnit.MILLISECONDS);
        try (var in = new BufferedReader(new InputStreamReader(resp.body(), StandardCharsets.UTF_8))) {
            String line = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
                assertThat(in.readLine()).isEqualTo(": following the relay");
                String l;
                do l = in.readLine(); while (l != null && !l.startsWith("data: "));
                return l;
            });
            assertThat(line).isNotNull();
            JsonNode f = JSON.readTree(line.substring("data: ".length()));
            assertThat(f.path("flow").path("uuid").asString()).as("only dropped flows (odd ids)").matches("u1[0-9]*[13579]");
        } finally {
            publisher.shutdownNow();
        }
    }

    /** The flow table's TYPE of an L7 flow is its record's ({@code http-request}), as sluice observe prints it: app.js's row() run by Node.js. */
    @Test
    void theFlowTableNamesL7FlowsByTheirRecord() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.isExecutable(Path.of("/usr/bin/node")), "Node.js (/usr/bin/node) not installed");
        Path home = Path.of(System.getProperty("sluice.home", "."));
        Process p = new ProcessBuilder("/usr/bin/node", home.resolve("agent/src/test/resources/hubble/ui-row.js").toString(),
                home.resolve("agent/src/main/resources/dev/sluice/agent/hubble/ui/app.js").toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        assertThat(out).contains("| http-request | DROPPED |");
    }
}
