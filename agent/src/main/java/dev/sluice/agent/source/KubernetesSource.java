package dev.sluice.agent.source;

import dev.sluice.agent.store.ResourceStore;
import dev.sluice.agent.store.ResourceStore.Key;
import dev.sluice.k8s.KubeObject;
import dev.sluice.k8s.Kinds;
import dev.sluice.k8s.ManifestException;
import dev.sluice.k8s.ManifestReader;
import dev.sluice.k8s.Node;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceList;
import io.fabric8.kubernetes.api.model.ListOptionsBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Cluster state from the Kubernetes API: one fabric8 informer (list, then watch) per kind Sluice
 * reads, feeding a {@link ResourceStore}. Every object is read as GenericKubernetesResource and goes
 * through the same {@link ManifestReader#object} as a manifest file, so both sources give the
 * store the same objects.
 *
 * <p>Each list (the first, and every relist after the watch lost its place: 410 Gone, an API
 * server restart) goes to the store as one {@link ResourceStore#replace}: the store then holds
 * exactly what the API holds, including deletions missed while disconnected, and subscribers see
 * the relist as one change. Between lists, watch events go in one by one.
 *
 * <p>The store is the only copy of the objects. Each informer keeps {@link Stubs}: per object only
 * its name, namespace and resourceVersion, which is all the informer needs to tell adds, updates
 * and deletes apart and to find what a relist no longer holds. An object is converted once, as it
 * arrives, and the handler takes the converted object by key and version. (fabric8's own cache
 * would hold every Service and EndpointSlice a second time as nested maps: about 300 MiB at 10,000
 * Services.) There is therefore no informer resync: replaying the cache could only replay the store
 * to itself.
 *
 * <p>Kinds are independent: a kind whose list fails (a CRD not installed: 404) is reported in its
 * {@link KindHealth} and tried again every {@code retry}, falling back through the API versions
 * Cilium serves it at, while the other kinds run. An object that does not read is reported under
 * its kind, left out of the store, and blocks no other.
 *
 * <p>Reads only. RBAC (ClusterRole rules): {@code list, watch} on {@code namespaces, nodes, pods,
 * services} (core), {@code discovery.k8s.io endpointslices}, {@code networking.k8s.io
 * networkpolicies} and {@code cilium.io ciliumnetworkpolicies, ciliumclusterwidenetworkpolicies,
 * ciliumloadbalancerippools}. The agent's writes are {@link CrdInstaller}'s.
 */
public final class KubernetesSource implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(KubernetesSource.class);
    private static final String CRD_GROUP = "cilium.io";
    /** The "file" of objects read from the API, as error messages name it. */
    public static final String ORIGIN = "kubernetes";

    /**
     * One kind as the API serves it.
     *
     * @param versions the group versions to try, preferred first: Cilium serves
     *                 CiliumLoadBalancerIPPool at cilium.io/v2 since 1.18 and at v2alpha1 before
     */
    public record Resource(String kind, String group, List<String> versions, String plural, boolean namespaced) {
        String apiVersion(int i) { return group.isEmpty() ? versions.get(i) : group + "/" + versions.get(i); }
    }

    public static final List<Resource> RESOURCES = List.of(
            new Resource(Kinds.NAMESPACE, "", List.of("v1"), "namespaces", false),
            new Resource(Kinds.NODE, "", List.of("v1"), "nodes", false),
            new Resource(Kinds.POD, "", List.of("v1"), "pods", true),
            new Resource(Kinds.SERVICE, "", List.of("v1"), "services", true),
            new Resource(Kinds.ENDPOINT_SLICE, "discovery.k8s.io", List.of("v1"), "endpointslices", true),
            new Resource(Kinds.NETWORK_POLICY, "networking.k8s.io", List.of("v1"), "networkpolicies", true),
            new Resource(Kinds.CILIUM_NETWORK_POLICY, "cilium.io", List.of("v2"), "ciliumnetworkpolicies", true),
            new Resource(Kinds.CILIUM_CLUSTERWIDE_NETWORK_POLICY, "cilium.io", List.of("v2"), "ciliumclusterwidenetworkpolicies", false),
            new Resource(Kinds.CILIUM_LB_IP_POOL, "cilium.io", List.of("v2", "v2alpha1"), "ciliumloadbalancerippools", false));

    /**
     * @param retry how long to wait before listing a kind again after its list was refused (a CRD
     *              not installed); other errors are retried by the informer with its own backoff
     */
    public record Config(Duration retry) {
        public static final Config DEFAULT = new Config(Duration.ofSeconds(10));

        public Config {
            if (retry.isNegative() || retry.isZero()) throw new IllegalArgumentException("retry: " + retry + " (expected: more than zero)");
        }
    }

    /**
     * How one kind is doing, for {@code sluice status}.
     *
     * @param apiVersion    the version listed now (or last tried)
     * @param synced        listed at least once: the store holds what the API held then
     * @param watching      the watch is established now
     * @param lists         lists done (the first, then one per watch restart: 410 Gone, a server restart)
     * @param watchRestarts lists after the first
     * @param lastError     the error of the last failed list or watch, "" once a list succeeds after it
     * @param badObjects    objects that did not read, one line each, naming the object and the field
     */
    public record KindHealth(String kind, String apiVersion, boolean synced, boolean watching, long lists, long watchRestarts,
                             String lastError, List<String> badObjects) {}

    private final KubernetesClient client;
    private final ResourceStore store;
    private final Config config;
    private final Map<String, Watch> watches = new LinkedHashMap<>();
    private volatile Runnable onVersion = () -> { };
    private final ScheduledExecutorService retries = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().name("kubernetes-source-retry").daemon().factory());
    private volatile boolean closed;

    public KubernetesSource(KubernetesClient client, ResourceStore store, Config config) {
        this.client = client;
        this.store = store;
        this.config = config;
        for (Resource r : RESOURCES) watches.put(r.kind(), new Watch(r));
    }

    public ResourceStore store() { return store; }

    /** Starts every kind's informer; returns at once (see {@link #health()} for which have synced). */
    public void start() {
        watches.values().forEach(Watch::start);
    }

    /** True once every kind has been listed. */
    public boolean synced() {
        return watches.values().stream().allMatch(w -> w.synced);
    }

    public List<KindHealth> health() {
        return watches.values().stream().map(Watch::health).toList();
    }

    /**
     * Every problem as one line: kinds that cannot be listed or are not watching after an error, and
     * objects that do not read.
     */
    /** Called after a kind's version advances (on the informer's thread; must not block). */
    public void onVersion(Runnable r) { onVersion = r; }

    /** Per kind, the resourceVersion the store holds every list and event up to (kinds not seen yet are absent). */
    public Map<String, Long> versions() {
        Map<String, Long> v = new java.util.TreeMap<>();
        watches.values().forEach(w -> {
            if (w.seen > 0) v.put(w.resource.kind(), w.seen);
        });
        return v;
    }

    /** What one kind's informer caches: stubs only (for tests). */
    List<GenericKubernetesResource> cached(String kind) {
        var inf = watches.get(kind).informer;
        return inf == null ? List.of() : inf.getStore().list();
    }

    public List<String> errors() {
        List<String> out = new ArrayList<>();
        for (KindHealth h : health()) {
            if (!h.lastError().isEmpty() && !(h.synced() && h.watching())) out.add(h.kind() + ": " + h.lastError());
            out.addAll(h.badObjects());
        }
        return out;
    }

    @Override public void close() {
        closed = true;
        retries.shutdownNow();
        watches.values().forEach(Watch::stop);
    }

    /** One kind: its informer, its health, and the conversion of its objects into the store. */
    private final class Watch implements ResourceEventHandler<GenericKubernetesResource> {
        final Resource resource;
        volatile int version;
        volatile SharedIndexInformer<GenericKubernetesResource> informer;
        volatile boolean synced;
        /** Between the start and the end of a list: its items reach the store as one replace at its end. */
        volatile boolean listing;
        final AtomicLong lists = new AtomicLong();
        volatile String lastError = "";
        final Map<Key, String> bad = new ConcurrentHashMap<>();
        /** The resourceVersion of the last list or event of this kind that reached the store. */
        volatile long seen;
        final Stubs stubs = new Stubs(this);
        /**
         * Objects converted as they arrived (on the informer's thread), by informer key, until the
         * handler takes them (on the informer's event thread): the latest version of each key.
         */
        final Map<String, Arrived> arrived = new ConcurrentHashMap<>();

        Watch(Resource resource) { this.resource = resource; }

        /** Finds the version the API serves (CRDs only: built-in kinds are always there), then informs. */
        void start() {
            if (resource.group().equals(CRD_GROUP)) retries.execute(this::probe);
            else inform(0);
        }

        /**
         * Lists one object of each version in turn and informs on the first served. A kind with no
         * served version (its CRD missing) or an API that cannot be reached is tried again after
         * {@code retry}; probing here, not in the informer, keeps the choice of version ours.
         */
        private void probe() {
            if (closed) return;
            for (int v = 0; v < resource.versions().size(); v++) {
                try {
                    operation(v).list(new ListOptionsBuilder().withLimit(1L).build());
                    inform(v);
                    return;
                } catch (KubernetesClientException e) {
                    version = v;
                    failed(e);
                    if (!refused(e)) break; // not a missing version: try this one again later
                }
            }
            if (!closed) retries.schedule(this::probe, config.retry().toMillis(), TimeUnit.MILLISECONDS);
        }

        private io.fabric8.kubernetes.client.dsl.MixedOperation<GenericKubernetesResource, GenericKubernetesResourceList,
                io.fabric8.kubernetes.client.dsl.Resource<GenericKubernetesResource>> operation(int v) {
            var ctx = new ResourceDefinitionContext.Builder().withGroup(resource.group()).withVersion(resource.versions().get(v))
                    .withKind(resource.kind()).withPlural(resource.plural()).withNamespaced(resource.namespaced()).build();
            return client.genericKubernetesResources(ctx);
        }

        private synchronized void inform(int v) {
            if (closed) return;
            version = v;
            var inf = operation(v).inAnyNamespace().runnableInformer(0);
            inf.itemStore(stubs);
            inf.addEventHandler(this);
            inf.exceptionHandler((started, t) -> {
                failed(t);
                return true; // the informer retries with backoff: a lost connection, or a CRD deleted since
            });
            informer = inf;
            inf.start();
        }

        private void failed(Throwable t) {
            String e = describe(t);
            if (!e.equals(lastError)) log.warn("{} ({}): {}", resource.kind(), resource.apiVersion(version), e); // once, not every retry
            lastError = e;
        }

        synchronized void stop() {
            if (informer != null) informer.stop();
        }

        KindHealth health() {
            var inf = informer;
            long n = lists.get();
            return new KindHealth(resource.kind(), resource.apiVersion(version), synced, inf != null && inf.isWatching(), n,
                    Math.max(0, n - 1), lastError, List.copyOf(new java.util.TreeMap<>(bad).values()));
        }

        @Override public void onBeforeList(String resourceVersion) {
            listing = true;
        }

        @Override public void onList(String resourceVersion, boolean empty) {
            // the stubs now hold the listed keys (plus those of later watch events, whose handlers
            // run after this and then find their object taken here). Every listed object arrived
            // during the list, unless the handler of an earlier watch event took it: then the store
            // holds that version already.
            List<KubeObject> all = new ArrayList<>();
            Map<Key, String> nowBad = new java.util.HashMap<>();
            stubs.forEach((id, stub) -> {
                Key k = key(stub);
                Arrived a = arrived.remove(id);
                if (a != null && a.object() != null) all.add(a.object());
                else if (a != null) nowBad.put(k, a.error());
                else if (bad.containsKey(k)) nowBad.put(k, bad.get(k));
                else store.get(k).ifPresent(all::add);
            });
            bad.keySet().retainAll(nowBad.keySet());
            bad.putAll(nowBad);
            store.replace(resource.kind(), all);
            saw(resourceVersion);
            lists.incrementAndGet();
            listing = false;
            synced = true;
            lastError = "";
        }

        @Override public void onAdd(GenericKubernetesResource r) { put(r); }

        @Override public void onUpdate(GenericKubernetesResource old, GenericKubernetesResource r) { put(r); }

        @Override public void onDelete(GenericKubernetesResource r, boolean finalStateUnknown) {
            if (listing) return;
            bad.remove(key(r));
            store.remove(key(r));
            saw(r.getMetadata().getResourceVersion());
        }

        /** Called after the store holds what {@code resourceVersion} covers; opaque (non-numeric) versions are not tracked. */
        private void saw(String resourceVersion) {
            try {
                long v = resourceVersion == null ? 0 : Long.parseLong(resourceVersion);
                if (v > seen) {
                    seen = v;
                    // a snapshot taken between the store write and here holds v but does not say so
                    onVersion.run();
                }
            } catch (NumberFormatException e) {
                // an API server whose versions are not numbers: nobody can wait on them
            }
        }

        /**
         * An add or update notification carries a stub: the object is the one that arrived with the
         * stub's version, unless a later version arrived since (its own notification follows and
         * takes it) or a list took it. Either way the store holds this version or a later one.
         */
        private void put(GenericKubernetesResource stub) {
            if (listing) return;
            String rv = stub.getMetadata().getResourceVersion();
            String id = Stubs.id(stub);
            Arrived a = arrived.get(id);
            if (a != null && java.util.Objects.equals(a.resourceVersion(), rv) && arrived.remove(id, a)) {
                Key k = key(stub);
                if (a.object() != null) {
                    store.put(a.object());
                    bad.remove(k);
                } else {
                    // left out, as a manifest that does not read: a version that no longer reads is gone
                    bad.put(k, a.error());
                    store.remove(k);
                }
            }
            saw(rv);
        }

        /** On the informer's thread, as the object arrives: converted once, kept until its notification. */
        void arrive(String id, GenericKubernetesResource r) {
            Arrived a;
            try {
                a = new Arrived(r.getMetadata().getResourceVersion(), convert(r), null);
            } catch (ManifestException e) {
                a = new Arrived(r.getMetadata().getResourceVersion(), null, e.getMessage());
            }
            arrived.put(id, a);
        }

        private Key key(GenericKubernetesResource r) {
            var m = r.getMetadata();
            String ns = resource.namespaced() && m.getNamespace() != null ? m.getNamespace() : "";
            return new Key(resource.kind(), ns, m.getName() == null ? "" : m.getName());
        }

        private KubeObject convert(GenericKubernetesResource r) {
            ObjectNode tree = (ObjectNode) client.getKubernetesSerialization().convertValue(r, JsonNode.class);
            // list items come without kind and apiVersion; the informer they came from says what they are
            if (!tree.hasNonNull("kind")) tree.put("kind", resource.kind());
            if (!tree.hasNonNull("apiVersion")) tree.put("apiVersion", resource.apiVersion(version));
            strip(resource.kind(), tree);
            return ManifestReader.object(ORIGIN, tree);
        }
    }

    /**
     * What an informer keeps of an object: three strings. Its metadata is made when the informer
     * asks (once per event); fabric8's own ObjectMeta would hold a dozen empty collections each.
     */
    static final class Stub extends GenericKubernetesResource {
        private final String name, namespace, resourceVersion;

        Stub(String name, String namespace, String resourceVersion) {
            this.name = name;
            this.namespace = namespace;
            this.resourceVersion = resourceVersion;
            setAdditionalProperties(Map.of());
        }

        @Override public io.fabric8.kubernetes.api.model.ObjectMeta getMetadata() {
            var m = new io.fabric8.kubernetes.api.model.ObjectMeta();
            m.setName(name);
            m.setNamespace(namespace);
            m.setResourceVersion(resourceVersion);
            return m;
        }
    }

    /** An object as it arrived: converted, or the one line saying why it does not read. */
    private record Arrived(String resourceVersion, KubeObject object, String error) {}

    /**
     * The informer's item store: per object a stub with only its name, namespace and
     * resourceVersion (the object itself goes to {@link Watch#arrive} and from there to the
     * {@link ResourceStore}). Keys are the informer's own ({@code namespace/name}, or {@code name}).
     */
    static final class Stubs implements io.fabric8.kubernetes.client.informers.cache.ItemStore<GenericKubernetesResource> {
        private final Map<String, GenericKubernetesResource> stubs = new ConcurrentHashMap<>();
        private final Watch watch;

        Stubs(Watch watch) { this.watch = watch; }

        static String id(GenericKubernetesResource r) {
            var m = r.getMetadata();
            return m.getNamespace() == null || m.getNamespace().isEmpty() ? m.getName() : m.getNamespace() + "/" + m.getName();
        }

        @Override public String getKey(GenericKubernetesResource r) { return id(r); }

        @Override public GenericKubernetesResource put(String id, GenericKubernetesResource r) {
            if (watch != null) watch.arrive(id, r);
            var m = r.getMetadata();
            return stubs.put(id, new Stub(m.getName(), m.getNamespace() == null ? null : m.getNamespace().intern(), m.getResourceVersion()));
        }

        @Override public GenericKubernetesResource remove(String id) {
            if (watch != null) watch.arrived.remove(id);
            return stubs.remove(id);
        }

        @Override public java.util.stream.Stream<String> keySet() { return stubs.keySet().stream(); }

        @Override public java.util.stream.Stream<GenericKubernetesResource> values() { return stubs.values().stream(); }

        @Override public int size() { return stubs.size(); }

        @Override public GenericKubernetesResource get(String id) { return stubs.get(id); }

        void forEach(java.util.function.BiConsumer<String, GenericKubernetesResource> f) { stubs.forEach(f); }
    }

    /**
     * Drops what changes without changing anything Sluice reads, so such updates are no-ops in
     * the store: the resourceVersion and managedFields of every object, and all of a Node's status
     * but its addresses (the kubelet rewrites conditions, images and volumes).
     */
    static void strip(String kind, ObjectNode tree) {
        if (tree.get("metadata") instanceof ObjectNode meta) {
            meta.remove("resourceVersion");
            meta.remove("managedFields");
        }
        if (kind.equals(Kinds.NODE) && tree.get("status") instanceof ObjectNode status)
            status.retain("addresses");
    }

    /** The API refused the list itself: this version of the resource is not served (404). */
    static boolean refused(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause())
            if (c instanceof KubernetesClientException k && k.getCode() == 404) return true;
        return false;
    }

    /** One line: the HTTP code and the API's message, without the stack of wrappers around it. */
    static String describe(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof KubernetesClientException k && k.getCode() == 404)
                return "not served by the API server (HTTP 404; expected: its CRD installed)";
            if (c instanceof KubernetesClientException k && k.getCode() > 0)
                return "HTTP " + k.getCode() + ": " + firstLine(k.getMessage());
        }
        Throwable root = t;
        while (root.getCause() != null) root = root.getCause();
        return firstLine(root.getClass().getSimpleName() + ": " + root.getMessage());
    }

    private static String firstLine(String s) {
        return s == null ? "" : s.lines().findFirst().orElse("");
    }
}
