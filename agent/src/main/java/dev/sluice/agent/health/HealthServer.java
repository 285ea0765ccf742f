package dev.sluice.agent.health;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code GET /healthz} and {@code GET /readyz} over plain HTTP, for the kubelet's probes. Each answers
 * 200 {@code ok} or 503 with one line per problem; any other path is 404, any other method 405.
 * Nothing else is served and nothing is read from the request, so the port may face the node.
 */
public final class HealthServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(HealthServer.class);

    private final InetSocketAddress address;
    private final Supplier<List<String>> liveness, readiness;
    private HttpServer server;
    private ExecutorService executor;

    /**
     * @param liveness what keeps the agent from being alive, empty when it is
     * @param readiness what the node still lacks before pods may be scheduled on it, empty when ready
     */
    public HealthServer(InetSocketAddress address, Supplier<List<String>> liveness, Supplier<List<String>> readiness) {
        this.address = address;
        this.liveness = liveness;
        this.readiness = readiness;
    }

    /** Parses a validated {@code healthAddress} value, HOST:PORT or [IPv6]:PORT. */
    public static InetSocketAddress parse(String hostPort) {
        int i = hostPort.lastIndexOf(':');
        String host = hostPort.substring(0, i);
        if (host.startsWith("[")) host = host.substring(1, host.length() - 1);
        return new InetSocketAddress(host, Integer.parseInt(hostPort.substring(i + 1)));
    }

    public void start() throws IOException {
        try {
            server = HttpServer.create(address, 8);
        } catch (IOException e) {
            throw new IOException("healthAddress: " + address.getHostString() + ":" + address.getPort() + " cannot be bound: " + e.getMessage()
                    + " (expected: a free local address for /healthz and /readyz, or \"\" for off)", e);
        }
        // Probes are rare and cheap, but a liveness check may wait on the API: one thread per request.
        executor = Executors.newVirtualThreadPerTaskExecutor();
        server.setExecutor(executor);
        server.createContext("/", this::serve);
        server.start();
        log.info("health endpoints on http://{}:{}/healthz and /readyz", address.getHostString(), port());
    }

    /** The bound port (the configured one, or the kernel's choice for port 0). */
    public int port() { return server.getAddress().getPort(); }

    private void serve(HttpExchange ex) throws IOException {
        try (ex) {
            String path = ex.getRequestURI().getPath();
            Supplier<List<String>> check = switch (path) {
                case "/healthz" -> liveness;
                case "/readyz" -> readiness;
                default -> null;
            };
            if (check == null) {
                send(ex, 404, "not found: " + path + " (expected: /healthz or /readyz)\n");
            } else if (!ex.getRequestMethod().equals("GET") && !ex.getRequestMethod().equals("HEAD")) {
                ex.getResponseHeaders().set("Allow", "GET, HEAD");
                send(ex, 405, "method " + ex.getRequestMethod() + " not allowed (expected: GET or HEAD)\n");
            } else {
                List<String> problems;
                try {
                    problems = check.get();
                } catch (RuntimeException e) {
                    problems = List.of("check failed: " + e);
                }
                send(ex, problems.isEmpty() ? 200 : 503, problems.isEmpty() ? "ok\n" : String.join("\n", problems) + "\n");
            }
        }
    }

    private static void send(HttpExchange ex, int code, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
        boolean head = ex.getRequestMethod().equals("HEAD");
        ex.sendResponseHeaders(code, head ? -1 : b.length);
        if (!head) {
            try (OutputStream os = ex.getResponseBody()) {
                os.write(b);
            }
        }
    }

    @Override public void close() {
        if (server != null) server.stop(0);
        if (executor != null) executor.shutdownNow();
    }
}
