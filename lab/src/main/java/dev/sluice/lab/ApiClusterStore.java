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
    /** An apply of more objects than this lists their kinds instead of reading each one. */
    static final int LIST_ABOVE = 64;
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

    /**
     * Reads what a plan of {@code incoming} needs and no more: the incoming objects' stored versions
     * (one GET each, or one list per kind for a large apply), the namespaces, and lazily the
     * Services (for a small apply only to check a requested ClusterIP: the server allocates the
     * others) or a namespace's contents.
     */
    @Override public Planner.Stored stored(List<KubeObject> incoming) {
        Map<String, KubeObject> have = new ConcurrentHashMap<>();
        boolean large = incoming.size() > LIST_ABOVE;
        if (large) {
            for (String kind : new java.util.TreeSet<>(incoming.stream().map(KubeObject::kind).filter(Kinds.ALL::containsKey).toList()))
                all(kind).forEach(o -> have.put(o.key(), o));
        } else {
            List<Callable<Void>> calls = new ArrayList<>();
            for (KubeObject o : incoming) {
                if (!Kinds.ALL.containsKey(o.kind())) continue;
                calls.add(() -> {
                    get(o.kind(), o.namespace(), o.name()).ifPresent(x -> have.put(x.key(), x));
                    return null;
                });
            }
            client.parallel(calls, PARALLEL);
        }
        java.util.Set<String> namespaces = new java.util.LinkedHashSet<>();
        all(Kinds.NAMESPACE).forEach(o -> namespaces.add(o.name()));
        return new Planner.Stored() {
            private List<KubeObject> services;
            // a large apply reads every Service anyway (its cost is the apply's) and allocates itself, so its writes stay parallel
            @Override public boolean allocatesClusterIPs() { return !large; }
            @Override public Optional<KubeObject> get(String key) { return Optional.ofNullable(have.get(key)); }
            @Override public java.util.Set<String> namespaces() { return namespaces; }
            @Override public List<KubeObject> inNamespace(String ns) {
                List<KubeObject> out = new ArrayList<>();
                for (String kind : new java.util.TreeSet<>(Kinds.ALL.keySet())) {
                    ApiTypes.Type t = type(kind);
                    if (!t.namespaced()) continue;
                    for (JsonNode item : client.ok("GET", collection(t, ns), null, null).path("items")) decode(item).ifPresent(out::add);
                }
                return out;
            }
            @Override public List<KubeObject> services() {
                if (services == null) services = all(Kinds.SERVICE);
                return services;
            }
        };
    }

    @Override public Optional<KubeObject> get(String kind, String namespace, String name) {
        ApiTypes.Type t = type(kind);
        var r = client.call("GET", path(t, namespace, name), null, null);
        if (r.code() == 404) return Optional.empty();
        if (!r.ok()) throw new ApiError(r.code(), r.body().path("reason").asString(""), r.body().path("message").asString());
        return decode(r.body());
    }

    @Override public JsonNode put(JsonNode body) {
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
            stored = check(st, t, name);
            record(kind, stored, st);
        }
        return stored;
    }

    /**
     * Namespaces (and nodes) first, then Services that leave their ClusterIP to the server, each one
     * after the other in the order given (the server's allocation is then the same as the order of
     * the manifests), then the rest in parallel.
     */
    @Override public List<JsonNode> putAll(List<? extends JsonNode> bodies) {
        JsonNode[] out = new JsonNode[bodies.size()];
        List<Integer> first = new ArrayList<>(), ordered = new ArrayList<>(), rest = new ArrayList<>();
        for (int i = 0; i < bodies.size(); i++) {
            JsonNode b = bodies.get(i);
            String kind = b.path("kind").asString();
            if (Kinds.NAMESPACE.equals(kind) || Kinds.NODE.equals(kind)) first.add(i);
            else if (Kinds.SERVICE.equals(kind) && b.path("spec").path("clusterIP").asString("").isEmpty()) ordered.add(i);
            else rest.add(i);
        }
        for (int i : first) out[i] = put(bodies.get(i));
        for (int i : ordered) out[i] = put(bodies.get(i));
        List<Callable<JsonNode>> calls = new ArrayList<>();
        for (int i : rest) calls.add(() -> put(bodies.get(i)));
        List<JsonNode> done = client.parallel(calls, PARALLEL);
        for (int j = 0; j < rest.size(); j++) out[rest.get(j)] = done.get(j);
        return List.of(out);
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
