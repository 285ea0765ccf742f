package dev.sluice.lab.api;

import dev.sluice.net.Cidr;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.http.Dispatcher;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.fabric8.mockwebserver.http.Response;
import io.fabric8.mockwebserver.http.WebSocket;
import io.fabric8.mockwebserver.http.WebSocketListener;
import java.net.InetAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * The lab's API server: fabric8's mock web server (HTTP and WebSocket on Vert.x) with the lab's own
 * dispatcher in place of the mock's CRUD one, which answers the REST API as kubectl and fabric8's
 * informers use it: discovery ({@code /version}, {@code /api}, {@code /apis}, resource lists),
 * get, list (JSON or kubectl's Table), create, update, the status subresource, merge, strategic
 * merge and JSON patches, delete and deletecollection, label and field selectors, and watches over
 * WebSocket that resume from a resourceVersion. The objects live in an indexed {@link ApiStore}.
 *
 * <p>Not served (each answered with a clear error): protobuf bodies ({@code kubectl create} sends
 * them; {@code kubectl apply} sends JSON), server-side apply, watches over chunked HTTP
 * ({@code kubectl get -w}), OpenAPI documents (kubectl needs {@code --validate=false}), and any
 * authentication or authorization: the server listens inside the lab only.
 */
public final class LabApiServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(LabApiServer.class);
    private static final String PROTOBUF = "application/vnd.kubernetes.protobuf";

    private final ApiStore store;
    private final MockWebServer server = new MockWebServer();
    private Thread drain;

    /** A deleted namespace stays Terminating this long before it and everything in it go, as with the namespace controller. */
    static final java.time.Duration NAMESPACE_GRACE = java.time.Duration.ofSeconds(1);

    public LabApiServer(Cidr serviceCidr) { this.store = new ApiStore(serviceCidr, NAMESPACE_GRACE); }

    public ApiStore store() { return store; }

    /** Kept strongly: java.util.logging holds its loggers weakly, and a collected one loses its level. */
    private static final java.util.logging.Logger MOCK_LOG = java.util.logging.Logger.getLogger(MockWebServer.class.getName());

    /** The namespaces every cluster has from the start. */
    static final java.util.List<String> BUILT_IN_NAMESPACES = java.util.List.of("default", "kube-system", "kube-public", "kube-node-lease");

    public void start(InetAddress address, int port) {
        MOCK_LOG.setLevel(java.util.logging.Level.WARNING); // one line per request otherwise
        ApiTypes.Type namespaces = ApiTypes.ofKind("v1", "Namespace").orElseThrow();
        for (String ns : BUILT_IN_NAMESPACES)
            if (store.get(namespaces, "", ns).isEmpty())
                store.create(namespaces, "", ApiTypes.JSON.createObjectNode().set("metadata", ApiTypes.JSON.createObjectNode().put("name", ns)));
        server.setDispatcher(new Dispatcher() {
            @Override public MockResponse dispatch(RecordedRequest r) { return LabApiServer.this.dispatch(r); }
        });
        server.start(address, port);
        // the mock web server keeps every request for tests to take; a long-lived server must not
        drain = Thread.ofPlatform().name("api-request-drain").daemon().start(() -> {
            try {
                while (!Thread.currentThread().isInterrupted()) server.takeRequest();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
    }

    public int port() { return server.getPort(); }

    @Override public void close() {
        if (drain != null) drain.interrupt();
        server.shutdown();
    }

    // ---------------------------------------------------------------- dispatch

    MockResponse dispatch(RecordedRequest r) {
        String method = r.getMethod().toUpperCase();
        String[] pq = r.getPath().split("\\?", 2);
        Map<String, String> q = query(pq.length > 1 ? pq[1] : "");
        List<String> seg = Arrays.stream(pq[0].split("/")).filter(s -> !s.isEmpty()).toList();
        store.written(); // nothing left from an earlier request of this thread
        try {
            return route(r, method, seg, q);
        } catch (ApiError e) {
            return json(e.code, e.status());
        } catch (JacksonException e) {
            return json(400, ApiError.status(400, "BadRequest", "the body does not decode as JSON: " + firstLine(e.getOriginalMessage())));
        } catch (RuntimeException e) {
            log.warn("{} {}: {}", method, r.getPath(), e.toString());
            return json(500, ApiError.status(500, "InternalError", firstLine(String.valueOf(e.getMessage()))));
        }
    }

    private MockResponse route(RecordedRequest r, String method, List<String> seg, Map<String, String> q) {
        if (seg.isEmpty()) return json(200, paths());
        switch (seg.getFirst()) {
            case "version" -> { return json(200, ApiTypes.version()); }
            case "healthz", "readyz", "livez" -> { return new MockResponse().setResponseCode(200).setBody("ok"); }
            case "openapi" -> throw new ApiError(404, "NotFound", "OpenAPI documents are not served by the lab's API server (expected: kubectl --validate=false)");
            case "api", "apis" -> { }
            default -> throw new ApiError(404, "NotFound", "the server could not find the requested resource");
        }
        boolean core = seg.getFirst().equals("api");
        if (core && seg.size() == 1) return json(200, ApiTypes.apiVersions());
        if (!core && seg.size() == 1) return json(200, ApiTypes.groupList());
        String group = core ? "" : seg.get(1);
        int vAt = core ? 1 : 2;
        if (seg.size() <= vAt) {
            var g = ApiTypes.groupList().path("groups");
            for (JsonNode x : g) if (x.path("name").asString().equals(group)) return json(200, ((ObjectNode) x.deepCopy()).put("kind", "APIGroup").put("apiVersion", "v1"));
            throw new ApiError(404, "NotFound", "the server could not find the requested resource");
        }
        String version = seg.get(vAt);
        List<String> rest = seg.subList(vAt + 1, seg.size());
        if (rest.isEmpty())
            return json(200, ApiTypes.resourceList(group, version).orElseThrow(() -> new ApiError(404, "NotFound", "the server could not find the requested resource")));

        // namespaces/NS/PLURAL[/NAME[/status]] or PLURAL[/NAME[/status]]
        String ns = null;
        if (rest.size() >= 3 && rest.getFirst().equals("namespaces") && ApiTypes.find(group, version, rest.get(2)).isPresent()) {
            ns = rest.get(1);
            rest = rest.subList(2, rest.size());
        }
        String plural = rest.getFirst();
        ApiTypes.Type t = ApiTypes.find(group, version, plural)
                .orElseThrow(() -> new ApiError(404, "NotFound", "the server could not find the requested resource (" + plural + " in " + (group.isEmpty() ? version : group + "/" + version) + ")"));
        String name = rest.size() > 1 ? rest.get(1) : null;
        boolean status = rest.size() > 2 && rest.get(2).equals("status");
        if (rest.size() > 2 && !status) throw new ApiError(404, "NotFound", "subresource " + rest.get(2) + " of " + t + " is not served by the lab's API server");
        if (status && !t.status()) throw new ApiError(404, "NotFound", t + " has no status subresource");
        String ctype = Optional.ofNullable(r.getHeader("Content-Type")).orElse("");
        if (ctype.startsWith(PROTOBUF))
            throw new ApiError(415, "UnsupportedMediaType", "protobuf bodies are not served by the lab's API server (expected: JSON; `kubectl create` sends protobuf: use `kubectl apply`)");
        String accept = Optional.ofNullable(r.getHeader("Accept")).orElse("");

        if (name == null) {
            Predicate<JsonNode> filter = Selectors.labels(q.get("labelSelector")).and(Selectors.fields(q.get("fieldSelector")));
            return switch (method) {
                case "GET" -> {
                    if ("true".equals(q.get("watch")) || "1".equals(q.get("watch"))) yield watch(r, t, ns, filter, q.getOrDefault("resourceVersion", ""));
                    long rv = store.resourceVersion();
                    List<ObjectNode> items = store.list(t, ns, filter);
                    yield accept.contains("as=Table") ? json(200, Tables.table(t, items, rv, q.get("includeObject"))) : json(200, list(t, items, rv));
                }
                case "POST" -> wrote(201, store.create(t, ns, body(r)));
                case "DELETE" -> {
                    long rv = store.resourceVersion();
                    List<ObjectNode> gone = new ArrayList<>();
                    for (ObjectNode o : store.list(t, ns, filter))
                        gone.add(store.delete(t, o.path("metadata").path("namespace").asString(""), o.path("metadata").path("name").asString()));
                    yield wrote(200, list(t, gone, rv));
                }
                default -> throw new ApiError(405, "MethodNotAllowed", method + " is not supported on a collection (expected: GET, POST, DELETE)");
            };
        }
        String nsOf = ns == null ? "" : ns;
        return switch (method) {
            case "GET" -> {
                ObjectNode o = store.get(t, nsOf, name).orElseThrow(() -> ApiError.notFound(t, name));
                yield accept.contains("as=Table") ? json(200, Tables.table(t, List.of(o), store.resourceVersion(), q.get("includeObject"))) : json(200, o);
            }
            case "PUT" -> wrote(200, store.update(t, nsOf, name, body(r), status));
            case "PATCH" -> {
                if (ctype.startsWith("application/apply-patch"))
                    throw new ApiError(415, "UnsupportedMediaType", "server-side apply is not served by the lab's API server (expected: kubectl apply without --server-side)");
                ObjectNode have = store.get(t, nsOf, name).orElseThrow(() -> ApiError.notFound(t, name));
                JsonNode patched = Patches.apply(ctype, have, body(r));
                yield wrote(200, store.update(t, nsOf, name, patched, status));
            }
            case "DELETE" -> wrote(200, store.delete(t, nsOf, name));
            default -> throw new ApiError(405, "MethodNotAllowed", method + " is not supported on an object (expected: GET, PUT, PATCH, DELETE)");
        };
    }

    private MockResponse watch(RecordedRequest r, ApiTypes.Type t, String ns, Predicate<JsonNode> filter, String since) {
        if (!"websocket".equalsIgnoreCase(Optional.ofNullable(r.getHeader("Upgrade")).orElse("")))
            throw ApiError.badRequest("watches over chunked HTTP are not served by the lab's API server (expected: a WebSocket watch, as fabric8 and client-go informers open; `kubectl get -w` is not supported)");
        return new MockResponse().withWebSocketUpgrade(new WebSocketListener() {
            private Sender sink;

            @Override public void onOpen(WebSocket ws, Response response) {
                sink = new Sender(ws);
                try {
                    store.watch(t, ns, filter, since, sink);
                } catch (ApiError e) {
                    ObjectNode ev = ApiTypes.JSON.createObjectNode().put("type", "ERROR");
                    ev.set("object", e.status());
                    sink.send(ApiTypes.JSON.writeValueAsString(ev));
                    sink.closeAfterSent();
                }
            }

            @Override public void onClosing(WebSocket ws, int code, String reason) { gone(); }

            @Override public void onClosed(WebSocket ws, int code, String reason) { gone(); }

            @Override public void onFailure(WebSocket ws, Throwable t, Response response) { gone(); }

            private void gone() {
                if (sink != null) {
                    store.unwatch(sink);
                    sink.stop();
                }
            }
        });
    }

    /**
     * A watch's events on their way to its WebSocket: queued by the store (under its lock, in
     * resourceVersion order) and written by the watch's own thread. The mock's WebSocket write waits
     * for the server's event loop; a store write made off the event loop (the namespace finalizer)
     * that wrote to the socket itself, under the store's lock, waited for an event loop that was
     * waiting for the lock: every watch stalled for 30 s.
     */
    private static final class Sender implements ApiStore.Sink {
        private static final String CLOSE = new String("close");
        private final java.util.concurrent.LinkedBlockingQueue<String> queue = new java.util.concurrent.LinkedBlockingQueue<>();
        private final Thread thread;
        private volatile boolean open = true;

        Sender(WebSocket ws) {
            thread = Thread.ofVirtual().name("api-watch").start(() -> {
                try {
                    while (open) {
                        String text = queue.take();
                        if (text == CLOSE) {
                            ws.close(1000, "");
                            return;
                        }
                        if (!ws.send(text)) open = false;
                    }
                } catch (InterruptedException e) {
                    // the client went away
                } catch (RuntimeException e) {
                    log.debug("watch: {}", e.toString());
                    open = false;
                }
            });
        }

        @Override public boolean send(String text) {
            if (open) queue.add(text);
            return open;
        }

        void closeAfterSent() { queue.add(CLOSE); }

        void stop() {
            open = false;
            thread.interrupt();
        }
    }

    private static ObjectNode list(ApiTypes.Type t, List<ObjectNode> items, long rv) {
        ObjectNode l = ApiTypes.JSON.createObjectNode().put("kind", t.kind() + "List").put("apiVersion", t.apiVersion());
        l.putObject("metadata").put("resourceVersion", Long.toString(rv));
        ArrayNode a = l.putArray("items");
        items.forEach(a::add);
        return l;
    }

    private static ObjectNode paths() {
        ObjectNode p = ApiTypes.JSON.createObjectNode();
        ArrayNode a = p.putArray("paths");
        a.add("/api").add("/api/v1").add("/apis").add("/version").add("/healthz");
        for (ApiTypes.Type t : ApiTypes.TYPES) if (!t.group().isEmpty()) a.add(t.root());
        return p;
    }

    private static JsonNode body(RecordedRequest r) {
        String text = r.getUtf8Body();
        if (text == null || text.isBlank()) throw ApiError.badRequest("the request has no body (expected: a JSON object)");
        return ApiTypes.JSON.readTree(text);
    }

    private static MockResponse json(int code, JsonNode body) {
        return new MockResponse().setResponseCode(code).setHeader("Content-Type", "application/json")
                .setBody(ApiTypes.JSON.writeValueAsBytes(body));
    }

    /** The header that lists, per kind, the last resourceVersion a write made (controllers' writes included). */
    public static final String WRITTEN = "Sluice-Written";

    private MockResponse wrote(int code, JsonNode body) {
        MockResponse r = json(code, body);
        var w = store.written();
        if (!w.isEmpty()) {
            StringBuilder b = new StringBuilder();
            w.forEach((k, v) -> b.append(b.isEmpty() ? "" : ",").append(k).append('=').append(v));
            r.setHeader(WRITTEN, b.toString());
        }
        return r;
    }

    private static Map<String, String> query(String q) {
        Map<String, String> m = new HashMap<>();
        for (String kv : q.split("&")) {
            if (kv.isEmpty()) continue;
            int eq = kv.indexOf('=');
            String k = URLDecoder.decode(eq < 0 ? kv : kv.substring(0, eq), StandardCharsets.UTF_8);
            String v = eq < 0 ? "" : URLDecoder.decode(kv.substring(eq + 1), StandardCharsets.UTF_8);
            m.put(k, v);
        }
        return m;
    }

    private static String firstLine(String s) { return s == null ? "" : s.lines().findFirst().orElse(""); }
}
