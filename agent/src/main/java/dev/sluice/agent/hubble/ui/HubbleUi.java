package dev.sluice.agent.hubble.ui;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.sluice.BadInputException;
import dev.sluice.agent.flow.Flow;
import dev.sluice.agent.flow.FlowFilter;
import dev.sluice.agent.flow.FlowJson;
import dev.sluice.agent.hubble.HubbleRequests;
import dev.sluice.agent.hubble.ProtoFlows;
import dev.sluice.hubble.api.observer.GetFlowsRequest;
import dev.sluice.hubble.api.observer.GetFlowsResponse;
import dev.sluice.hubble.api.observer.ObserverGrpc;
import io.grpc.Channel;
import io.grpc.Context;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import tools.jackson.databind.json.JsonMapper;

/**
 * Hubble UI, served by the relay ({@code hubble.ui.enabled}) with the JDK's HTTP server: the page
 * (HTML, CSS and JS packaged as resources; it fetches nothing from elsewhere) and JSON over the
 * relay's own GetFlows, so what the page shows is the relay's merge of every node's flows.
 *
 * <ul>
 *   <li>{@code GET /api/flows?namespace=&pod=&verdict=&protocol=&port=&last=N}: the last N flows
 *       (default {@value #DEFAULT_LAST}) in Hubble's JSON ({@code {"flows":[{"flow":...}]}}).
 *   <li>{@code GET /api/map?...}: the service map ({@link ServiceMap}) of the same flows; a
 *       namespace keeps the flows from or to it.
 *   <li>{@code GET /api/flows/stream?...}: new flows as Server-Sent Events, one
 *       {@code data:} line of Hubble's JSON each, until the client goes.
 * </ul>
 *
 * Filters mean what {@code sluice observe}'s do and may repeat; a bad one is a 400 whose body is
 * one line naming the parameter ({@code verdict: NOPE (expected one of: ...)}).
 */
public final class HubbleUi implements AutoCloseable {
    static final int DEFAULT_LAST = 200;
    static final int MAX_LAST = 10_000;
    static final long HEARTBEAT_SECONDS = 10;
    static final List<String> PARAMS = List.of("namespace", "pod", "verdict", "protocol", "port", "last");
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final Map<String, String> STATIC = Map.of("/", "index.html", "/index.html", "index.html", "/app.js", "app.js", "/app.css", "app.css");

    private final HttpServer server;
    private final Channel relay;

    /** Serves on {@code listen} (port 0: any) and asks the Observer behind {@code relay}. */
    public HubbleUi(InetSocketAddress listen, Channel relay) throws IOException {
        this.relay = relay;
        server = HttpServer.create(listen, 64);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/", this::handle);
        server.start();
    }

    public InetSocketAddress address() { return server.getAddress(); }

    @Override public void close() { server.stop(0); }

    private void handle(HttpExchange x) throws IOException {
        try (x) {
            String path = x.getRequestURI().getPath();
            if (!x.getRequestMethod().equals("GET")) {
                send(x, 405, "text/plain", x.getRequestMethod() + " (expected: GET)\n");
                return;
            }
            try {
                switch (path) {
                    case "/api/flows" -> send(x, 200, "application/json", JSON.writeValueAsString(Map.of("flows", flows(query(x)).stream().map(FlowJson::response).toList())));
                    case "/api/map" -> {
                        Map<String, Object> q = query(x);
                        @SuppressWarnings("unchecked") List<String> ns = (List<String>) q.getOrDefault("namespace", List.of());
                        send(x, 200, "application/json", JSON.writeValueAsString(ServiceMap.of(flows(q), ns.size() == 1 ? ns.getFirst() : null)));
                    }
                    case "/api/flows/stream" -> stream(x, query(x));
                    default -> {
                        String res = STATIC.get(path);
                        if (res == null) {
                            send(x, 404, "text/plain", path + ": not found (expected: /, /api/flows, /api/map or /api/flows/stream)\n");
                            return;
                        }
                        try (InputStream in = HubbleUi.class.getResourceAsStream(res)) {
                            send(x, 200, type(res), new String(in.readAllBytes(), StandardCharsets.UTF_8));
                        }
                    }
                }
            } catch (BadInputException e) {
                send(x, 400, "text/plain", e.getMessage() + "\n");
            } catch (StatusRuntimeException e) {
                if (e.getStatus().getCode() == Status.Code.INVALID_ARGUMENT) send(x, 400, "text/plain", e.getStatus().getDescription() + "\n");
                else send(x, 502, "text/plain", "relay: " + e.getStatus().getCode() + (e.getStatus().getDescription() == null ? "" : ": " + e.getStatus().getDescription()) + "\n");
            } catch (RuntimeException e) {
                send(x, 500, "text/plain", path + ": " + e + "\n");
            }
        }
    }

    private static String type(String res) {
        return res.endsWith(".html") ? "text/html; charset=utf-8" : res.endsWith(".js") ? "text/javascript; charset=utf-8" : "text/css; charset=utf-8";
    }

    private static void send(HttpExchange x, int status, String type, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        x.getResponseHeaders().set("Content-Type", type);
        x.getResponseHeaders().set("Cache-Control", "no-store");
        x.sendResponseHeaders(status, b.length);
        x.getResponseBody().write(b);
    }

