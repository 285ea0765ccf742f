package dev.sluice.agent.proxy;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;

/**
 * The original destination in the tests: a JDK HTTP server that records every request it received
 * (so a test proves a denied or rejected request never arrived) and answers 200 with
 * "METHOD URI BODY-LENGTH". A path starting /chunked answers with a chunked body.
 */
final class RecordingUpstream implements AutoCloseable {
    record Seen(String method, String uri, Map<String, List<String>> headers, String body, int clientPort) {}

    final List<Seen> seen = new CopyOnWriteArrayList<>();
    private final HttpServer server;

    RecordingUpstream() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
        server.setExecutor(Executors.newFixedThreadPool(8, r -> {
            Thread t = new Thread(r, "test-upstream");
            t.setDaemon(true);
            return t;
        }));
        server.createContext("/", ex -> {
            byte[] body = ex.getRequestBody().readAllBytes();
            seen.add(new Seen(ex.getRequestMethod(), ex.getRequestURI().toString(), Map.copyOf(ex.getRequestHeaders()),
                    new String(body, StandardCharsets.ISO_8859_1), ex.getRemoteAddress().getPort()));
            byte[] out = (ex.getRequestMethod() + " " + ex.getRequestURI() + " " + body.length).getBytes(StandardCharsets.US_ASCII);
            ex.getResponseHeaders().set("Content-Type", "text/plain");
            if (ex.getRequestURI().getPath().startsWith("/chunked")) {
                ex.sendResponseHeaders(200, 0);
                try (var os = ex.getResponseBody()) {
                    os.write(out);
                    os.flush();
                    os.write("|second-part".getBytes(StandardCharsets.US_ASCII));
                }
            } else {
                ex.sendResponseHeaders(200, ex.getRequestMethod().equals("HEAD") ? -1 : out.length);
                try (var os = ex.getResponseBody()) {
                    if (!ex.getRequestMethod().equals("HEAD")) os.write(out);
                }
            }
        });
        server.start();
    }

    InetSocketAddress address() { return server.getAddress(); }

    @Override public void close() { server.stop(0); }
}
