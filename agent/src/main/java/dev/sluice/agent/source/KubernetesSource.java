package dev.sluice.agent.source;

import dev.sluice.agent.store.ResourceStore;
import dev.sluice.agent.store.ResourceStore.Key;
import dev.sluice.k8s.KubeObject;
import dev.sluice.k8s.Kinds;
import dev.sluice.k8s.ManifestException;
import dev.sluice.k8s.ManifestReader;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * Cluster state from the Kubernetes API: per kind Sluice reads, a list, then a watch from the
 * list's resourceVersion ({@link KubeApi}), feeding a {@link ResourceStore}. Every object goes
 * through the same {@link ManifestReader#object} as a manifest file, so both sources give the store
 * the same objects, and the store is the only copy of them: nothing is cached beside it.
 *
 * <p>Each list (the first, and every relist after the watch lost its place: 410 Gone, an API
 * server restart) goes to the store as one {@link ResourceStore#replace}: the store then holds
 * exactly what the API holds, including deletions missed while disconnected, and subscribers see
 * the relist as one change. Between lists, watch events go in one by one. A watch the server ends
 * (its timeout) is opened again from the last resourceVersion seen (bookmarks included) without a
 * list; one that fails is retried with backoff, then listed again. A watch silent for
 * {@link Config#silence} despite pings is taken for dead.
 *
 * <p>Kinds are independent: a kind whose list fails (a CRD not installed: 404) is reported in its
 * {@link KindHealth} and tried again every {@code retry}, falling back through the API versions
 * Cilium serves it at, while the other kinds run. An object that does not read is reported under
 * its kind, left out of the store, and blocks no other.
 *
 * <p>Reads only. RBAC (ClusterRole rules): {@code list, watch} on {@code namespaces, nodes, pods,
 * services} (core), {@code discovery.k8s.io endpointslices}, {@code networking.k8s.io
 * networkpolicies} and {@code cilium.io ciliumnetworkpolicies, ciliumclusterwidenetworkpolicies,
 * ciliumloadbalancerippools, ciliuml2announcementpolicies}; with l2announcements.enabled, {@code get,
 * create, update} on {@code coordination.k8s.io leases} (dev.sluice.agent.l2.KubeLeaseStore). The agent's writes are {@link CrdInstaller}'s.
 */
public final class KubernetesSource implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(KubernetesSource.class);
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
            new Resource(Kinds.CILIUM_LB_IP_POOL, "cilium.io", List.of("v2", "v2alpha1"), "ciliumloadbalancerippools", false),
            new Resource(Kinds.CILIUM_L2_ANNOUNCEMENT_POLICY, "cilium.io", List.of("v2alpha1"), "ciliuml2announcementpolicies", false));

    /**
     * @param retry how long to wait before listing a kind again after its list was refused (a CRD
     *              not installed), and the longest backoff after a failed list or watch
     * @param silence how long a watch may stay silent (no event, bookmark or pong to the pings sent
     *                every third of it) before it is taken for a dead connection and opened again
     */
    public record Config(Duration retry, Duration silence) {
        public static final Config DEFAULT = new Config(Duration.ofSeconds(10), Duration.ofSeconds(90));

        public Config(Duration retry) { this(retry, DEFAULT.silence); }

        public Config {
            if (retry.isNegative() || retry.isZero()) throw new IllegalArgumentException("retry: " + retry + " (expected: more than zero)");
            if (silence.compareTo(Duration.ofSeconds(1)) < 0) throw new IllegalArgumentException("silence: " + silence + " (expected: at least 1 s)");
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

    /** Lists are read in pages of this many objects. */
    static final int PAGE = 500;

    private final KubeApi api;
    private final ResourceStore store;
    private final Config config;
    private final Map<String, Watch> watches = new LinkedHashMap<>();
    private volatile Runnable onVersion = () -> { };
    private volatile boolean closed;

    public KubernetesSource(KubeApi api, ResourceStore store, Config config) {
        this.api = api;
        this.store = store;
        this.config = config;
        for (Resource r : RESOURCES) watches.put(r.kind(), new Watch(r));
    }

    public ResourceStore store() { return store; }

    /** Starts every kind's list and watch, each on a thread of its own; returns at once (see {@link #health()}). */
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

    /** Called after a kind's version advances (on the kind's thread; must not block). */
    public void onVersion(Runnable r) { onVersion = r; }

    /** Per kind, the resourceVersion the store holds every list and event up to (kinds not seen yet are absent). */
    public Map<String, Long> versions() {
        Map<String, Long> v = new TreeMap<>();
        watches.values().forEach(w -> {
            if (w.seen > 0) v.put(w.resource.kind(), w.seen);
        });
        return v;
    }

    /**
     * Every problem as one line: kinds that cannot be listed or are not watching after an error, and
     * objects that do not read.
     */
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
        watches.values().forEach(Watch::stop);
    }

    /** One kind: its list and watch loop, its health, and the conversion of its objects into the store. */
    private final class Watch {
        final Resource resource;
        volatile int version;
        volatile boolean synced;
        volatile boolean watching;
        volatile KubeApi.Watch open;
        volatile Thread thread;
        volatile long lists;
        volatile String lastError = "";
        final Map<Key, String> bad = new ConcurrentHashMap<>();
        /** The resourceVersion of the last list or event of this kind that reached the store. */
        volatile long seen;
        /** Where the watch resumes: the last resourceVersion of a list, event or bookmark ("" : list first). */
        String resume = "";

        Watch(Resource resource) { this.resource = resource; }

        void start() {
            // a platform thread made here: it opens its sockets in the caller's network namespace
            thread = Thread.ofPlatform().name("kubernetes-" + resource.plural()).daemon().stackSize(256 << 10).start(this::run);
        }

        void stop() {
            var w = open;
            if (w != null) w.close();
            var t = thread;
            if (t != null) t.interrupt();
        }

        private String path(int v) {
            return (resource.group().isEmpty() ? "/api/" : "/apis/" + resource.group() + "/") + resource.versions().get(v) + "/" + resource.plural();
        }

        private void run() {
            long backoff = 0;
            try {
                while (!closed) {
                    try {
                        if (resume.isEmpty() && !list()) {
                            pause(config.retry().toMillis()); // no version served: a CRD not installed
                            continue;
                        }
                        long began = System.nanoTime();
                        watch();
                        // the server ended the watch (its timeout): open it again at once, unless it ends them as they open
                        if (System.nanoTime() - began > 1_000_000_000L) {
                            backoff = 0;
                            continue;
                        }
                    } catch (KubeApi.ApiException e) {
                        if (closed) return;
                        failed(e);
                        if (e.code() == 410) {
                            resume = ""; // the version is gone: list again, now
                            continue;
                        }
                        if (e.code() != 0) resume = ""; // the API refused: list again after the backoff
                    } catch (RuntimeException e) {
                        if (closed) return;
                        failed(e);
                        resume = "";
                    }
                    backoff = Math.min(Math.max(200, backoff * 2), config.retry().toMillis());
                    pause(backoff);
                }
            } catch (InterruptedException e) {
                // closed
            }
        }

        private void pause(long millis) throws InterruptedException {
            if (!closed) Thread.sleep(millis);
        }

        /**
         * Lists the kind at the first API version served (Cilium serves some kinds at older versions
         * before a release): false when none is (404 on each).
         */
        private boolean list() {
            for (int v = version; v < resource.versions().size(); v++) {
                KubeApi.ListResult l;
                try {
                    l = api.list(path(v), PAGE);
                } catch (KubeApi.ApiException e) {
                    if (e.code() != 404) throw e;
                    version = v;
                    failed(e);
                    continue;
                }
                version = v;
                List<KubeObject> all = new ArrayList<>(l.items().size());
                Map<Key, String> nowBad = new HashMap<>();
                for (ObjectNode item : l.items()) {
                    try {
                        all.add(convert(item));
                    } catch (ManifestException e) {
                        nowBad.put(key(item), e.getMessage());
                    }
                }
                bad.keySet().retainAll(nowBad.keySet());
                bad.putAll(nowBad);
                store.replace(resource.kind(), all);
                resume = l.resourceVersion();
                saw(resume);
                lists++;
                synced = true;
                lastError = "";
                return true;
            }
            version = 0; // all refused: start from the preferred version next time
            return false;
        }

        /** Watches from {@link #resume} until the server ends the watch (returns) or it fails (throws). */
        private void watch() throws InterruptedException {
            KubeApi.Watch w = api.watch(path(version), resume, this::event);
            open = w;
            if (closed) { // close() ran while this watch was being opened: it did not see it
                w.close();
                return;
            }
            watching = true;
            try {
                long silence = config.silence().toNanos();
                while (!closed) {
                    try {
                        w.done().get(silence / 3, TimeUnit.NANOSECONDS);
                        return;
                    } catch (TimeoutException e) {
                        if (System.nanoTime() - w.lastHeard() > silence)
                            throw new KubeApi.ApiException(0, "the watch was silent for " + config.silence().toSeconds() + " s", null);
                        w.ping();
                    } catch (ExecutionException e) {
                        if (e.getCause() instanceof KubeApi.ApiException a) throw a;
                        throw new KubeApi.ApiException(0, "watch: " + e.getCause(), e.getCause());
                    }
                }
            } finally {
                watching = false;
                open = null;
                w.close();
            }
        }

        private void event(KubeApi.Event e) {
            ObjectNode o = e.object();
            String rv = o.path("metadata").path("resourceVersion").asString("");
            switch (e.type()) {
                case "ADDED", "MODIFIED" -> {
                    Key k = key(o);
                    try {
                        store.put(convert(o));
                        bad.remove(k);
                    } catch (ManifestException ex) {
                        // left out, as a manifest that does not read: a version that no longer reads is gone
                        bad.put(k, ex.getMessage());
                        store.remove(k);
                    }
                }
                case "DELETED" -> {
                    Key k = key(o);
                    bad.remove(k);
                    store.remove(k);
                }
                case "BOOKMARK" -> { }
                case "ERROR" -> throw new KubeApi.ApiException(o.path("code").asInt(0), o.path("message").asString("watch error"), null);
                default -> {
                    return;
                }
            }
            if (!rv.isEmpty()) resume = rv;
            saw(rv);
        }

        private void failed(Throwable t) {
            String e = describe(t);
            if (!e.equals(lastError)) log.warn("{} ({}): {}", resource.kind(), resource.apiVersion(version), e); // once, not every retry
            lastError = e;
        }

        KindHealth health() {
            long n = lists;
            return new KindHealth(resource.kind(), resource.apiVersion(version), synced, watching, n,
                    Math.max(0, n - 1), lastError, List.copyOf(new TreeMap<>(bad).values()));
        }

        /** Called after the store holds what {@code resourceVersion} covers; opaque (non-numeric) versions are not tracked. */
        private void saw(String resourceVersion) {
            try {
                long v = resourceVersion == null || resourceVersion.isEmpty() ? 0 : Long.parseLong(resourceVersion);
                if (v > seen) {
                    seen = v;
                    // a snapshot taken between the store write and here holds v but does not say so
                    onVersion.run();
                }
            } catch (NumberFormatException e) {
                // an API server whose versions are not numbers: nobody can wait on them
            }
        }

        private Key key(ObjectNode o) {
            var m = o.path("metadata");
            return new Key(resource.kind(), resource.namespaced() ? m.path("namespace").asString("") : "", m.path("name").asString(""));
        }

        private KubeObject convert(ObjectNode tree) {
            // list items come without kind and apiVersion; the path they came from says what they are
            if (!tree.hasNonNull("kind")) tree.put("kind", resource.kind());
            if (!tree.hasNonNull("apiVersion")) tree.put("apiVersion", resource.apiVersion(version));
            strip(resource.kind(), tree);
            return ManifestReader.object(ORIGIN, tree);
        }
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

    /** One line: the HTTP code and the API's message, without the stack of wrappers around it. */
    static String describe(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof KubeApi.ApiException k && k.code() == 404)
                return "not served by the API server (HTTP 404; expected: its CRD installed)";
            if (c instanceof KubeApi.ApiException k && k.code() > 0)
                return "HTTP " + k.code() + ": " + firstLine(k.getMessage());
            if (c instanceof KubeApi.ApiException k) return firstLine(k.getMessage());
        }
        Throwable root = t;
        while (root.getCause() != null) root = root.getCause();
        return firstLine(root.getClass().getSimpleName() + ": " + root.getMessage());
    }

    private static String firstLine(String s) {
        return s == null ? "" : s.lines().findFirst().orElse("");
    }
}
