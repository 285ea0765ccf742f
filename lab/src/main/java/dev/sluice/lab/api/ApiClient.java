package dev.sluice.lab.api;

import dev.sluice.bpf.Netns;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Callable;
import tools.jackson.databind.JsonNode;

/**
 * The lab's own client of its API server: plain HTTP/1.1 with keep-alive over sockets opened in the
 * namespace where the server listens (the lab's world), so the CLI, which runs in the host's
 * namespace, reaches it without any route or listener in the host's namespace.
 */
public final class ApiClient implements AutoCloseable {
    static final int TIMEOUT_MS = 30_000;

    /** One HTTP exchange's outcome. */
    public record Reply(int code, JsonNode body, Map<String, String> headers) {
        public boolean ok() { return code < 300; }

        /** A header by its lower-case name, "" when absent. */
        public String header(String name) { return headers.getOrDefault(name.toLowerCase(), ""); }
    }

    private final Path netns;
    private final InetSocketAddress server;
    private final ConcurrentLinkedQueue<Conn> idle = new ConcurrentLinkedQueue<>();

    /** @param netns the namespace the sockets are opened in; null for the caller's own */
    public ApiClient(Path netns, InetSocketAddress server) {
        this.netns = netns;
        this.server = server;
    }

    /** One request; the body is JSON (or none). Answers of any code come back; only a broken connection throws. */
    public Reply call(String method, String path, JsonNode body, String contentType) {
        byte[] bytes = body == null ? new byte[0] : ApiTypes.JSON.writeValueAsBytes(body);
        for (int attempt = 0; ; attempt++) {
            Conn c = idle.poll();
            boolean reused = c != null;
            if (c == null) c = open();
            try {
                Reply r = c.exchange(method, path, bytes, contentType);
                if (c.ch.isOpen()) idle.add(c);
                return r;
            } catch (IOException e) {
                c.close();
                // a kept-alive connection the server closed meanwhile: once more on a new one
                if (!reused || attempt > 0) throw new UncheckedIOException("API server " + server + ": " + method + " " + path + ": " + e.getMessage(), e);
            }
        }
    }

    /** {@link #call} that throws the server's Status as an {@link ApiError} when the code is not 2xx. */
    public JsonNode ok(String method, String path, JsonNode body, String contentType) {
        Reply r = call(method, path, body, contentType);
        if (!r.ok())
            throw new ApiError(r.code(), r.body().path("reason").asString(""), r.body().path("message").asString("HTTP " + r.code()));
        return r.body();
    }

    /** Runs the calls on up to {@code parallel} connections at once; results in the order given. */
    public <T> List<T> parallel(List<Callable<T>> calls, int parallel) {
        if (calls.size() <= 1 || parallel <= 1) {
            List<T> out = new ArrayList<>();
            for (var c : calls) out.add(run(c));
            return out;
        }
        try (var pool = java.util.concurrent.Executors.newFixedThreadPool(Math.min(parallel, calls.size()))) {
            List<java.util.concurrent.Future<T>> fs = new ArrayList<>();
            for (var c : calls) fs.add(pool.submit(c));
            List<T> out = new ArrayList<>();
            for (var f : fs) {
                try {
                    out.add(f.get());
                } catch (java.util.concurrent.ExecutionException e) {
                    if (e.getCause() instanceof RuntimeException r) throw r;
                    throw new IllegalStateException(e.getCause());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted");
                }
            }
            return out;
        }
    }

