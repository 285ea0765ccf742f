package dev.sluice.agent.api;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;

/**
 * The agent's API on a Unix socket: one JSON request line per connection, answered by one or more
 * JSON lines (see {@link AgentClient}). The {@code cni} method answers in the plugin's framing:
 * the exit code on the first line, then the bytes the plugin prints.
 *
 * <p>Limits, so that no client can hold the agent's memory or connections: a request line longer
 * than {@link #MAX_REQUEST} bytes gets one error line; a connection whose request line has not
 * arrived within the request timeout (default {@link #REQUEST_TIMEOUT}) is closed.
 */
public final class ApiServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ApiServer.class);
    /** The longest request line: the CNI plugin forwards at most 1 MiB of configuration plus its variables. */
    public static final int MAX_REQUEST = 8 << 20;
    public static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);

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
    private final Duration requestTimeout;
    private final Map<String, Handler> handlers = new ConcurrentHashMap<>();
    private ServerSocketChannel server;
    private Thread acceptor;

    public ApiServer(Path socket) { this(socket, REQUEST_TIMEOUT); }

    public ApiServer(Path socket, Duration requestTimeout) {
        this.socket = socket;
        this.requestTimeout = requestTimeout;
    }

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
                if (!server.isOpen()) return;
                log.warn("api accept: {}", e.getMessage());
                try {
                    Thread.sleep(100); // out of file descriptors: no busy loop while connections drain
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    private void serve(SocketChannel ch) {
        try (ch) {
            OutputStream os = Channels.newOutputStream(ch);
            // Closing the channel is the only way to end a blocked read on it.
            Thread timer = Thread.ofVirtual().start(() -> {
                try {
                    Thread.sleep(requestTimeout);
                    ch.close();
                } catch (InterruptedException | IOException e) {
                    // the request arrived in time, or the connection is already gone
                }
            });
            byte[] line;
            try {
                line = readLine(new BufferedInputStream(Channels.newInputStream(ch), 65536));
            } catch (ClosedChannelException e) {
                log.debug("api: no request within {}", requestTimeout);
                return;
            } finally {
                timer.interrupt();
            }
            if (line == null) return;
            if (line.length > MAX_REQUEST) {
                write(os, Map.of("ok", false, "error", "request longer than " + MAX_REQUEST + " bytes (expected: one JSON line)"));
                return;
            }
            JsonNode req;
            try {
                req = AgentClient.JSON.readTree(new String(line, StandardCharsets.UTF_8).strip());
            } catch (RuntimeException e) {
                write(os, Map.of("ok", false, "error", "request is not JSON (expected: {\"method\":...,\"params\":{...}})"));
                return;
            }
            String method = req.path("method").asString("");
            Handler h = handlers.get(method);
            if (h == null) {
                String shown = method.length() > 64 ? method.substring(0, 64) + "..." : method;
                write(os, Map.of("ok", false, "error", "unknown method " + shown + " (expected one of: " + new java.util.TreeSet<>(handlers.keySet()) + ")"));
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

    /**
     * The request line without its end of line; null when the client sent nothing; a line longer
     * than {@link #MAX_REQUEST} bytes is cut to one byte more, for the caller to reject.
     */
    private static byte[] readLine(InputStream in) throws IOException {
        var buf = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) != -1 && c != '\n' && buf.size() <= MAX_REQUEST) buf.write(c);
        if (c == -1 && buf.size() == 0) return null;
        return buf.toByteArray();
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
