package dev.sluice.agent.metrics;

import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One registry served at {@code GET /metrics} on every address of the node, as Cilium's
 * {@code --prometheus-serve-addr=:9962}: the Prometheus client's exporter on the JDK's HttpServer,
 * one virtual thread per scrape, so an idle endpoint holds no thread of its own beyond the JDK's
 * dispatcher.
 */
public final class MetricsServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(MetricsServer.class);
    private final HTTPServer server;
    private final ExecutorService executor;

    private MetricsServer(HTTPServer server, ExecutorService executor) {
        this.server = server;
        this.executor = executor;
    }

    /**
     * @param key the values key that set the port, named in the error when it cannot be bound
     * @param host null: every address; tests give 127.0.0.1
     * @param port 0: any free port (tests)
     */
    public static MetricsServer start(String key, String host, int port, PrometheusRegistry registry) throws IOException {
        ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
        try {
            var b = HTTPServer.builder().port(port).registry(registry).executorService(executor);
            if (host != null) b.hostname(host);
            HTTPServer s = b.buildAndStart();
            log.info("metrics on :{}/metrics ({})", s.getPort(), key);
            return new MetricsServer(s, executor);
        } catch (IOException e) {
            executor.close();
            throw new IOException(key + ": " + port + " cannot be bound: " + e.getMessage() + " (expected: a free port on the node)", e);
        }
    }

    public int port() { return server.getPort(); }

    @Override public void close() {
        server.close();
        executor.shutdownNow();
    }
}
