package dev.sluice.agent.proxy;

import static dev.sluice.agent.proxy.ProxyFixture.rule;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.agent.flow.L7Observation;
import dev.sluice.config.HttpProxyValues;
import dev.sluice.policy.HttpRule;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The proxy's HTTP/1.1 and HTTP/2 behaviour with real sockets on loopback and a recording upstream. */
class HttpProxyTest {
    private ProxyFixture fx;

    @BeforeEach void up() throws Exception { fx = new ProxyFixture(ProxyFixture.cfg()); }

    @AfterEach void down() { if (fx != null) fx.close(); }

    private static final String GET_DATA = "GET /api/v1/data HTTP/1.1\r\nHost: backend\r\n\r\n";

    @Test
    void allowedGetPassesAndIsObserved() throws Exception {
        fx.allow(rule("GET", "/api/v1/data"));
        try (var c = new RawHttp(fx.egress())) {
            var r = c.send(GET_DATA).read();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.body()).isEqualTo("GET /api/v1/data 0");
        }
        assertThat(fx.upstream.seen).extracting(RecordingUpstream.Seen::uri).containsExactly("/api/v1/data");
        var obs = fx.observed.stream().map(o -> (L7Observation.Http) o).toList();
        assertThat(obs).extracting(L7Observation.Http::type).containsExactly(L7Observation.Type.REQUEST, L7Observation.Type.RESPONSE);
        assertThat(obs.get(0).verdict()).isEqualTo(L7Observation.Verdict.FORWARDED);
        assertThat(obs.get(0).url()).isEqualTo("http://backend/api/v1/data");
        assertThat(obs.get(0).sourceIdentity()).isEqualTo(1001);
        assertThat(obs.get(0).destinationIdentity()).isEqualTo(2002);
        assertThat(obs.get(0).ingress()).isFalse();
        assertThat(obs.get(1).code()).isEqualTo(200);
        assertThat(obs.get(1).latencyNanos()).isPositive();
        assertThat(fx.proxy.status().forwarded()).isEqualTo(1);
    }

    @Test
    void postAndOtherPathsAreDeniedWithoutReachingTheBackend() throws Exception {
        fx.allow(rule("GET", "/api/v1/data"));
        try (var c = new RawHttp(fx.ingress())) {
            var r = c.send("POST /api/v1/data HTTP/1.1\r\nHost: backend\r\nContent-Length: 5\r\n\r\nhello").read();
            assertThat(r.status()).isEqualTo(403);
            assertThat(r.body()).isEqualTo("Access denied\r\n");
            r = c.send("GET /api/v1/other HTTP/1.1\r\nHost: backend\r\n\r\n").read(); // same connection: the denied body was skipped
            assertThat(r.status()).isEqualTo(403);
            r = c.send("DELETE /api/v1/data HTTP/1.1\r\nHost: backend\r\n\r\n").read();
            assertThat(r.status()).isEqualTo(403);
        }
        assertThat(fx.upstream.seen).isEmpty();
        assertThat(fx.proxy.status().denied()).isEqualTo(3);
        var denied = fx.observed.stream().map(o -> (L7Observation.Http) o).filter(o -> o.type() == L7Observation.Type.REQUEST).toList();
        assertThat(denied).allMatch(o -> o.verdict() == L7Observation.Verdict.DENIED && o.ingress());
    }

    /** Cilium matches {@code path} against the whole path, without the query string. */
    @Test
    void pathIsAFullMatchOfThePathWithoutTheQuery() throws Exception {
        fx.allow(rule("GET", "/api/v1/data"), rule("GET", "/public/.*"));
        try (var c = new RawHttp(fx.egress())) {
            assertThat(c.send("GET /api/v1/data?user=1&x=/admin HTTP/1.1\r\nHost: b\r\n\r\n").read().status()).isEqualTo(200);
            assertThat(c.send("GET /api/v1/data/extra HTTP/1.1\r\nHost: b\r\n\r\n").read().status()).isEqualTo(403);
            assertThat(c.send("GET /x/api/v1/data HTTP/1.1\r\nHost: b\r\n\r\n").read().status()).isEqualTo(403);
            assertThat(c.send("GET /api/v1/dat HTTP/1.1\r\nHost: b\r\n\r\n").read().status()).isEqualTo(403);
            assertThat(c.send("GET /public/a/b HTTP/1.1\r\nHost: b\r\n\r\n").read().status()).isEqualTo(200);
        }
        assertThat(fx.upstream.seen).extracting(RecordingUpstream.Seen::uri).containsExactly("/api/v1/data?user=1&x=/admin", "/public/a/b");
    }

    @Test
    void hostAndHeaderRulesMatchAsCilium() throws Exception {
        fx.allow(new HttpRule("GET", "/h", "api\\.example\\.com", List.of("X-Token: s3cret", "X-Present")));
        try (var c = new RawHttp(fx.egress())) {
            assertThat(c.send("GET /h HTTP/1.1\r\nHost: api.example.com\r\nX-Token: s3cret\r\nX-Present: 1\r\n\r\n").read().status()).isEqualTo(200);
            assertThat(c.send("GET /h HTTP/1.1\r\nHost: api.example.com\r\nX-Token: s3cret\r\n\r\n").read().status()).isEqualTo(403);
            assertThat(c.send("GET /h HTTP/1.1\r\nHost: api.example.com\r\nX-Token: other\r\nX-Present: 1\r\n\r\n").read().status()).isEqualTo(403);
            assertThat(c.send("GET /h HTTP/1.1\r\nHost: evil.com\r\nX-Token: s3cret\r\nX-Present: 1\r\n\r\n").read().status()).isEqualTo(403);
            // a second X-Token cannot make a denied value pass: repeated fields are joined, and must equal as a whole
            assertThat(c.send("GET /h HTTP/1.1\r\nHost: api.example.com\r\nX-Token: other\r\nX-Token: s3cret\r\nX-Present: 1\r\n\r\n").read().status()).isEqualTo(403);
        }
        assertThat(fx.upstream.seen).hasSize(1);
    }

    @Test
    void aPolicyChangeAppliesToTheNextRequestOfAnOpenKeepAliveConnection() throws Exception {
        fx.allow(rule("GET", "/api/v1/data"));
        try (var c = new RawHttp(fx.egress())) {
            assertThat(c.send(GET_DATA).read().status()).isEqualTo(200);
            fx.allow(rule("GET", "/other"));
            assertThat(c.send(GET_DATA).read().status()).isEqualTo(403);
            fx.allow(rule("GET", "/api/v1/data"));
            assertThat(c.send(GET_DATA).read().status()).isEqualTo(200);
            fx.policy.set(null); // the flow is no longer redirected: 403 and the connection closes
            var r = c.send(GET_DATA).read();
            assertThat(r.status()).isEqualTo(403);
            assertThat(r.headers().get("connection")).isEqualTo("close");
            assertThat(c.closedByPeer()).isTrue();
        }
        assertThat(fx.upstream.seen).hasSize(2);
    }

    @Test
    void pipelinedResponsesComeBackInRequestOrder() throws Exception {
        fx.allow(rule("GET", "/a.*"));
        try (var c = new RawHttp(fx.egress())) {
            c.send("GET /a1 HTTP/1.1\r\nHost: b\r\n\r\nGET /b HTTP/1.1\r\nHost: b\r\n\r\nGET /a2 HTTP/1.1\r\nHost: b\r\n\r\n"
                    + "POST /a3 HTTP/1.1\r\nHost: b\r\nContent-Length: 3\r\n\r\nxyzGET /a4 HTTP/1.1\r\nHost: b\r\n\r\n");
            assertThat(c.read().body()).isEqualTo("GET /a1 0");
            assertThat(c.read().status()).isEqualTo(403);
            assertThat(c.read().body()).isEqualTo("GET /a2 0");
            assertThat(c.read().status()).isEqualTo(403); // POST is not allowed
            assertThat(c.read().body()).isEqualTo("GET /a4 0");
        }
        assertThat(fx.upstream.seen).extracting(RecordingUpstream.Seen::uri).containsExactly("/a1", "/a2", "/a4");
    }

    /** 1,500 requests (1.3 MB) in one write: all answered, in order; the waiting heads count against maxBufferedBytes (reading pauses). */
    @Test
    void aFloodOfPipelinedRequestsIsServedInOrder() throws Exception {
        fx.allow(rule("GET", "/n/.*"));
        int n = 1500;
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) sb.append("GET /n/").append(i).append(" HTTP/1.1\r\nHost: b\r\nX-Pad: ").append("p".repeat(800)).append("\r\n\r\n");
        try (var c = new RawHttp(fx.egress())) {
            var w = new Thread(() -> {
                try {
                    c.send(sb.toString());
                } catch (java.io.IOException ignored) {
                }
            });
            w.start();
            for (int i = 0; i < n; i++) assertThat(c.read().body()).isEqualTo("GET /n/" + i + " 0");
            w.join();
        }
        assertThat(fx.upstream.seen).hasSize(n);
    }

    @Test
    void chunkedBodiesBothWays() throws Exception {
        fx.allow(rule("POST", "/chunked.*"));
        try (var c = new RawHttp(fx.egress())) {
            var r = c.send("POST /chunked/up HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n").read();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.headers().get("transfer-encoding")).isEqualTo("chunked");
            assertThat(r.body()).isEqualTo("POST /chunked/up 11|second-part");
        }
        assertThat(fx.upstream.seen.getFirst().body()).isEqualTo("hello world");
    }

    @Test
    void expect100ContinueIsRelayedWhenAllowedAndRefusedWhenDenied() throws Exception {
        fx.allow(rule("PUT", "/up"));
        try (var c = new RawHttp(fx.egress())) {
            c.send("PUT /up HTTP/1.1\r\nHost: b\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
            assertThat(c.read().status()).isEqualTo(100);
            var r = c.send("data").read();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.body()).isEqualTo("PUT /up 4");
        }
        try (var c = new RawHttp(fx.egress())) {
            var r = c.send("PUT /other HTTP/1.1\r\nHost: b\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n").read();
            assertThat(r.status()).isEqualTo(403); // no 100: the body is never asked for
            assertThat(c.closedByPeer()).isTrue();
        }
        assertThat(fx.upstream.seen).extracting(RecordingUpstream.Seen::uri).containsExactly("/up");
    }

    @Test
    void http10ClientsAndHeadRequests() throws Exception {
        fx.allow(rule("GET|HEAD", "/.*"));
        try (var c = new RawHttp(fx.egress())) {
            var r = c.send("HEAD /x HTTP/1.1\r\nHost: b\r\n\r\n").readHead();
            assertThat(r.status()).isEqualTo(200);
            assertThat(c.send("GET /y HTTP/1.0\r\n\r\n").read().body()).isEqualTo("GET /y 0");
            assertThat(c.closedByPeer()).isTrue(); // HTTP/1.0 without keep-alive
        }
    }

    @Test
    void upstreamFailureIs503AndCounted() throws Exception {
        fx.close();
        int closedPort;
        try (var s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        fx = new ProxyFixture(ProxyFixture.cfg(), new InetSocketAddress("127.0.0.1", closedPort));
        fx.allow(rule("GET", "/.*"));
        try (var c = new RawHttp(fx.egress())) {
            assertThat(c.send(GET_DATA).read().status()).isEqualTo(503);
        }
        assertThat(fx.proxy.status().errors()).isEqualTo(1);
        var resp = fx.observed.stream().map(o -> (L7Observation.Http) o).filter(o -> o.type() == L7Observation.Type.RESPONSE).toList();
        assertThat(resp).singleElement().satisfies(o -> {
            assertThat(o.code()).isEqualTo(503);
            assertThat(o.verdict()).isEqualTo(L7Observation.Verdict.ERROR);
            assertThat(o.reason()).contains("connect");
        });
    }

    @Test
    void anUpstreamTheDataPathForbidsIsNeverOpened() throws Exception {
        fx.policy.set(new L7Context(List.of(HttpRule.ANY), 1001, 2002, "a/client", "b/server", 0, false,
                "native routing: the mark cannot carry the identity to another node"));
        try (var c = new RawHttp(fx.egress())) {
            assertThat(c.send(GET_DATA).read().status()).isEqualTo(503);
        }
        assertThat(fx.upstream.seen).isEmpty();
        assertThat(fx.proxy.rejected("upstream_refused")).isEqualTo(1);
    }

    @Test
    void upstreamConnectionsArePooledPerMarkAndNeverShared() throws Exception {
        var marks = new java.util.concurrent.atomic.AtomicInteger(0x11);
        fx.policy.set(new L7Context(List.of(HttpRule.ANY), 1001, 2002, "", "", 0x11, true, ""));
        for (int i = 0; i < 3; i++) {
            try (var c = new RawHttp(fx.egress())) {
                assertThat(c.send(GET_DATA).read().status()).isEqualTo(200);
            }
        }
        fx.policy.set(new L7Context(List.of(HttpRule.ANY), 1003, 2002, "", "", 0x22, true, ""));
        try (var c = new RawHttp(fx.egress())) {
            assertThat(c.send(GET_DATA).read().status()).isEqualTo(200);
        }
        var ports = fx.upstream.seen.stream().map(RecordingUpstream.Seen::clientPort).toList();
        assertThat(ports.subList(0, 3)).containsOnly(ports.getFirst()); // one upstream connection for the three
        assertThat(ports.get(3)).isNotEqualTo(ports.getFirst());       // another mark: its own connection
        var s = fx.proxy.status();
        assertThat(s.upstreamCreated()).isEqualTo(2);
        assertThat(s.upstreamReused()).isEqualTo(2);
        assertThat(s.upstreamIdle()).isEqualTo(2);
        assertThat(marks.get()).isEqualTo(0x11);
    }

    @Test
    void h2PriorKnowledgeOneAllowedOneDeniedStream() throws Exception {
        fx.allow(rule("GET", "/api/v1/data"));
        try (var h2 = new RawH2(fx.ingress())) {
            h2.headers(1, RawH2.get("/api/v1/data"), true);
            h2.headers(3, RawH2.get("/admin"), true);
            var post = new io.netty.handler.codec.http2.DefaultHttp2Headers().method("POST").path("/api/v1/data").scheme("http").authority("backend");
            h2.headers(5, post, false);
            h2.frame(RawH2.DATA, RawH2.END_STREAM, 5, "body".getBytes());
            var a1 = h2.answer(1);
            assertThat(a1.status()).isEqualTo("200");
            assertThat(a1.body()).isEqualTo("GET /api/v1/data 0");
            var a3 = h2.answer(3);
            assertThat(a3.status()).isEqualTo("403");
            assertThat(a3.body()).isEqualTo("Access denied\r\n");
            assertThat(h2.answer(5).status()).isEqualTo("403");
            h2.headers(7, RawH2.get("/api/v1/data"), true); // the connection is still usable after denials
            assertThat(h2.answer(7).status()).isEqualTo("200");
        }
        assertThat(fx.upstream.seen).extracting(RecordingUpstream.Seen::uri).containsExactly("/api/v1/data", "/api/v1/data");
        assertThat(fx.upstream.seen.getFirst().headers().get("Host")).containsExactly("backend");
        assertThat(fx.observed).map(o -> ((L7Observation.Http) o).protocol()).containsOnly("HTTP/2");
    }

    @Test
    void h2PostBodyIsForwarded() throws Exception {
        fx.allow(rule("POST", "/in"));
        try (var h2 = new RawH2(fx.egress())) {
            var post = new io.netty.handler.codec.http2.DefaultHttp2Headers().method("POST").path("/in").scheme("http").authority("backend");
            h2.headers(1, post, false);
            h2.frame(RawH2.DATA, 0, 1, "hello ".getBytes());
            h2.frame(RawH2.DATA, RawH2.END_STREAM, 1, "h2".getBytes());
            var a = h2.answer(1);
            assertThat(a.status()).isEqualTo("200");
            assertThat(a.body()).isEqualTo("POST /in 8");
        }
        assertThat(fx.upstream.seen.getFirst().body()).isEqualTo("hello h2");
    }

    /** The JDK client upgrades with "Upgrade: h2c" on its first request and sends the next ones as HTTP/2 streams. */
    @Test
    void h2cUpgradeThenOneAllowedOneDeniedStream() throws Exception {
        fx.allow(rule("GET", "/api/v1/data"));
        var client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).connectTimeout(Duration.ofSeconds(2)).build();
        String base = "http://127.0.0.1:" + fx.egress().getPort();
        var r1 = client.send(HttpRequest.newBuilder(URI.create(base + "/api/v1/data")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r1.statusCode()).isEqualTo(200);
        assertThat(r1.version()).isEqualTo(HttpClient.Version.HTTP_2);
        assertThat(r1.body()).isEqualTo("GET /api/v1/data 0");
        var r2 = client.send(HttpRequest.newBuilder(URI.create(base + "/admin")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r2.statusCode()).isEqualTo(403);
        assertThat(r2.version()).isEqualTo(HttpClient.Version.HTTP_2);
        assertThat(r2.body()).isEqualTo("Access denied\r\n");
        var r3 = client.send(HttpRequest.newBuilder(URI.create(base + "/api/v1/data?again")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r3.statusCode()).isEqualTo(200);
        assertThat(fx.upstream.seen).extracting(RecordingUpstream.Seen::uri).containsExactly("/api/v1/data", "/api/v1/data?again");
        assertThat(fx.upstream.seen.getFirst().headers()).doesNotContainKeys("Upgrade", "Http2-settings");
        client.close();
    }

    @Test
    void aDeniedUpgradeRequestIsAnsweredOverHttp11() throws Exception {
        fx.allow(rule("GET", "/api/v1/data"));
        try (var c = new RawHttp(fx.egress())) {
            var r = c.send("GET /admin HTTP/1.1\r\nHost: b\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n").read();
            assertThat(r.status()).isEqualTo(403);
        }
        assertThat(fx.upstream.seen).isEmpty();
    }

    @Test
    void stopClosesEverythingAndLeavesNoThread() throws Exception {
        fx.allow(rule("GET", "/.*"));
        var c = new RawHttp(fx.egress());
        assertThat(c.send(GET_DATA).read().status()).isEqualTo(200);
        assertThat(fx.proxy.status().downstreamConnections()).isEqualTo(1);
        assertThat(Thread.getAllStackTraces().keySet()).anyMatch(t -> t.getName().startsWith("sluice-http-proxy"));
        fx.proxy.stop();
        assertThat(c.closedByPeer()).isTrue();
        c.close();
        assertThat(Thread.getAllStackTraces().keySet()).noneMatch(t -> t.isAlive() && t.getName().startsWith("sluice-http-proxy"));
        assertThat(fx.proxy.status().running()).isFalse();
    }

    @Test
    void statusNamesListenersWithTheirSocketFds() {
        var s = fx.proxy.status();
        assertThat(s.listeners()).extracting(ProxyStatus.Listener::direction).containsExactly("ingress", "egress");
        assertThat(s.listeners()).allSatisfy(l -> {
            assertThat(l.fd()).isPositive();
            assertThat(l.port()).isPositive();
            assertThat(l.address()).isEqualTo("127.0.0.1");
        });
        assertThat(s.toMap()).containsKeys("listeners", "requests", "rejections", "upstreamConnections");
    }

    /** As the agent runs it: IP_TRANSPARENT on both listeners (needs CAP_NET_ADMIN, which these tests have). */
    @Test
    void transparentListenersServe() throws Exception {
        var up = new RecordingUpstream();
        var p = new HttpProxy(HttpProxyValues.DEFAULT, (i, s, d) -> L7Context.of(List.of(HttpRule.ANY), 1, 2), null, true,
                ch -> up.address(), 1);
        try {
            p.start();
            try (var c = new RawHttp(new InetSocketAddress("127.0.0.1", p.ingress().port()))) {
                assertThat(c.send(GET_DATA).read().status()).isEqualTo(200);
            }
        } finally {
            p.stop();
            up.close();
        }
    }
}
