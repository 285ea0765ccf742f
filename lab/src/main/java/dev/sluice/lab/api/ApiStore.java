package dev.sluice.lab.api;

import dev.sluice.k8s.ManifestException;
import dev.sluice.k8s.ManifestReader;
import dev.sluice.k8s.Service;
import dev.sluice.lb.ClusterIpAllocator;
import dev.sluice.net.Cidr;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * The objects of the lab's API server, indexed by type, namespace and name (a lookup costs a map
 * lookup, not a pass over the store), with one resourceVersion counter for every write, a log of
 * recent events for watches that resume from a resourceVersion, and the watches themselves.
 *
 * <p>What a real control plane does at write time is done here: ClusterIP allocation for new
 * Services (validated, immutable afterwards, released on delete), namespaces required for
 * namespaced objects, deletion of a namespace deleting what is in it, optimistic concurrency on
 * {@code metadata.resourceVersion}, a status subresource, and no event for a write that changes
 * nothing. Stored objects are never modified in place: readers may hold them.
 */
public final class ApiStore {
    /** How many events a watch can resume across by default; older resourceVersions get 410 Gone. */
    static final int EVENT_LOG = 200_000;

    /** A change as a watch sees it. */
    public record Event(long rv, String type, String storage, String namespace, ObjectNode object) {}

    /** Where a watch's events go; {@code send} returns false once the client is gone. */
    public interface Sink {
        boolean send(String text);
    }

    private record Watch(String storage, String namespace, Predicate<JsonNode> filter, ApiTypes.Type type, Sink sink) {}

