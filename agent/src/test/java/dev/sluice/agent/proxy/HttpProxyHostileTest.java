package dev.sluice.agent.proxy;

import static dev.sluice.agent.proxy.ProxyFixture.rule;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.agent.flow.L7Observation;
import dev.sluice.policy.HttpRule;
import java.time.Duration;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Hostile input as a real client would send it, byte for byte: each is a clear rejection with the
 * right status, counted under its reason, and the upstream never sees a byte of it (every rule
 * would allow the request otherwise: the policy allows everything).
 */
class HttpProxyHostileTest {
    private ProxyFixture fx;

    @AfterEach void down() { if (fx != null) fx.close(); }

    private ProxyFixture open(dev.sluice.config.HttpProxyValues cfg) throws Exception {
        fx = new ProxyFixture(cfg);
        fx.allow(HttpRule.ANY);
        return fx;
    }

    static Stream<Arguments> http1() {
        String big = "X-Big: " + "a".repeat(61 * 1024) + "\r\n";
        StringBuilder many = new StringBuilder();
        for (int i = 0; i < 101; i++) many.append("X-H").append(i).append(": v\r\n");
        return Stream.of(
                Arguments.of("header block over 60 KiB", "GET / HTTP/1.1\r\nHost: b\r\n" + big + "\r\n", 431, "header_too_large"),
                Arguments.of("101 header fields", "GET / HTTP/1.1\r\nHost: b\r\n" + many + "\r\n", 431, "too_many_headers"),
                Arguments.of("request line over the limit", "GET /" + "a".repeat(17 * 1024) + " HTTP/1.1\r\nHost: b\r\n\r\n", 414, "request_line_too_long"),
                Arguments.of("Content-Length with Transfer-Encoding (CL.TE smuggling)",
                        "POST / HTTP/1.1\r\nHost: b\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\nHost: b\r\n\r\n",
                        400, "smuggling_cl_te"),
                Arguments.of("Transfer-Encoding with Content-Length (TE.CL smuggling)",
                        "POST / HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n5c\r\nGET /admin HTTP/1.1\r\n\r\n0\r\n\r\n",
                        400, "smuggling_cl_te"),
                Arguments.of("two different Content-Length", "POST / HTTP/1.1\r\nHost: b\r\nContent-Length: 3\r\nContent-Length: 30\r\n\r\nabc", 400, "duplicate_content_length"),
                Arguments.of("two equal Content-Length", "POST / HTTP/1.1\r\nHost: b\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400, "duplicate_content_length"),
                Arguments.of("Content-Length list", "POST / HTTP/1.1\r\nHost: b\r\nContent-Length: 3, 3\r\n\r\nabc", 400, "duplicate_content_length"),
                Arguments.of("signed Content-Length", "POST / HTTP/1.1\r\nHost: b\r\nContent-Length: +3\r\n\r\nabc", 400, "bad_content_length"),
                Arguments.of("Transfer-Encoding gzip, chunked", "POST / HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501, "bad_transfer_encoding"),
                Arguments.of("Transfer-Encoding identity", "POST / HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: identity\r\n\r\n", 501, "bad_transfer_encoding"),
                Arguments.of("Transfer-Encoding chunked, identity", "POST / HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: chunked, identity\r\n\r\n", 501, "bad_transfer_encoding"),
                Arguments.of("Transfer-Encoding chunked twice", "POST / HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501, "bad_transfer_encoding"),
                Arguments.of("CR inside a header value", "GET / HTTP/1.1\r\nHost: b\r\nX-A: a\rSet-Cookie: x\r\n\r\n", 400, "invalid_header_value"),
                Arguments.of("NUL inside a header value", "GET / HTTP/1.1\r\nHost: b\r\nX-A: a\0b\r\n\r\n", 400, "invalid_header_value"),
                Arguments.of("space before the colon", "GET / HTTP/1.1\r\nHost : b\r\n\r\n", 400, "invalid_header_name"),
                Arguments.of("obs-fold (space)", "GET / HTTP/1.1\r\nHost: b\r\nX-A: a\r\n b\r\n\r\n", 400, "obs_fold"),
                Arguments.of("obs-fold (tab)", "GET / HTTP/1.1\r\nHost: b\r\nX-A: a\r\n\tTransfer-Encoding: chunked\r\n\r\n", 400, "obs_fold"),
                Arguments.of("first header line folded", "GET / HTTP/1.1\r\n Host: b\r\n\r\n", 400, "obs_fold"),
                Arguments.of("bare LF line ends", "GET / HTTP/1.1\nHost: b\n\n", 400, "bare_lf"),
                Arguments.of("invalid method", "G(T / HTTP/1.1\r\nHost: b\r\n\r\n", 400, "invalid_method"),
                Arguments.of("space in the target", "GET /a b HTTP/1.1\r\nHost: b\r\n\r\n", 400, "invalid_target"),
                Arguments.of("CR in the target", "GET /a\rb HTTP/1.1\r\nHost: b\r\n\r\n", 400, "invalid_target"),
                Arguments.of("absolute-form target", "GET http://evil/admin HTTP/1.1\r\nHost: b\r\n\r\n", 400, "invalid_target"),
                Arguments.of("fragment in the target", "GET /a#b HTTP/1.1\r\nHost: b\r\n\r\n", 400, "invalid_target"),
                Arguments.of("dot segment", "GET /public/../admin HTTP/1.1\r\nHost: b\r\n\r\n", 400, "path_not_normalized"),
                Arguments.of("encoded dot segment", "GET /public/%2e%2E/admin HTTP/1.1\r\nHost: b\r\n\r\n", 400, "path_not_normalized"),
                Arguments.of("encoded slash", "GET /public%2F..%2fadmin HTTP/1.1\r\nHost: b\r\n\r\n", 400, "path_not_normalized"),
                Arguments.of("HTTP/2.0 on an HTTP/1 line", "GET / HTTP/2.0\r\nHost: b\r\n\r\n", 505, "bad_version"),
                Arguments.of("no Host", "GET / HTTP/1.1\r\n\r\n", 400, "missing_host"),
                Arguments.of("two Host", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "duplicate_host"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("http1")
    void rejected(String name, String raw, int status, String reason) throws Exception {
        open(ProxyFixture.cfg());
        try (var c = new RawHttp(fx.egress())) {
            var r = c.send(raw).read();
            assertThat(r.status()).as(name).isEqualTo(status);
            assertThat(r.headers().get("connection")).isEqualTo("close");
            assertThat(c.closedByPeer()).isTrue();
        }
        assertThat(fx.proxy.rejected(reason)).as("counter %s", reason).isEqualTo(1);
        assertThat(fx.upstream.seen).isEmpty();
        assertThat(fx.observed).singleElement().satisfies(o -> {
            assertThat(o.verdict()).isEqualTo(L7Observation.Verdict.ERROR);
            assertThat(((L7Observation.Http) o).reason()).isNotEmpty();
        });
    }

    /** A smuggling attempt after an allowed request on the same connection: the first is served, nothing after it is. */
    @Test
    void smugglingAfterAGoodRequestNeverReachesUpstream() throws Exception {
        open(ProxyFixture.cfg());
        fx.allow(rule("GET|POST", "/ok"));
        try (var c = new RawHttp(fx.egress())) {
            c.send("GET /ok HTTP/1.1\r\nHost: b\r\n\r\n"
                    + "POST /ok HTTP/1.1\r\nHost: b\r\nContent-Length: 37\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\nHost: b\r\n\r\n");
            assertThat(c.read().status()).isEqualTo(200);
            assertThat(c.read().status()).isEqualTo(400);
            assertThat(c.closedByPeer()).isTrue();
        }
        assertThat(fx.upstream.seen).extracting(RecordingUpstream.Seen::uri).containsExactly("/ok");
    }

    /** A malformed chunk size mid-body: the half-sent request is cut upstream, the connection closed. */
    @Test
    void badChunkClosesBothSides() throws Exception {
        open(ProxyFixture.cfg());
        try (var c = new RawHttp(fx.egress())) {
            c.send("POST /x HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n");
            var r = c.read();
            assertThat(r.status()).isEqualTo(400);
        }
        assertThat(fx.proxy.rejected("bad_chunk")).isEqualTo(1);
        Thread.sleep(200);
        assertThat(fx.upstream.seen).isEmpty(); // the server never got a complete request
    }

    @Test
    void slowlorisGets408EvenWhileTrickling() throws Exception {
        open(ProxyFixture.cfg(Duration.ofMillis(400), Duration.ofSeconds(60), 100, 200));
        try (var c = new RawHttp(fx.egress())) {
            long t0 = System.nanoTime();
            c.send("GET / HTTP/1.1\r\n");
            for (int i = 0; i < 3; i++) { // a byte every 100 ms does not restart the clock
                Thread.sleep(100);
                c.send("X-A" + i + ": v\r\n");
            }
            var r = c.read();
            assertThat(r.status()).isEqualTo(408);
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isBetween(Duration.ofMillis(350), Duration.ofSeconds(3));
            assertThat(c.closedByPeer()).isTrue();
        }
        assertThat(fx.proxy.rejected("request_headers_timeout")).isEqualTo(1);
        assertThat(fx.upstream.seen).isEmpty();
    }

    @Test
    void slowSecondRequestOnAKeepAliveConnection() throws Exception {
        open(ProxyFixture.cfg(Duration.ofMillis(300), Duration.ofSeconds(60), 100, 200));
        try (var c = new RawHttp(fx.egress())) {
            assertThat(c.send("GET /a HTTP/1.1\r\nHost: b\r\n\r\n").read().status()).isEqualTo(200);
            Thread.sleep(500); // idle between requests is not slowloris
            assertThat(c.send("GET /b HTTP/1.1\r\nHost: b\r\n\r\n").read().status()).isEqualTo(200);
            c.send("GET /c HTTP/1.1\r\nHo");
            assertThat(c.read().status()).isEqualTo(408);
        }
        assertThat(fx.upstream.seen).extracting(RecordingUpstream.Seen::uri).containsExactly("/a", "/b");
    }

    @Test
    void idleKeepAliveConnectionsAreClosed() throws Exception {
        open(ProxyFixture.cfg(Duration.ofSeconds(10), Duration.ofMillis(300), 100, 200));
        try (var c = new RawHttp(fx.egress())) {
            assertThat(c.send("GET /a HTTP/1.1\r\nHost: b\r\n\r\n").read().status()).isEqualTo(200);
            assertThat(c.closedByPeer()).isTrue();
        }
        try (var c = new RawHttp(fx.egress())) { // connected, never a byte
            assertThat(c.closedByPeer()).isTrue();
        }
        assertThat(fx.proxy.rejected("idle_timeout")).isEqualTo(2);
    }

    /** Random bytes never reach upstream and never crash the proxy; the seed is printed for a replay. */
    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void randomGarbageIsRejected(long seed) throws Exception {
        System.out.println("HttpProxyHostileTest.randomGarbageIsRejected seed=" + seed);
        open(ProxyFixture.cfg());
        var rnd = new SplittableRandom(seed);
        for (int i = 0; i < 20; i++) {
            byte[] junk = new byte[1 + rnd.nextInt(300)];
            rnd.nextBytes(junk);
            junk[0] = (byte) ('A' + rnd.nextInt(26)); // not the HTTP/2 preface
            try (var c = new RawHttp(fx.egress())) {
                c.socket.getOutputStream().write(junk);
                c.send("\r\n\r\n");
                try {
                    int status = c.read().status();
                    assertThat(status).isBetween(400, 505);
                } catch (java.io.IOException closed) {
                    // closed without an answer is fine too (e.g. an idle connection)
                }
            }
        }
        assertThat(fx.upstream.seen).isEmpty();
        try (var c = new RawHttp(fx.egress())) { // and it still serves
            assertThat(c.send("GET /still HTTP/1.1\r\nHost: b\r\n\r\n").read().status()).isEqualTo(200);
        }
    }

    /**
     * The same pipelined requests (one denied, one chunked, one with a header line that looks like a
     * folded one only inside a body) written in random fragments: the answers never change. The
     * fold check and the head timer see partial heads; a split must never look like an attack nor hide one.
     */
    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void fragmentedPipelinesGiveTheSameAnswers(long seed) throws Exception {
        System.out.println("HttpProxyHostileTest.fragmentedPipelinesGiveTheSameAnswers seed=" + seed);
        open(ProxyFixture.cfg());
        fx.allow(rule("GET|POST", "/ok.*"));
        String raw = "GET /ok1 HTTP/1.1\r\nHost: b\r\nX-A: 1\r\n\r\n"
                + "POST /ok2 HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: chunked\r\n\r\n4\r\na\r\n \r\n3\r\n\r\n \r\n0\r\n\r\n"
                + "GET /no HTTP/1.1\r\nHost: b\r\n\r\n"
                + "POST /ok3 HTTP/1.1\r\nHost: b\r\nContent-Length: 5\r\n\r\n\n x\r\n"
                + "GET /ok4 HTTP/1.1\r\nHost: b\r\n\r\n";
        var rnd = new SplittableRandom(seed);
        try (var c = new RawHttp(fx.egress())) {
            for (int i = 0; i < raw.length(); ) {
                int n = 1 + rnd.nextInt(12);
                c.send(raw.substring(i, Math.min(raw.length(), i + n)));
                i += n;
                if (rnd.nextInt(4) == 0) Thread.sleep(1);
            }
            assertThat(c.read().body()).isEqualTo("GET /ok1 0");
            assertThat(c.read().body()).isEqualTo("POST /ok2 7");
            assertThat(c.read().status()).isEqualTo(403);
            assertThat(c.read().body()).isEqualTo("POST /ok3 5");
            assertThat(c.read().body()).isEqualTo("GET /ok4 0");
        }
        assertThat(fx.upstream.seen).extracting(RecordingUpstream.Seen::uri).containsExactly("/ok1", "/ok2", "/ok3", "/ok4");
        assertThat(fx.upstream.seen.get(1).body()).isEqualTo("a\r\n \r\n ");
        assertThat(fx.proxy.status().rejections()).isEmpty();
    }

    @Test
    void h2IdleConnectionsAreClosed() throws Exception {
        open(ProxyFixture.cfg(Duration.ofSeconds(10), Duration.ofMillis(300), 100, 200));
        try (var h2 = new RawH2(fx.ingress())) {
            h2.headers(1, RawH2.get("/a"), true);
            assertThat(h2.answer(1).status()).isEqualTo("200");
            var g = h2.goAway();
            assertThat(g).isNotNull();
            assertThat(g.errorCode()).isEqualTo(0);
        }
        assertThat(fx.proxy.rejected("idle_timeout")).isEqualTo(1);
    }

    /** Connecting to the listener directly (not redirected): its original destination is the proxy itself, which would loop. */
    @Test
    void aDirectConnectionToTheListenerIsClosed() throws Exception {
        var p = new HttpProxy(ProxyFixture.cfg(), (i, s, d) -> L7Context.of(java.util.List.of(HttpRule.ANY), 1, 2), null, false,
                OriginalDestination.LOCAL_ADDRESS, 1);
        try {
            p.start();
            try (var c = new RawHttp(new java.net.InetSocketAddress("127.0.0.1", p.egress().port()))) {
                c.send("GET / HTTP/1.1\r\nHost: b\r\n\r\n");
                assertThat(c.closedByPeer()).isTrue();
            }
            assertThat(p.rejected("direct_connection")).isEqualTo(1);
            assertThat(p.status().forwarded()).isZero();
        } finally {
            p.stop();
        }
    }

    /** 8 MiB up and a body streamed back: the proxy neither buffers it whole nor loses a byte. */
    @Test
    void largeBodiesStreamThrough() throws Exception {
        open(ProxyFixture.cfg());
        int n = 8 << 20;
        try (var c = new RawHttp(fx.egress())) {
            c.send("POST /big HTTP/1.1\r\nHost: b\r\nContent-Length: " + n + "\r\n\r\n");
            byte[] chunk = new byte[64 * 1024];
            java.util.Arrays.fill(chunk, (byte) 'z');
            var w = new Thread(() -> {
                try {
                    for (int sent = 0; sent < n; sent += chunk.length) c.socket.getOutputStream().write(chunk);
                } catch (java.io.IOException ignored) {
                }
            });
            w.start();
            var r = c.read();
            w.join();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.body()).isEqualTo("POST /big " + n);
        }
        assertThat(fx.upstream.seen.getFirst().body()).hasSize(n);
    }

    /** HTTP/2 to HTTP/1.1: a CR LF in an HTTP/2 field value must not become a second field (or request) upstream. */
    @Test
    void h2CrlfInAValueIsNotInjectedUpstream() throws Exception {
        open(ProxyFixture.cfg());
        try (var h2 = new RawH2(fx.ingress())) {
            h2.headers(1, RawH2.unchecked("/a").add("x-a", "v\r\nx-injected: 1"), true);
            assertThat(h2.answer(1).resetCode()).isEqualTo(1); // RST_STREAM PROTOCOL_ERROR on that stream only
            h2.headers(3, RawH2.unchecked("/b").add("x-a", "v\nGET /admin HTTP/1.1"), true);
            assertThat(h2.answer(3).resetCode()).isEqualTo(1);
            h2.headers(5, RawH2.unchecked("/c").add("x-a", "v\0w"), true);
            assertThat(h2.answer(5).resetCode()).isEqualTo(1);
            h2.headers(7, RawH2.get("/fine"), true);
            assertThat(h2.answer(7).status()).isEqualTo("200");
        }
        assertThat(fx.proxy.rejected("invalid_header_value")).isEqualTo(3);
        assertThat(fx.upstream.seen).extracting(RecordingUpstream.Seen::uri).containsExactly("/fine");
    }

    /** The H2.CL desync: content-length 0 with DATA that is a second request; the upstream must never read it as one. */
    @Test
    void h2ContentLengthMismatchDoesNotSmuggle() throws Exception {
        open(ProxyFixture.cfg());
        fx.allow(rule("POST", "/ok"));
        try (var h2 = new RawH2(fx.ingress())) {
            var h = new io.netty.handler.codec.http2.DefaultHttp2Headers().method("POST").path("/ok").scheme("http").authority("b")
                    .add("content-length", "0");
            h2.headers(1, h, false);
            h2.frame(RawH2.DATA, RawH2.END_STREAM, 1, "GET /admin HTTP/1.1\r\nHost: b\r\n\r\n".getBytes());
            h2.answer(1); // 200 when the server answered the empty POST first, else RST_STREAM: either way the DATA is not a request
            h2.headers(3, RawH2.get("/after"), true);
            h2.answer(3);
        }
        Thread.sleep(300);
        assertThat(fx.upstream.seen).extracting(RecordingUpstream.Seen::uri).doesNotContain("/admin");
    }

    static Stream<Long> seeds() { return Stream.of(1L, 42L, System.nanoTime()); }

    // HTTP/2

    @Test
    void h2RapidResetEndsInGoAwayEnhanceYourCalm() throws Exception {
        open(ProxyFixture.cfg(Duration.ofSeconds(10), Duration.ofSeconds(60), 100, 10));
        fx.allow(rule("GET", "/allowed"));
        try (var h2 = new RawH2(fx.ingress())) {
            for (int i = 0; i < 30; i++) {
                int id = 1 + 2 * i;
                h2.headers(id, RawH2.get("/allowed"), false); // allowed: each starts upstream work the reset cancels
                h2.rst(id, 8); // CANCEL
            }
            var g = h2.goAway();
            assertThat(g).isNotNull();
            assertThat(g.errorCode()).isEqualTo(0xb); // ENHANCE_YOUR_CALM
        }
        assertThat(fx.proxy.rejected("h2_rapid_reset")).isEqualTo(1);
        assertThat(fx.upstream.seen).hasSizeLessThanOrEqualTo(11); // the upstream got at most what the limit let through
    }

    @Test
    void h2StreamsAboveMaxConcurrentAreRefused() throws Exception {
        open(ProxyFixture.cfg(Duration.ofSeconds(10), Duration.ofSeconds(60), 5, 200));
        try (var h2 = new RawH2(fx.ingress())) {
            var settings = h2.next();
            assertThat(settings.type()).isEqualTo(RawH2.SETTINGS);
            assertThat(java.util.HexFormat.of().formatHex(settings.payload())).contains("000300000005"); // MAX_CONCURRENT_STREAMS = 5
            for (int i = 0; i < 6; i++) h2.headers(1 + 2 * i, RawH2.get(i == 5 ? "/refused" : "/slow"), false); // bodies never end: all stay open
            var refused = h2.answer(11);
            assertThat(refused.resetCode()).isEqualTo(0x7); // REFUSED_STREAM
            assertThat(refused.headers()).isNull();
            h2.frame(RawH2.DATA, RawH2.END_STREAM, 1, new byte[0]); // stream 1 ends: a slot frees
            assertThat(h2.answer(1).status()).isEqualTo("200");
            h2.headers(13, RawH2.get("/next"), true);
            assertThat(h2.answer(13).status()).isEqualTo("200");
        }
        assertThat(fx.proxy.rejected("h2_refused_stream")).isEqualTo(1);
        assertThat(fx.upstream.seen).extracting(RecordingUpstream.Seen::uri).contains("/slow", "/next").doesNotContain("/refused");
    }

    /** A header block that keeps growing in CONTINUATION frames (the 2024 CONTINUATION flood): cut, never forwarded. */
    @Test
    void h2ContinuationFloodIsCut() throws Exception {
        open(ProxyFixture.cfg());
        try (var h2 = new RawH2(fx.ingress())) {
            byte[] first = h2.hpack(RawH2.get("/flood"));
            h2.frame(RawH2.HEADERS, 0, 1, first); // no END_HEADERS
            var filler = h2.hpack(new io.netty.handler.codec.http2.DefaultHttp2Headers().add("x-filler", "f".repeat(4000)));
            RawH2.Frame end = null;
            try {
                for (int i = 0; i < 40 && end == null; i++) h2.frame(RawH2.CONTINUATION, 0, 1, filler);
            } catch (java.io.IOException reset) {
                // the proxy may close while we still write
            }
            end = h2.goAway();
            assertThat(end).isNotNull();
            assertThat(end.errorCode()).isEqualTo(0xb); // ENHANCE_YOUR_CALM
        }
        assertThat(fx.proxy.rejected("h2_continuation_flood")).isEqualTo(1);
        assertThat(fx.upstream.seen).isEmpty();
    }

    @Test
    void h2HeaderListOverTheLimitIsRefused() throws Exception {
        open(ProxyFixture.cfg());
        try (var h2 = new RawH2(fx.ingress())) {
            var h = RawH2.get("/big");
            for (int i = 0; i < 8; i++) h.add("x-big-" + i, Long.toString(i * 7919L, 36).repeat(1) + "v".repeat(8 * 1024));
            byte[] block = h2.hpack(h);
            for (int off = 0; off < block.length; off += 16000) {
                int end = Math.min(block.length, off + 16000);
                h2.frame(off == 0 ? RawH2.HEADERS : RawH2.CONTINUATION, end == block.length ? RawH2.END_HEADERS | RawH2.END_STREAM : 0, 1,
                        java.util.Arrays.copyOfRange(block, off, end));
            }
            var a = h2.answer(1);
            assertThat(a.status()).isNotEqualTo("200");
            assertThat(a.status().equals("431") || a.resetCode() >= 0 || a.resetCode() == -2).isTrue();
        }
        assertThat(fx.proxy.rejected("h2_header_list_too_large")).isEqualTo(1);
        assertThat(fx.upstream.seen).isEmpty();
    }

    @Test
    void h2BadRequestsAreRefusedOnTheirStreamOnly() throws Exception {
        open(ProxyFixture.cfg());
        try (var h2 = new RawH2(fx.ingress())) {
            h2.headers(1, RawH2.get("/public/../admin"), true);
            assertThat(h2.answer(1).status()).isEqualTo("400");
            h2.headers(3, new io.netty.handler.codec.http2.DefaultHttp2Headers().method("GET").path("http://evil/x").scheme("http").authority("b"), true);
            assertThat(h2.answer(3).status()).isEqualTo("400");
            h2.headers(5, RawH2.get("/fine"), true);
            assertThat(h2.answer(5).status()).isEqualTo("200");
        }
        assertThat(fx.proxy.rejected("path_not_normalized")).isEqualTo(1);
        assertThat(fx.proxy.rejected("invalid_target")).isEqualTo(1);
        assertThat(fx.upstream.seen).extracting(RecordingUpstream.Seen::uri).containsExactly("/fine");
    }
}
