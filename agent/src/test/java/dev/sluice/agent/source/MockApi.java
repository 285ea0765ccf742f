package dev.sluice.agent.source;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.server.mock.KubernetesMixedDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.http.Dispatcher;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.fabric8.mockwebserver.http.Response;
import io.fabric8.mockwebserver.http.WebSocket;
import io.fabric8.mockwebserver.http.WebSocketListener;
import java.net.InetAddress;
import java.util.HashMap;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * fabric8's mock API server in CRUD mode (see shared/notes/fabric8-mock.md for how 8.0.0 builds
 * one), with two faults a test can switch on: API paths that answer 404 as an API server without a
 * CRD does, and a restart on the same port with a fresh, empty state.
 *
 * <p>After a restart, a watch of a resource not listed on the new server yet answers 410 Gone, as a
 * real API server answers a resourceVersion it does not have (compacted, or from another etcd
 * history). The mock alone would resume such a watch as if nothing had happened, so a client would
 * never learn of objects deleted while it was away.
 */
public final class MockApi implements AutoCloseable {
    /** Path prefixes (e.g. {@code /apis/cilium.io/v2/}) answered with 404 Not Found. */
    final Set<String> missing = ConcurrentHashMap.newKeySet();
    private KubernetesMockServer server;
    private int port;
    private boolean restarted;

    public MockApi() { start(0); }

    /** The server's address, as a kubeconfig names it. */
    public String url() { return "http://127.0.0.1:" + port; }

    private void start(int onPort) {
        var crud = new KubernetesMixedDispatcher(new HashMap<>());
        Set<String> listed = ConcurrentHashMap.newKeySet();
        boolean fresh = restarted;
        Dispatcher dispatcher = new Dispatcher() {
            @Override public MockResponse dispatch(RecordedRequest r) {
                String path = r.getPath();
                for (String p : missing)
                    if (path.startsWith(p)) return status(404, "NotFound", "the server could not find the requested resource");
                String resource = path.split("\\?")[0];
                boolean watch = path.contains("watch=true");
                if (!watch && r.getMethod().equals("GET")) listed.add(resource);
                else if (watch && fresh && !listed.contains(resource)) return expired();
                return crud.dispatch(r);
            }

            @Override public void shutdown() { crud.shutdown(); }
        };
        server = new KubernetesMockServer(new Context(Serialization.jsonMapper()), new MockWebServer(), new HashMap<>(), dispatcher, false);
        server.init(InetAddress.getLoopbackAddress(), onPort);
        port = server.getPort();
    }

    /** What an API server sends to a watch from a resourceVersion it no longer has: an ERROR event, 410. */
    private static MockResponse expired() {
        return new MockResponse().withWebSocketUpgrade(new WebSocketListener() {
            @Override public void onOpen(WebSocket ws, Response response) {
                ws.send("{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
                        + "\"reason\":\"Expired\",\"code\":410,\"message\":\"too old resource version\"}}");
                ws.close(1000, "");
            }
        });
    }

    private static MockResponse status(int code, String reason, String message) {
        return new MockResponse().setResponseCode(code).setBody("{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
                + "\"reason\":\"" + reason + "\",\"code\":" + code + ",\"message\":\"" + message + "\"}");
    }

    /** Stops the server and starts an empty one on the same port: clients keep their address. */
    void restart() {
        server.destroy();
        restarted = true;
        start(port);
    }

    /** A client of this address (it survives {@link #restart}), retrying quickly so tests stay short. */
    public KubernetesClient client() {
        Config c = new ConfigBuilder(Config.empty()).withMasterUrl("http://127.0.0.1:" + port).withNamespace("default")
                .withWatchReconnectInterval(100).withRequestRetryBackoffInterval(50).withRequestRetryBackoffLimit(2).build();
        return new KubernetesClientBuilder().withConfig(c).build();
    }

    /** The agent's client of this address (it survives {@link #restart}). */
    public KubeApi kubeApi() { return KubeApi.of(java.net.URI.create(url())); }

    @Override public void close() {
        try {
            server.destroy();
        } catch (IllegalStateException e) {
            // "Unable to close MockWebServer": the mock's watch listener waits on its own event loop
            // when a client closes a watch while an event is queued (fabric8 mock 8.0.0). Only the
            // teardown is slow; nothing under test is involved, so the test's verdict stands.
            System.err.println("MockApi: " + e.getMessage() + " (mock shutdown timed out; ignored at teardown)");
        }
    }
}
