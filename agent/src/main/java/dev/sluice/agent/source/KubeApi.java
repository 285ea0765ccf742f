package dev.sluice.agent.source;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.Supplier;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * The agent's client of the Kubernetes API: the JDK's HTTP client for lists and writes, and its
 * WebSocket for watches (as fabric8 and {@code kubectl}'s exec use them; a kube-apiserver serves a
 * watch over WebSocket as over chunked HTTP). JSON only; nothing but what {@link KubernetesSource}
 * and {@link CrdInstaller} ask for. It replaces fabric8's client and Vert.x in the agent: their
 * classes (about 5,000) and event loops cost more memory than all of 10,000 Services.
 *
 * <p>Where it connects and how it authenticates comes from a kubeconfig (server,
 * certificate-authority[-data], insecure-skip-tls-verify, token, tokenFile,
 * client-certificate[-data] and client-key[-data] with an RSA or EC key in PKCS#8, or RSA in
 * PKCS#1) or, in a pod, from the service account (its token is read again for every request: bound
 * tokens rotate).
 *
 * <p>Build it on the thread whose network namespace the API server is reached in: every thread it
 * and {@link KubernetesSource} use descends from that one.
 */
public final class KubeApi implements AutoCloseable {
    static final JsonMapper JSON = JsonMapper.builder().build();
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(60);
    private static final Path SERVICE_ACCOUNT = Path.of("/var/run/secrets/kubernetes.io/serviceaccount");

    /** A refused request: the HTTP code (0: no answer) and the API's message. */
    public static final class ApiException extends RuntimeException {
        private final int code;

        ApiException(int code, String message, Throwable cause) {
            super(message, cause);
            this.code = code;
        }

        public int code() { return code; }
    }

    /** One page-through list: the items (without kind and apiVersion, as the API lists them) and the list's resourceVersion. */
    public record ListResult(List<ObjectNode> items, String resourceVersion) {}

    /** One watch event: ADDED, MODIFIED, DELETED, BOOKMARK or ERROR, with its object. */
    public record Event(String type, ObjectNode object) {}

    private final URI server;
    private final Supplier<Optional<String>> token;
    private final HttpClient http;

