package dev.sluice.agent.api;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;

/**
 * The agent's API on a Unix socket: one JSON request line per connection, answered by one or more
 * JSON lines (see {@link AgentClient}). The {@code cni} method answers in the plugin's framing:
 * the exit code on the first line, then the bytes the plugin prints.
 */
public final class ApiServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ApiServer.class);

    /** A method: gets the params, writes result lines through {@link Stream}. */
    @FunctionalInterface
    public interface Handler {
        void handle(JsonNode params, Stream out) throws Exception;
    }

    /** Where a handler writes; {@link #result} may be called many times by streaming methods. */
    public interface Stream {
        /** Sends one result line; returns false once the client has gone. */
        boolean result(Object value);

        void raw(String text);
    }

    private final Path socket;
    private final Map<String, Handler> handlers = new ConcurrentHashMap<>();
    private ServerSocketChannel server;
    private Thread acceptor;

    public ApiServer(Path socket) { this.socket = socket; }

    public ApiServer register(String method, Handler h) {
        handlers.put(method, h);
        return this;
    }

    public void start() throws IOException {
        Files.createDirectories(socket.getParent());
        Files.deleteIfExists(socket);
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        acceptor = Thread.ofPlatform().name("api-accept").daemon().start(this::accept);
    }

    private void accept() {
        while (server.isOpen()) {
            try {
                SocketChannel ch = server.accept();
                Thread.ofVirtual().name("api").start(() -> serve(ch));
            } catch (IOException e) {
                if (server.isOpen()) log.warn("api accept: {}", e.getMessage());
            }
        }
    }

    private void serve(SocketChannel ch) {
        try (ch) {
            var in = new BufferedReader(new InputStreamReader(Channels.newInputStream(ch), StandardCharsets.UTF_8));
            OutputStream os = Channels.newOutputStream(ch);
            String line = in.readLine();
            if (line == null) return;
            JsonNode req;
            try {
                req = AgentClient.JSON.readTree(line);
            } catch (RuntimeException e) {
                write(os, Map.of("ok", false, "error", "request is not JSON (expected: {\"method\":...,\"params\":{...}})"));
                return;
            }
            String method = req.path("method").asString("");
            Handler h = handlers.get(method);
            if (h == null) {
                write(os, Map.of("ok", false, "error", "unknown method " + method + " (expected one of: " + new java.util.TreeSet<>(handlers.keySet()) + ")"));
                return;
            }
            Stream out = new Stream() {
                public boolean result(Object value) {
                    try {
                        // a null result (e.g. policy of a pod on another node) is JSON null, not an error
                        Map<String, Object> resp = new java.util.LinkedHashMap<>();
                        resp.put("ok", true);
                        resp.put("result", value);
                        write(os, resp);
                        return true;
                    } catch (IOException e) {
                        return false;
                    }
                }

                public void raw(String text) {
                    try {
                        os.write(text.getBytes(StandardCharsets.UTF_8));
                        os.flush();
                    } catch (IOException e) {
                        log.debug("api client gone: {}", e.getMessage());
                    }
                }
            };
            try {
                h.handle(req.path("params"), out);
            } catch (Exception e) {
                String msg = e.getMessage() == null ? e.toString() : e.getMessage();
                log.warn("api {}: {}", method, msg);
                write(os, Map.of("ok", false, "error", msg.lines().findFirst().orElse(msg)));
            }
        } catch (IOException e) {
            log.debug("api connection: {}", e.getMessage());
        }
    }

    private static void write(OutputStream os, Object value) throws IOException {
        os.write(AgentClient.JSON.writeValueAsBytes(value));
        os.write('\n');
        os.flush();
    }

    @Override public void close() {
        try {
            if (server != null) server.close();
            Files.deleteIfExists(socket);
        } catch (IOException e) {
            log.debug("api close: {}", e.getMessage());
        }
    }
}