    private static <T> T run(Callable<T> c) {
        try {
            return c.call();
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private Conn open() {
        try {
            SocketChannel ch = netns == null ? SocketChannel.open(server) : Netns.inNetns(netns, () -> SocketChannel.open(server));
            ch.socket().setSoTimeout(TIMEOUT_MS);
            ch.socket().setTcpNoDelay(true);
            return new Conn(ch);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot connect to the lab's API server at " + server + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw new IllegalStateException("cannot connect to the lab's API server at " + server + ": " + e.getMessage(), e);
        }
    }

    @Override public void close() {
        Conn c;
        while ((c = idle.poll()) != null) c.close();
    }

    private final class Conn {
        final SocketChannel ch;
        final InputStream in;
        final OutputStream out;

        Conn(SocketChannel ch) throws IOException {
            this.ch = ch;
            this.in = new java.io.BufferedInputStream(ch.socket().getInputStream(), 65536);
            this.out = ch.socket().getOutputStream();
        }

        Reply exchange(String method, String path, byte[] body, String contentType) throws IOException {
            StringBuilder h = new StringBuilder(method).append(' ').append(path).append(" HTTP/1.1\r\n")
                    .append("Host: ").append(server.getHostString()).append(':').append(server.getPort()).append("\r\n")
                    .append("Accept: application/json\r\nUser-Agent: sluice-lab\r\n");
            if (body.length > 0) h.append("Content-Type: ").append(contentType == null ? "application/json" : contentType).append("\r\n");
            h.append("Content-Length: ").append(body.length).append("\r\n\r\n");
            byte[] head = h.toString().getBytes(StandardCharsets.US_ASCII);
            byte[] req = new byte[head.length + body.length];
            System.arraycopy(head, 0, req, 0, head.length);
            System.arraycopy(body, 0, req, head.length, body.length);
            out.write(req);
            out.flush();
            String status = line();
            if (status == null) throw new IOException("connection closed");
            String[] sp = status.split(" ", 3);
            if (sp.length < 2 || !sp[0].startsWith("HTTP/1.")) throw new IOException("not an HTTP answer: " + status);
            int code = Integer.parseInt(sp[1]);
            long length = -1;
            boolean chunked = false, close = false;
            Map<String, String> headers = new java.util.HashMap<>();
            for (String l = line(); l != null && !l.isEmpty(); l = line()) {
                int colon = l.indexOf(':');
                if (colon < 0) continue;
                String k = l.substring(0, colon).strip().toLowerCase(), v = l.substring(colon + 1).strip();
                headers.put(k, v);
                switch (k) {
                    case "content-length" -> length = Long.parseLong(v);
                    case "transfer-encoding" -> chunked = v.toLowerCase().contains("chunked");
                    case "connection" -> close = v.equalsIgnoreCase("close");
                    default -> { }
                }
            }
            byte[] data;
            if (chunked) {
                ByteArrayOutputStream b = new ByteArrayOutputStream();
                while (true) {
                    String size = line();
                    if (size == null) throw new IOException("connection closed in a chunked body");
                    int n = Integer.parseInt(size.split(";")[0].strip(), 16);
                    if (n == 0) {
                        while (true) {
                            String t = line();
                            if (t == null || t.isEmpty()) break;
                        }
                        break;
                    }
                    b.write(in.readNBytes(n));
                    line();
                }
                data = b.toByteArray();
            } else if (length >= 0) {
                data = in.readNBytes((int) length);
                if (data.length < length) throw new IOException("connection closed in the body");
            } else {
                data = in.readAllBytes();
                close = true;
            }
            if (close) ch.close();
            JsonNode json = data.length == 0 ? ApiTypes.JSON.createObjectNode() : parse(data);
            return new Reply(code, json, headers);
        }

        private JsonNode parse(byte[] data) {
            try {
                return ApiTypes.JSON.readTree(data);
            } catch (tools.jackson.core.JacksonException e) {
                return ApiTypes.JSON.createObjectNode().put("message", new String(data, StandardCharsets.UTF_8).strip());
            }
        }

        private String line() throws IOException {
            ByteArrayOutputStream b = new ByteArrayOutputStream(64);
            int c;
            while ((c = in.read()) >= 0) {
                if (c == '\n') break;
                if (c != '\r') b.write(c);
            }
            if (c < 0 && b.size() == 0) return null;
            return b.toString(StandardCharsets.US_ASCII);
        }

        void close() {
            try {
                ch.close();
            } catch (IOException ignored) {
                // gone already
            }
        }
    }
}