    private KubeApi(URI server, Supplier<Optional<String>> token, SSLContext tls) {
        this.server = server;
        this.token = token;
        HttpClient.Builder b = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10))
                // platform threads, each made by one of ours: a socket belongs to the network namespace of the
                // thread that opens it, and virtual threads run on carriers made anywhere
                .executor(Executors.newCachedThreadPool(Thread.ofPlatform().name("kube-api-", 0).daemon().factory()));
        if (tls != null) b.sslContext(tls);
        this.http = b.build();
    }

    /** A server without authentication (the lab's, tests'). */
    public static KubeApi of(URI server) { return new KubeApi(server, Optional::empty, null); }

    /**
     * The client the agent runs with: from {@code kubeconfig} when given, else in a pod from its
     * service account, else from $KUBECONFIG or ~/.kube/config.
     */
    public static KubeApi configure(Optional<Path> kubeconfig) {
        if (kubeconfig.isPresent()) return fromKubeconfig(kubeconfig.get());
        String host = System.getenv("KUBERNETES_SERVICE_HOST"), port = System.getenv("KUBERNETES_SERVICE_PORT");
        if (host != null && port != null && Files.isReadable(SERVICE_ACCOUNT.resolve("token"))) {
            Path tokenFile = SERVICE_ACCOUNT.resolve("token");
            String h = host.contains(":") ? "[" + host + "]" : host;
            return new KubeApi(URI.create("https://" + h + ":" + port), () -> Optional.of(read(tokenFile).strip()),
                    tls(pem(read(SERVICE_ACCOUNT.resolve("ca.crt")), SERVICE_ACCOUNT + "/ca.crt"), null, null, false));
        }
        String env = System.getenv("KUBECONFIG");
        Path p = env != null && !env.isBlank() ? Path.of(env.split(":")[0]) : Path.of(System.getProperty("user.home"), ".kube", "config");
        if (!Files.isReadable(p))
            throw new IllegalArgumentException("kubernetes: no kubeconfig at " + p + " and not in a pod (expected: --kubeconfig FILE,"
                    + " $KUBECONFIG, ~/.kube/config, or a service account token)");
        return fromKubeconfig(p);
    }

    /** The current context of a kubeconfig file. Errors name the file and the field. */
    public static KubeApi fromKubeconfig(Path file) {
        JsonNode c;
        try {
            c = new YAMLMapper().readTree(Files.readString(file));
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": cannot read: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(file + ": not a kubeconfig: " + e.getMessage().lines().findFirst().orElse(""), e);
        }
        Path dir = file.toAbsolutePath().getParent();
        String current = c.path("current-context").asString("");
        JsonNode ctx = named(c, "contexts", current, file).path("context");
        JsonNode cluster = named(c, "clusters", ctx.path("cluster").asString(""), file).path("cluster");
        String userName = ctx.path("user").asString("");
        JsonNode user = userName.isEmpty() ? JSON.createObjectNode() : named(c, "users", userName, file).path("user");
        String server = cluster.path("server").asString("");
        if (!server.startsWith("https://") && !server.startsWith("http://"))
            throw new IllegalArgumentException(file + ": clusters[" + ctx.path("cluster").asString() + "].server: \"" + server
                    + "\" (expected: an http:// or https:// URL)");
        for (String unsupported : List.of("exec", "auth-provider", "username"))
            if (user.has(unsupported))
                throw new IllegalArgumentException(file + ": users[" + userName + "]." + unsupported
                        + ": not supported (expected: token, tokenFile, or client-certificate and client-key)");
        List<Certificate> ca = new ArrayList<>();
        if (cluster.has("certificate-authority-data")) ca.addAll(pem(decode(cluster, "certificate-authority-data", file), file + ": certificate-authority-data"));
        else if (cluster.has("certificate-authority")) ca.addAll(pem(read(dir.resolve(cluster.path("certificate-authority").asString())), file + ": certificate-authority"));
        boolean hasCert = user.has("client-certificate-data") || user.has("client-certificate");
        boolean hasKey = user.has("client-key-data") || user.has("client-key");
        if (hasCert != hasKey)
            throw new IllegalArgumentException(file + ": users[" + userName + "]: a client certificate needs its key and the key its certificate");
        String cert = user.has("client-certificate-data") ? decode(user, "client-certificate-data", file)
                : hasCert ? read(dir.resolve(user.path("client-certificate").asString())) : null;
        String key = user.has("client-key-data") ? decode(user, "client-key-data", file)
                : hasKey ? read(dir.resolve(user.path("client-key").asString())) : null;
        Supplier<Optional<String>> token;
        if (user.has("token")) {
            String t = user.path("token").asString();
            token = () -> Optional.of(t);
        } else if (user.has("tokenFile")) {
            Path t = dir.resolve(user.path("tokenFile").asString());
            token = () -> Optional.of(read(t).strip());
        } else {
            token = Optional::empty;
        }
        boolean insecure = cluster.path("insecure-skip-tls-verify").asBoolean(false);
        SSLContext tls = server.startsWith("https://") ? tls(ca, cert, key, insecure) : null;
        return new KubeApi(URI.create(server.replaceAll("/+$", "")), token, tls);
    }

    private static JsonNode named(JsonNode config, String list, String name, Path file) {
        for (JsonNode n : config.path(list)) if (n.path("name").asString("").equals(name)) return n;
        throw new IllegalArgumentException(file + ": " + list + ": no entry named \"" + name + "\" (expected: the one current-context refers to)");
    }

    private static String decode(JsonNode n, String field, Path file) {
        try {
            return new String(Base64.getDecoder().decode(n.path(field).asString("").replaceAll("\\s", "")), StandardCharsets.US_ASCII);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + field + ": not base64 (" + e.getMessage() + ")");
        }
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            throw new UncheckedIOException(p + ": cannot read (" + e.getClass().getSimpleName() + ")", e);
        }
    }

    private static List<Certificate> pem(String text, String what) {
        try {
            List<Certificate> out = new ArrayList<>(CertificateFactory.getInstance("X.509")
                    .generateCertificates(new ByteArrayInputStream(text.getBytes(StandardCharsets.US_ASCII))));
            if (out.isEmpty()) throw new IllegalArgumentException(what + ": no certificate (expected: PEM)");
            return out;
        } catch (java.security.cert.CertificateException e) {
            throw new IllegalArgumentException(what + ": not a PEM certificate: " + e.getMessage(), e);
        }
    }

    /** A PEM private key: PKCS#8 (RSA or EC), or RSA in PKCS#1 (what kubeadm and kind write). */
    static PrivateKey privateKey(String pem) {
        String type = pem.contains("BEGIN RSA PRIVATE KEY") ? "RSA1" : pem.contains("BEGIN PRIVATE KEY") ? "PKCS8" : "";
        if (type.isEmpty())
            throw new IllegalArgumentException("client key: not a PKCS#8 or PKCS#1 RSA PEM key (expected: BEGIN PRIVATE KEY or BEGIN RSA"
                    + " PRIVATE KEY; convert others with openssl pkcs8 -topk8 -nocrypt)");
        String b64 = pem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
        byte[] der = Base64.getDecoder().decode(b64);
        if (type.equals("RSA1")) der = pkcs1ToPkcs8(der);
        for (String alg : List.of("RSA", "EC")) {
            try {
                return KeyFactory.getInstance(alg).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (java.security.GeneralSecurityException e) {
                // the next algorithm
            }
        }
        throw new IllegalArgumentException("client key: neither an RSA nor an EC key");
    }

    /** Wraps an RSAPrivateKey (PKCS#1) in a PrivateKeyInfo (PKCS#8) with the rsaEncryption algorithm. */
    private static byte[] pkcs1ToPkcs8(byte[] pkcs1) {
        byte[] alg = {0x30, 0x0d, 0x06, 0x09, 0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};
        byte[] version = {0x02, 0x01, 0x00};
        byte[] octets = der(0x04, pkcs1);
        byte[] body = new byte[version.length + alg.length + octets.length];
        System.arraycopy(version, 0, body, 0, version.length);
        System.arraycopy(alg, 0, body, version.length, alg.length);
        System.arraycopy(octets, 0, body, version.length + alg.length, octets.length);
        return der(0x30, body);
    }

    private static byte[] der(int tag, byte[] content) {
        int n = content.length;
        byte[] len = n < 0x80 ? new byte[] {(byte) n} : n < 0x100 ? new byte[] {(byte) 0x81, (byte) n}
                : n < 0x10000 ? new byte[] {(byte) 0x82, (byte) (n >> 8), (byte) n} : new byte[] {(byte) 0x83, (byte) (n >> 16), (byte) (n >> 8), (byte) n};
        byte[] out = new byte[1 + len.length + n];
        out[0] = (byte) tag;
        System.arraycopy(len, 0, out, 1, len.length);
        System.arraycopy(content, 0, out, 1 + len.length, n);
        return out;
    }

    private static SSLContext tls(List<Certificate> ca, String cert, String key, boolean insecure) {
        try {
            TrustManagerFactory tmf = null;
            if (insecure) {
                tmf = null;
            } else if (!ca.isEmpty()) {
                KeyStore ts = KeyStore.getInstance(KeyStore.getDefaultType());
                ts.load(null, null);
                for (int i = 0; i < ca.size(); i++) ts.setCertificateEntry("ca" + i, ca.get(i));
                tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                tmf.init(ts);
            }
            KeyManagerFactory kmf = null;
            if (cert != null) {
                KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
                ks.load(null, null);
                char[] none = new char[0];
                ks.setKeyEntry("client", privateKey(key), none, pem(cert, "client certificate").toArray(new Certificate[0]));
                kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(ks, none);
            }
            SSLContext ctx = SSLContext.getInstance("TLS");
            javax.net.ssl.TrustManager[] trust = insecure ? new javax.net.ssl.TrustManager[] {new TrustAll()} : tmf == null ? null : tmf.getTrustManagers();
            ctx.init(kmf == null ? null : kmf.getKeyManagers(), trust, null);
            return ctx;
        } catch (java.security.GeneralSecurityException | IOException e) {
            throw new IllegalArgumentException("kubernetes TLS: " + e.getMessage(), e);
        }
    }

    /** insecure-skip-tls-verify: true, as the kubeconfig asks. */
    private static final class TrustAll extends javax.net.ssl.X509ExtendedTrustManager {
        public void checkClientTrusted(java.security.cert.X509Certificate[] c, String a) { }

        public void checkServerTrusted(java.security.cert.X509Certificate[] c, String a) { }

        public void checkClientTrusted(java.security.cert.X509Certificate[] c, String a, java.net.Socket s) { }

        public void checkServerTrusted(java.security.cert.X509Certificate[] c, String a, java.net.Socket s) { }

        public void checkClientTrusted(java.security.cert.X509Certificate[] c, String a, javax.net.ssl.SSLEngine e) { }

        public void checkServerTrusted(java.security.cert.X509Certificate[] c, String a, javax.net.ssl.SSLEngine e) { }

        public java.security.cert.X509Certificate[] getAcceptedIssuers() { return new java.security.cert.X509Certificate[0]; }
    }

    public URI server() { return server; }

    // ---------------------------------------------------------------- requests

    /** GET a path; the JSON body, or {@link ApiException} with the code and the API's message. */
    public JsonNode get(String path) { return send(request(path).GET()); }

    /** POST a JSON object to a collection path. */
    public JsonNode create(String path, JsonNode body) {
        return send(request(path).header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body))));
    }

    /** PUT a whole object to its path (an update: with metadata.resourceVersion, 409 Conflict when another write came first). */
    public JsonNode replace(String path, JsonNode body) {
        return send(request(path).header("Content-Type", "application/json").PUT(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body))));
    }

    /**
     * Lists a collection page by page ({@code limit}, then {@code continue} while the API gives
     * one): every item and the resourceVersion to watch from. A continue token that expired
     * meanwhile (410) lists again from the start.
     */
    public ListResult list(String path, int limit) {
        for (int attempt = 0; ; attempt++) {
            List<ObjectNode> items = new ArrayList<>();
            String cont = "", rv = "";
            try {
                do {
                    JsonNode page = get(path + "?limit=" + limit + (cont.isEmpty() ? "" : "&continue=" + URLEncoder.encode(cont, StandardCharsets.UTF_8)));
                    for (JsonNode i : page.path("items")) if (i instanceof ObjectNode o) items.add(o);
                    rv = page.path("metadata").path("resourceVersion").asString("");
                    cont = page.path("metadata").path("continue").asString("");
                } while (!cont.isEmpty());
                return new ListResult(items, rv);
            } catch (ApiException e) {
                if (e.code() != 410 || cont.isEmpty() || attempt > 2) throw e;
            }
        }
    }

    private HttpRequest.Builder request(String path) {
        HttpRequest.Builder b = HttpRequest.newBuilder(server.resolve(path)).timeout(REQUEST_TIMEOUT).header("Accept", "application/json");
        token.get().ifPresent(t -> b.header("Authorization", "Bearer " + t));
        return b;
    }

    private JsonNode send(HttpRequest.Builder b) {
        HttpRequest r = b.build();
        HttpResponse<InputStream> resp;
        try {
            resp = http.send(r, HttpResponse.BodyHandlers.ofInputStream());
        } catch (IOException e) {
            throw new ApiException(0, r.method() + " " + r.uri() + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ApiException(0, r.method() + " " + r.uri() + ": interrupted", e);
        }
        try (InputStream in = resp.body()) {
            JsonNode body;
            try {
                body = JSON.readTree(in);
            } catch (RuntimeException e) {
                if (resp.statusCode() >= 300) throw new ApiException(resp.statusCode(), "HTTP " + resp.statusCode(), null);
                throw new ApiException(resp.statusCode(), r.method() + " " + r.uri() + ": the answer is not JSON: " + e.getMessage(), e);
            }
            if (resp.statusCode() >= 300) throw new ApiException(resp.statusCode(), body.path("message").asString("HTTP " + resp.statusCode()), null);
            return body;
        } catch (IOException e) {
            throw new ApiException(0, r.method() + " " + r.uri() + ": " + e, e);
        }
    }

    // ---------------------------------------------------------------- watches

    /** An open watch: {@link #done} completes when it ends (the server closed it, or an error). */
    public interface Watch extends AutoCloseable {
        CompletableFuture<Void> done();

        /** Nanos of the last frame the server sent (events, pongs). */
        long lastHeard();

        void ping();

        @Override void close();
    }

    /**
     * Watches a collection from {@code resourceVersion} over WebSocket, with bookmarks. Each event
     * goes to {@code onEvent} on the watch's own thread, one at a time, the next frame read only
     * after it returns (so a slow consumer slows the server's sending, never the memory).
     */
    public Watch watch(String path, String resourceVersion, Consumer<Event> onEvent) {
        String base = server.toString().replaceFirst("^http", "ws");
        URI uri = URI.create(base + path + "?watch=true&allowWatchBookmarks=true"
                + (resourceVersion.isEmpty() ? "" : "&resourceVersion=" + URLEncoder.encode(resourceVersion, StandardCharsets.UTF_8)));
        CompletableFuture<Void> done = new CompletableFuture<>();
        long[] heard = {System.nanoTime()};
        WebSocket.Listener listener = new WebSocket.Listener() {
            private final StringBuilder text = new StringBuilder();
            private final java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();

            @Override public void onOpen(WebSocket ws) { ws.request(1); }

            @Override public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
                heard[0] = System.nanoTime();
                text.append(data);
                if (last) {
                    String s = text.toString();
                    text.setLength(0);
                    deliver(s.getBytes(StandardCharsets.UTF_8));
                }
                ws.request(1);
                return null;
            }

            @Override public CompletionStage<?> onBinary(WebSocket ws, ByteBuffer data, boolean last) {
                heard[0] = System.nanoTime();
                byte[] b = new byte[data.remaining()];
                data.get(b);
                bytes.writeBytes(b);
                if (last) {
                    byte[] all = bytes.toByteArray();
                    bytes.reset();
                    deliver(all);
                }
                ws.request(1);
                return null;
            }

            private void deliver(byte[] frame) {
                if (done.isDone()) return;
                try {
                    JsonNode ev = JSON.readTree(frame);
                    if (ev.path("object") instanceof ObjectNode o) onEvent.accept(new Event(ev.path("type").asString(""), o));
                } catch (ApiException e) {
                    done.completeExceptionally(e); // an ERROR event: its code (410 Gone) decides what comes next
                } catch (RuntimeException e) {
                    done.completeExceptionally(new ApiException(0, "watch " + path + ": " + e.getMessage(), e));
                }
            }

            @Override public CompletionStage<?> onPong(WebSocket ws, ByteBuffer message) {
                heard[0] = System.nanoTime();
                ws.request(1);
                return null;
            }

            @Override public CompletionStage<?> onPing(WebSocket ws, ByteBuffer message) {
                heard[0] = System.nanoTime();
                ws.request(1);
                return null; // the client answers with a pong itself
            }

            @Override public CompletionStage<?> onClose(WebSocket ws, int status, String reason) {
                done.complete(null);
                return null;
            }

            @Override public void onError(WebSocket ws, Throwable error) { done.completeExceptionally(error); }
        };
        WebSocket.Builder b = http.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(10));
        token.get().ifPresent(t -> b.header("Authorization", "Bearer " + t));
        WebSocket ws;
        try {
            ws = b.buildAsync(uri, listener).get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof WebSocketHandshakeException h) {
                var resp = h.getResponse();
                String msg = "HTTP " + resp.statusCode();
                if (resp.body() instanceof String s && !s.isBlank()) {
                    try {
                        msg = JSON.readTree(s).path("message").asString(msg);
                    } catch (RuntimeException ignored) {
                        // not a Status: the code alone
                    }
                }
                throw new ApiException(resp.statusCode(), msg, h);
            }
            throw new ApiException(0, "watch " + path + ": " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            throw new ApiException(0, "watch " + path + ": no answer within 30 s", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ApiException(0, "watch " + path + ": interrupted", e);
        }
        WebSocket open = ws;
        return new Watch() {
            public CompletableFuture<Void> done() { return done; }

            public long lastHeard() { return heard[0]; }

            public void ping() { open.sendPing(ByteBuffer.allocate(0)); }

            public void close() {
                done.complete(null);
                open.abort();
            }
        };
    }

    /**
     * Stops at once: open watches and requests are cancelled ({@code HttpClient.close()} would wait
     * for them, and a watch never ends by itself).
     */
    @Override public void close() { http.shutdownNow(); }

    @Override public String toString() { return server.toString(); }
}
