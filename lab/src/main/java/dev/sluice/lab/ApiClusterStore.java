package dev.sluice.lab;

import dev.sluice.k8s.Kinds;
import dev.sluice.k8s.KubeObject;
import dev.sluice.k8s.ManifestException;
import dev.sluice.k8s.ManifestReader;
import dev.sluice.lab.api.ApiClient;
import dev.sluice.lab.api.ApiError;
import dev.sluice.lab.api.ApiTypes;
import dev.sluice.lab.api.LabApiServer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * A lab's cluster state in its API server. Every write records the resourceVersion the server gave
 * it, per kind; {@link #commit} hands those to the agents' {@code wait}, so a change returns once
 * every agent's informers delivered it and the agent programmed it.
 */
public final class ApiClusterStore implements ClusterStore, AutoCloseable {
    /** Connections a large apply writes over at once. */
    static final int PARALLEL = 8;
    static final long NAMESPACE_TIMEOUT_MS = 30_000;
    private final ApiClient client;
    private final Path kubeconfig;
    private final Map<String, Long> written = new ConcurrentHashMap<>();

    public ApiClusterStore(ApiClient client, Path kubeconfig) {
        this.client = client;
        this.kubeconfig = kubeconfig;
    }

    public ApiClient client() { return client; }

    @Override public List<KubeObject> all() {
        List<KubeObject> out = new ArrayList<>();
        for (String kind : new java.util.TreeSet<>(Kinds.ALL.keySet())) out.addAll(all(kind));
        return out;
    }

    @Override public List<KubeObject> all(String kind) {
        ApiTypes.Type t = type(kind);
        JsonNode list = client.ok("GET", t.root() + "/" + t.plural(), null, null);
        List<KubeObject> out = new ArrayList<>();
        for (JsonNode item : list.path("items")) decode(item).ifPresent(out::add);
        return out;
    }

    @Override public Optional<KubeObject> get(String kind, String namespace, String name) {
        ApiTypes.Type t = type(kind);
        var r = client.call("GET", path(t, namespace, name), null, null);
        if (r.code() == 404) return Optional.empty();
        if (!r.ok()) throw new ApiError(r.code(), r.body().path("reason").asString(""), r.body().path("message").asString());
        return decode(r.body());
    }

    @Override public void put(JsonNode body) {
        String kind = body.path("kind").asString("");
        ApiTypes.Type t = ApiTypes.ofKind(body.path("apiVersion").asString(""), kind).orElseGet(() -> type(kind));
        ObjectNode b = (ObjectNode) body.deepCopy();
        b.withObject("metadata").remove("resourceVersion");
        String ns = t.namespaced() ? b.path("metadata").path("namespace").asString("default") : "";
        String name = b.path("metadata").path("name").asString("");
        var r = client.call("POST", collection(t, ns), b, null);
        if (r.code() == 409) r = client.call("PUT", path(t, ns, name), b, null);
        JsonNode stored = check(r, t, name);
        record(kind, stored, r);
        if (t.status() && b.has("status") && !b.get("status").equals(stored.get("status"))) {
            var st = client.call("PUT", path(t, ns, name) + "/status", b, null);
            record(kind, check(st, t, name), st);
        }
    }

    @Override public void putAll(List<? extends JsonNode> bodies) {
        // namespaces (and nodes) first, one after the other: the rest may need them
        List<JsonNode> first = new ArrayList<>(), rest = new ArrayList<>();
        for (JsonNode b : bodies) (Kinds.NAMESPACE.equals(b.path("kind").asString()) || Kinds.NODE.equals(b.path("kind").asString()) ? first : rest).add(b);
        first.forEach(this::put);
        List<Callable<Void>> calls = new ArrayList<>();
        for (JsonNode b : rest) calls.add(() -> {
            put(b);
            return null;
        });
        client.parallel(calls, PARALLEL);
    }

    @Override public void remove(String kind, String namespace, String name) {
        ApiTypes.Type t = type(kind);
        var r = client.call("DELETE", path(t, namespace, name), null, null);
        if (r.code() == 404) return;
        record(kind, check(r, t, name), r);
        if (kind.equals(Kinds.NAMESPACE)) awaitGone(t, name);
    }

    /** As {@code kubectl delete} waits: a namespace is Terminating until it and its contents are gone. */
    private void awaitGone(ApiTypes.Type t, String name) {
        long deadline = System.currentTimeMillis() + NAMESPACE_TIMEOUT_MS;
        while (client.call("GET", path(t, "", name), null, null).code() != 404) {
            if (System.currentTimeMillis() > deadline)
                throw new IllegalStateException("namespace " + name + " still Terminating after " + NAMESPACE_TIMEOUT_MS / 1000 + " s");
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted");
            }
        }
        // what the agents wait for stays the Terminating write: the lab deleted the contents itself before
    }

    @Override public Barrier commit() { return new Barrier(0, new TreeMap<>(written)); }

    @Override public List<String> agentFlags() { return List.of("--api", "kubernetes", "--kubeconfig", kubeconfig.toString()); }

    @Override public void close() { client.close(); }

    /** What the agents must see of a write: the object's version, and those of the controllers' writes it set off (the server lists them). */
    private void record(String kind, JsonNode stored, ApiClient.Reply r) {
        record(kind, Long.parseLong(stored.path("metadata").path("resourceVersion").asString("0")));
        for (String kv : r.header(LabApiServer.WRITTEN).split(",")) {
            int eq = kv.indexOf('=');
            if (eq > 0) record(kv.substring(0, eq), Long.parseLong(kv.substring(eq + 1)));
        }
    }

    private void record(String kind, long rv) {
        if (Kinds.ALL.containsKey(kind)) written.merge(kind, rv, Math::max); // else the agents do not watch it
    }

    private static JsonNode check(ApiClient.Reply r, ApiTypes.Type t, String name) {
        if (!r.ok()) throw new ApiError(r.code(), r.body().path("reason").asString(""),
                t.kind() + " " + name + ": " + r.body().path("message").asString("HTTP " + r.code()));
        return r.body();
    }

    private static Optional<KubeObject> decode(JsonNode item) {
        try {
            return Optional.of(ManifestReader.object("api", item));
        } catch (ManifestException e) {
            return Optional.empty(); // not something Sluice reads; the agents report it
        }
    }

    static ApiTypes.Type type(String kind) {
        return ApiTypes.ofKind(kind).orElseThrow(() -> new IllegalArgumentException("kind " + kind + " is not served by the lab's API server"));
    }

    private static String collection(ApiTypes.Type t, String ns) {
        return t.root() + (t.namespaced() ? "/namespaces/" + ns : "") + "/" + t.plural();
    }

    private static String path(ApiTypes.Type t, String ns, String name) { return collection(t, ns) + "/" + name; }
}