    /**
     * The query as {@code sluice observe}'s parameters: each filter a list; a pod without a
     * namespace is looked for in each {@code namespace} given, as {@code observe --pod -n} does;
     * {@code number} from {@code last}. Empty values are no filter (an empty form field).
     */
    static Map<String, Object> query(HttpExchange x) { return query(x.getRequestURI().getRawQuery()); }

    static Map<String, Object> query(String raw) {
        Map<String, List<String>> q = new LinkedHashMap<>();
        if (raw != null && !raw.isEmpty())
            for (String kv : raw.split("&")) {
                if (kv.isEmpty()) continue;
                int eq = kv.indexOf('=');
                String k = decode(eq < 0 ? kv : kv.substring(0, eq)), v = eq < 0 ? "" : decode(kv.substring(eq + 1)).trim();
                if (!PARAMS.contains(k)) throw new BadInputException(k + ": unknown parameter (expected one of: " + String.join(", ", PARAMS) + ")");
                if (!v.isEmpty()) q.computeIfAbsent(k, y -> new ArrayList<>()).add(v);
            }
        Map<String, Object> p = new LinkedHashMap<>();
        List<String> ns = q.getOrDefault("namespace", List.of()), pods = new ArrayList<>();
        for (String pod : q.getOrDefault("pod", List.of())) {
            if (pod.contains("/") || ns.isEmpty()) pods.add(pod);
            else for (String n : ns) pods.add(n + "/" + pod);
        }
        if (!pods.isEmpty()) p.put("pod", pods);
        else if (!ns.isEmpty()) p.put("namespace", ns);
        for (String k : List.of("verdict", "protocol", "port")) if (q.containsKey(k)) p.put(k, q.get(k));
        FlowFilter.parse(JSON.valueToTree(p)); // each bad value names its field
        int last = DEFAULT_LAST;
        List<String> lasts = q.getOrDefault("last", List.of());
        if (lasts.size() > 1) throw new BadInputException("last: " + lasts + " (expected: one number, 1-" + MAX_LAST + ")");
        if (lasts.size() == 1) {
            String l = lasts.getFirst();
            if (!l.matches("\\d{1,6}") || Integer.parseInt(l) < 1 || Integer.parseInt(l) > MAX_LAST)
                throw new BadInputException("last: " + l + " (expected: 1-" + MAX_LAST + ")");
            last = Integer.parseInt(l);
        }
        p.put("number", last);
        return p;
    }

    private static String decode(String s) {
        try {
            return URLDecoder.decode(s, StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw new BadInputException("query: \"" + s + "\" (expected: URL-encoded)");
        }
    }

    private static GetFlowsRequest request(Map<String, Object> q, boolean follow) {
        Map<String, Object> p = new LinkedHashMap<>(q);
        p.put("follow", follow);
        if (follow) p.put("number", 0);
        return HubbleRequests.of(p);
    }

    /** The relay's last flows, in its (time) order. */
    List<Flow> flows(Map<String, Object> q) {
        List<Flow> out = new ArrayList<>();
        ObserverGrpc.newBlockingStub(relay).withDeadlineAfter(30, TimeUnit.SECONDS).getFlows(request(q, false)).forEachRemaining(r -> {
            if (r.hasFlow()) out.add(ProtoFlows.fromProto(r.getFlow()));
        });
        return out;
    }

    /** Follows the relay and writes each flow as an event, a comment every {@value #HEARTBEAT_SECONDS} s to notice a client that went. */
    private void stream(HttpExchange x, Map<String, Object> q) throws IOException {
        BlockingQueue<Object> queue = new LinkedBlockingQueue<>(10_000);
        Context.CancellableContext ctx = Context.current().withCancellation();
        try {
            ctx.run(() -> ObserverGrpc.newStub(relay).getFlows(request(q, true), new StreamObserver<>() {
                public void onNext(GetFlowsResponse r) {
                    if (r.hasFlow()) queue.offer(r);
                }

                public void onError(Throwable t) { queue.offer(t); }

                public void onCompleted() { queue.offer(Status.OK); }
            }));
            x.getResponseHeaders().set("Content-Type", "text/event-stream");
            x.getResponseHeaders().set("Cache-Control", "no-store");
            x.sendResponseHeaders(200, 0);
            OutputStream out = x.getResponseBody();
            out.write(": following the relay\n\n".getBytes(StandardCharsets.UTF_8));
            out.flush();
            while (true) {
                Object next = queue.poll(HEARTBEAT_SECONDS, TimeUnit.SECONDS);
                String event;
                if (next == null) event = ": heartbeat\n\n";
                else if (next instanceof GetFlowsResponse r) event = "data: " + JSON.writeValueAsString(FlowJson.response(ProtoFlows.fromProto(r.getFlow()))) + "\n\n";
                else if (next instanceof Throwable t) event = "event: error\ndata: " + Status.fromThrowable(t).getCode() + ": " + String.valueOf(t.getMessage()).replace('\n', ' ') + "\n\n";
                else return;
                out.write(event.getBytes(StandardCharsets.UTF_8));
                out.flush();
                if (next instanceof Throwable) return;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            // the client went: cancelling below frees the relay's stream
        } finally {
            ctx.cancel(null);
        }
    }
}