    private final Map<String, TreeMap<String, ObjectNode>> objects = new HashMap<>();
    private final ArrayDeque<Event> log = new ArrayDeque<>();
    private final List<Watch> watches = new CopyOnWriteArrayList<>();
    private final ClusterIpAllocator.Pool ips;
    private final Duration namespaceGrace;
    private final int eventLog;
    private final ScheduledExecutorService finalizer = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().name("namespace-finalizer").daemon().unstarted(r));
    private long rv = 0;
    /** Per kind, the last resourceVersion the calling thread's writes made, controllers' included (see {@link #written}). */
    private final ThreadLocal<Map<String, Long>> written = ThreadLocal.withInitial(java.util.TreeMap::new);

    /** @param namespaceGrace how long a deleted namespace stays Terminating before it and its contents go */
    public ApiStore(Cidr serviceCidr, Duration namespaceGrace) { this(serviceCidr, namespaceGrace, EVENT_LOG); }

    /** @param eventLog how many events a watch can resume across */
    ApiStore(Cidr serviceCidr, Duration namespaceGrace, int eventLog) {
        this.ips = new ClusterIpAllocator(serviceCidr).pool();
        this.namespaceGrace = namespaceGrace;
        this.eventLog = eventLog;
    }

    public synchronized long resourceVersion() { return rv; }

    /**
     * What this thread's writes since the last call made, per kind: the object's own write and
     * those of the controllers it set off (an EndpointSlice after a Pod). A writer that waits for
     * its change to be programmed waits for all of them. Clears the record.
     */
    public Map<String, Long> written() {
        Map<String, Long> w = Map.copyOf(written.get());
        written.get().clear();
        return w;
    }

    // ---------------------------------------------------------------- reads

    public synchronized Optional<ObjectNode> get(ApiTypes.Type t, String ns, String name) {
        return Optional.ofNullable(table(t).get(key(t, ns, name))).map(o -> as(t, o));
    }

    /** The objects of a type (in one namespace, or all when {@code ns} is null) that match, and the resourceVersion they are at. */
    public synchronized List<ObjectNode> list(ApiTypes.Type t, String ns, Predicate<JsonNode> filter) {
        List<ObjectNode> out = new ArrayList<>();
        var tab = table(t);
        var view = ns == null || !t.namespaced() ? tab : tab.subMap(ns + "/", ns + "/\uffff");
        for (ObjectNode o : view.values()) if (filter.test(o)) out.add(as(t, o));
        return out;
    }

    // ---------------------------------------------------------------- writes

    public synchronized ObjectNode create(ApiTypes.Type t, String ns, JsonNode body) {
        ObjectNode o = object(t, body);
        ObjectNode meta = o.withObject("metadata");
        String name = meta.path("name").asString("");
        if (name.isEmpty() && !meta.path("generateName").asString("").isEmpty()) {
            name = meta.path("generateName").asString() + UUID.randomUUID().toString().substring(0, 5);
            meta.put("name", name);
        }
        if (name.isEmpty()) throw new ApiError(422, "Invalid", t.kind() + " is invalid: metadata.name: Required value: name or generateName is required");
        ns = namespaceOf(t, ns, meta);
        ObjectNode nsObject = t.namespaced() ? table(namespaces()).get(ns) : null;
        if (t.namespaced() && nsObject == null) throw new ApiError(404, "NotFound", "namespaces \"" + ns + "\" not found");
        if (nsObject != null && nsObject.path("metadata").has("deletionTimestamp"))
            throw new ApiError(403, "Forbidden", t + " \"" + name + "\" is forbidden: unable to create new content in namespace " + ns + " because it is being terminated");
        String k = key(t, ns, name);
        if (table(t).containsKey(k)) throw new ApiError(409, "AlreadyExists", t + " \"" + name + "\" already exists");
        if (t.kind().equals("Service")) admitService(o, ns, name, null);
        meta.put("uid", UUID.randomUUID().toString());
        meta.put("creationTimestamp", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
        meta.put("generation", 1);
        meta.remove("deletionTimestamp");
        return write(t, ns, k, o, "ADDED");
    }

    /** PUT: replaces the object (or, with {@code status}, only its status). */
    public synchronized ObjectNode update(ApiTypes.Type t, String ns, String name, JsonNode body, boolean status) {
        String k = key(t, ns, name);
        ObjectNode old = table(t).get(k);
        if (old == null) throw ApiError.notFound(t, name);
        ObjectNode in = object(t, body);
        String want = in.path("metadata").path("resourceVersion").asString("");
        if (!want.isEmpty() && !want.equals(old.path("metadata").path("resourceVersion").asString()))
            throw new ApiError(409, "Conflict", "Operation cannot be fulfilled on " + t + " \"" + name
                    + "\": the object has been modified; please apply your changes to the latest version and try again");
        ObjectNode o;
        if (status) {
            o = old.deepCopy();
            if (in.has("status")) o.set("status", in.get("status").deepCopy());
            else o.remove("status");
        } else {
            o = in;
            ObjectNode meta = o.withObject("metadata");
            meta.put("name", name);
            if (t.namespaced()) meta.put("namespace", ns);
            for (String keep : List.of("uid", "creationTimestamp", "generation", "deletionTimestamp"))
                if (old.path("metadata").has(keep)) meta.set(keep, old.path("metadata").get(keep).deepCopy());
            if (t.status()) {
                if (old.has("status")) o.set("status", old.get("status").deepCopy());
                else o.remove("status");
            }
            if (t.kind().equals("Service")) admitService(o, ns, name, old);
            if (!old.path("spec").equals(o.path("spec"))) meta.put("generation", old.path("metadata").path("generation").asLong(1) + 1);
        }
        o.withObject("metadata").put("resourceVersion", old.path("metadata").path("resourceVersion").asString());
        if (o.equals(old)) return as(t, old); // nothing changed: no new version, no event
        return write(t, ns, k, o, "MODIFIED");
    }

    /** Deletes one object (a namespace with everything in it); returns it as last stored, with the deletion's resourceVersion. */
    public synchronized ObjectNode delete(ApiTypes.Type t, String ns, String name) {
        String k = key(t, ns, name);
        ObjectNode old = table(t).get(k);
        if (old == null) throw ApiError.notFound(t, name);
        if (t.kind().equals("Namespace")) {
            // as the namespace controller does: Terminating at once, its contents and itself removed a moment later
            if (old.path("metadata").has("deletionTimestamp")) return as(t, old);
            ObjectNode terminating = old.deepCopy();
            terminating.withObject("metadata").put("deletionTimestamp", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
            terminating.withObject("status").put("phase", "Terminating");
            ObjectNode o = write(t, "", k, terminating, "MODIFIED");
            finalizer.schedule(() -> finalizeNamespace(t, name), namespaceGrace.toMillis(), TimeUnit.MILLISECONDS);
            return o;
        }
        return as(t, remove(t, k));
    }

    private synchronized void finalizeNamespace(ApiTypes.Type t, String name) {
        if (!table(t).containsKey(name)) return;
        for (ApiTypes.Type x : storages()) {
            if (!x.namespaced()) continue;
            for (String in : List.copyOf(table(x).subMap(name + "/", name + "/\uffff").keySet())) remove(x, in);
        }
        remove(t, name);
    }

    private ObjectNode remove(ApiTypes.Type t, String k) {
        ObjectNode old = table(t).remove(k);
        if (t.kind().equals("Service")) release(old);
        ObjectNode gone = old.deepCopy();
        gone.withObject("metadata").put("resourceVersion", Long.toString(++rv));
        written.get().put(t.kind(), rv);
        String ns = old.path("metadata").path("namespace").asString("");
        event(new Event(rv, "DELETED", t.storageKey(), ns, gone));
        control(t, ns, old, null);
        return gone;
    }

    private ObjectNode write(ApiTypes.Type t, String ns, String k, ObjectNode o, String type) {
        o.withObject("metadata").put("resourceVersion", Long.toString(++rv));
        written.get().put(t.kind(), rv);
        ObjectNode before = table(t).put(k, o);
        event(new Event(rv, type, t.storageKey(), ns, o));
        control(t, ns, before, o);
        return as(t, o);
    }

    // ---------------------------------------------------------------- controllers

    /** Runs the controllers a write concerns, inside the same lock: their writes follow it in resourceVersion order. */
    private void control(ApiTypes.Type t, String ns, ObjectNode before, ObjectNode now) {
        if (!t.kind().equals("Pod") && !t.kind().equals("Service")) return;
        ObjectNode any = now != null ? now : before;
        endpointSlices.changed(sliceWriter, t.kind(), ns, any.path("metadata").path("name").asString(), before, now);
    }

    private final EndpointSliceController endpointSlices = new EndpointSliceController();
    private final EndpointSliceController.Writer sliceWriter = new EndpointSliceController.Writer() {
        private final ApiTypes.Type slices = ApiTypes.ofKind("discovery.k8s.io/v1", "EndpointSlice").orElseThrow();

        @Override public void put(String ns, String name, ObjectNode slice) {
            String k = key(slices, ns, name);
            ObjectNode have = table(slices).get(k);
            ObjectNode o = slice; // made for this write by the controller: stored as it is
            ObjectNode meta = o.withObject("metadata");
            if (have != null) {
                for (String keep : List.of("uid", "creationTimestamp", "generation", "resourceVersion"))
                    if (have.path("metadata").has(keep)) meta.set(keep, have.path("metadata").get(keep).deepCopy());
                if (o.equals(have)) return;
            } else {
                meta.put("uid", UUID.randomUUID().toString());
                meta.put("creationTimestamp", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
                meta.put("generation", 1);
            }
            write(slices, ns, k, o, have == null ? "ADDED" : "MODIFIED");
        }

        @Override public void delete(String ns, String name) {
            String k = key(slices, ns, name);
            if (table(slices).containsKey(k)) remove(slices, k);
        }
    };

    // ---------------------------------------------------------------- watches

    /**
     * Starts a watch: from {@code since} (events after it, or 410 Gone when the log no longer
     * reaches back that far), or with {@code since} empty or "0" from the current state (an ADDED
     * event per object), then every later event that matches, in resourceVersion order.
     */
    public synchronized void watch(ApiTypes.Type t, String ns, Predicate<JsonNode> filter, String since, Sink sink) {
        Watch w = new Watch(t.storageKey(), t.namespaced() ? ns : null, filter, t, sink);
        if (since == null || since.isEmpty() || since.equals("0")) {
            for (ObjectNode o : list(t, ns, filter)) sink.send(eventText("ADDED", o));
        } else {
            long from;
            try {
                from = Long.parseLong(since);
            } catch (NumberFormatException e) {
                throw ApiError.badRequest("resourceVersion: " + since + " (expected: a resourceVersion from a list or watch of this server)");
            }
            long oldest = log.isEmpty() ? rv + 1 : log.peekFirst().rv();
            if (from < oldest - 1) {
                sink.send(expired(from));
                return;
            }
            for (Event e : log) if (e.rv() > from && matches(w, e)) sink.send(eventText(e.type(), as(t, e.object())));
        }
        watches.add(w);
    }

    private void event(Event e) {
        log.addLast(e);
        while (log.size() > eventLog) log.removeFirst();
        String text = null; // serialized once for every watch of the stored version
        for (Watch w : watches) {
            if (!matches(w, e)) continue;
            boolean stored = w.type().apiVersion().equals(e.object().path("apiVersion").asString(""));
            if (stored && text == null) text = eventText(e.type(), e.object());
            if (!w.sink().send(stored ? text : eventText(e.type(), as(w.type(), e.object())))) watches.remove(w);
        }
    }

    /** Forgets a watch whose client went away. */
    public void unwatch(Sink sink) { watches.removeIf(w -> w.sink() == sink); }

    public int watchCount() { return watches.size(); }

    private static boolean matches(Watch w, Event e) {
        return w.storage().equals(e.storage()) && (w.namespace() == null || w.namespace().equals(e.namespace())) && w.filter().test(e.object());
    }

    static String eventText(String type, ObjectNode o) {
        ObjectNode e = ApiTypes.JSON.createObjectNode().put("type", type);
        e.set("object", o);
        return ApiTypes.JSON.writeValueAsString(e);
    }

    static String expired(long from) {
        ObjectNode e = ApiTypes.JSON.createObjectNode().put("type", "ERROR");
        e.set("object", ApiError.status(410, "Expired", "too old resource version: " + from));
        return ApiTypes.JSON.writeValueAsString(e);
    }

    // ---------------------------------------------------------------- services

    /** Allocates or checks spec.clusterIP (and clusterIPs) as the API server does; immutable once set. */
    private void admitService(ObjectNode o, String ns, String name, ObjectNode old) {
        String key = ns + "/" + name;
        ObjectNode spec = o.withObject("spec");
        String requested = spec.path("clusterIP").asString("");
        String ip;
        if (old != null) {
            String was = old.path("spec").path("clusterIP").asString("");
            if (!requested.isEmpty() && !requested.equals(was))
                throw ApiError.invalid("Service", name, "spec.clusterIP", requested, "field is immutable");
            ip = was;
        } else {
            Service s;
            try {
                s = Service.decode(ManifestReader.object("api", o));
            } catch (ManifestException e) {
                throw new ApiError(422, "Invalid", "Service \"" + name + "\" is invalid: " + e.getMessage());
            }
            try {
                ip = ips.allocate(s);
            } catch (ManifestException e) {
                throw ApiError.invalid("Service", name, "spec.clusterIP", requested, e.getMessage());
            }
        }
        if (ip.isEmpty()) return;
        spec.put("clusterIP", ip);
        spec.set("clusterIPs", spec.arrayNode().add(ip));
    }

    private void release(ObjectNode old) { ips.release(old.path("spec").path("clusterIP").asString("")); }

    // ---------------------------------------------------------------- helpers

    private TreeMap<String, ObjectNode> table(ApiTypes.Type t) { return objects.computeIfAbsent(t.storageKey(), k -> new TreeMap<>()); }

    private static ApiTypes.Type namespaces() { return ApiTypes.ofKind("v1", "Namespace").orElseThrow(); }

    private static List<ApiTypes.Type> storages() {
        Map<String, ApiTypes.Type> one = new java.util.LinkedHashMap<>();
        for (ApiTypes.Type t : ApiTypes.TYPES) one.putIfAbsent(t.storageKey(), t);
        return List.copyOf(one.values());
    }

    private static String key(ApiTypes.Type t, String ns, String name) { return t.namespaced() ? ns + "/" + name : name; }

    private static String namespaceOf(ApiTypes.Type t, String ns, ObjectNode meta) {
        if (!t.namespaced()) {
            meta.remove("namespace");
            return "";
        }
        String inBody = meta.path("namespace").asString("");
        if (ns == null || ns.isEmpty()) ns = inBody.isEmpty() ? "default" : inBody;
        if (!inBody.isEmpty() && !inBody.equals(ns))
            throw ApiError.badRequest("the namespace of the provided object (" + inBody + ") does not match the namespace sent on the request (" + ns + ")");
        meta.put("namespace", ns);
        return ns;
    }

    /** A copy of the request's object with the type's kind and apiVersion. */
    private static ObjectNode object(ApiTypes.Type t, JsonNode body) {
        if (body == null || !body.isObject()) throw ApiError.badRequest("the body must be a JSON object (a " + t.kind() + ")");
        String kind = body.path("kind").asString("");
        if (!kind.isEmpty() && !kind.equals(t.kind()))
            throw ApiError.badRequest("kind " + kind + " sent to " + t + " (expected: " + t.kind() + ")");
        ObjectNode o = (ObjectNode) body.deepCopy();
        o.put("kind", t.kind());
        o.put("apiVersion", t.apiVersion());
        if (!(o.get("metadata") instanceof ObjectNode)) o.putObject("metadata");
        return o;
    }

    /** The object as type {@code t} serves it: the same object, or a copy under t's apiVersion. */
    private static ObjectNode as(ApiTypes.Type t, ObjectNode o) {
        if (o.path("apiVersion").asString("").equals(t.apiVersion())) return o;
        ObjectNode c = o.deepCopy();
        c.put("apiVersion", t.apiVersion());
        return c;
    }
}
