package dev.sluice.agent.health;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The HTTP side of the probes, on a loopback port of the kernel's choice, with the checks faked. */
class HealthServerTest {
    final AtomicReference<List<String>> alive = new AtomicReference<>(List.of());
    final AtomicReference<List<String>> ready = new AtomicReference<>(List.of("data path: not loaded yet", "cluster state: no snapshot programmed yet"));
    final HttpClient http = HttpClient.newHttpClient();
    HealthServer server;

    @BeforeEach
    void start() throws IOException {
        server = new HealthServer(new InetSocketAddress("127.0.0.1", 0), alive::get, ready::get);
        server.start();
    }

    @AfterEach
    void stop() {
        server.close();
        http.close();
    }

    HttpResponse<String> send(String method, String path) throws Exception {
        var req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path)).method(method, HttpRequest.BodyPublishers.noBody()).build();
        return http.send(req, HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void healthzIsOkWhileAliveReadyzListsWhatIsMissing() throws Exception {
        var h = send("GET", "/healthz");
        assertThat(h.statusCode()).isEqualTo(200);
        assertThat(h.body()).isEqualTo("ok\n");
        var r = send("GET", "/readyz");
        assertThat(r.statusCode()).isEqualTo(503);
        assertThat(r.body()).isEqualTo("data path: not loaded yet\ncluster state: no snapshot programmed yet\n");
        assertThat(r.headers().firstValue("Content-Type")).contains("text/plain; charset=utf-8");

        ready.set(List.of());
        assertThat(send("GET", "/readyz").statusCode()).isEqualTo(200);
        alive.set(List.of("API: no answer within 2000 ms"));
        h = send("GET", "/healthz");
        assertThat(h.statusCode()).isEqualTo(503);
        assertThat(h.body()).isEqualTo("API: no answer within 2000 ms\n");
    }

    @Test
    void headAnswersTheStatusWithoutABody() throws Exception {
        var r = send("HEAD", "/readyz");
        assertThat(r.statusCode()).isEqualTo(503);
        assertThat(r.body()).isEmpty();
    }

    @Test
    void otherPathsAndMethodsAreRefused() throws Exception {
        var r = send("GET", "/metrics");
        assertThat(r.statusCode()).isEqualTo(404);
        assertThat(r.body()).isEqualTo("not found: /metrics (expected: /healthz or /readyz)\n");
        r = send("POST", "/healthz");
        assertThat(r.statusCode()).isEqualTo(405);
        assertThat(r.headers().firstValue("Allow")).contains("GET, HEAD");
    }

    @Test
    void aCheckThatThrowsIsAProblemNotACrash() throws Exception {
        server.close();
        server = new HealthServer(new InetSocketAddress("127.0.0.1", 0), () -> { throw new IllegalStateException("boom"); }, List::of);
        server.start();
        var r = send("GET", "/healthz");
        assertThat(r.statusCode()).isEqualTo(503);
        assertThat(r.body()).isEqualTo("check failed: java.lang.IllegalStateException: boom\n");
    }

    @Test
    void aBusyAddressIsOneErrorNamingIt() {
        var second = new HealthServer(new InetSocketAddress("127.0.0.1", server.port()), List::of, List::of);
        assertThatThrownBy(second::start).isInstanceOf(IOException.class)
                .hasMessageStartingWith("healthAddress: 127.0.0.1:" + server.port() + " cannot be bound: ")
                .hasMessageEndingWith("(expected: a free local address for /healthz and /readyz, or \"\" for off)");
    }

    @Test
    void parsesTheValuesForm() {
        assertThat(HealthServer.parse("127.0.0.1:9879")).isEqualTo(new InetSocketAddress("127.0.0.1", 9879));
        assertThat(HealthServer.parse("[::1]:9879")).isEqualTo(new InetSocketAddress("::1", 9879));
    }
}
