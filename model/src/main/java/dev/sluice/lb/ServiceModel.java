package dev.sluice.lb;

import dev.sluice.config.Values;
import dev.sluice.k8s.ClusterNode;
import dev.sluice.k8s.EndpointSlice;
import dev.sluice.k8s.LbIpPool;
import dev.sluice.k8s.Pod;
import dev.sluice.k8s.Protocol;
import dev.sluice.k8s.Service;
import dev.sluice.maglev.Maglev;
import dev.sluice.maglev.MaglevTable;
import dev.sluice.net.Ip;
import dev.sluice.util.PersistentSortedMap;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Services, pods, nodes and pools in; {@link LbState} out. Used two ways with the same result:
 * {@link #compute} from scratch, or one long-lived instance fed changes ({@link #upsertService},
 * {@link #upsertPod}, ...) whose {@link #state()} recomputes only the Services a change can affect.
 * The result depends only on the inputs and the ids already in {@link BackendIds}; from scratch,
 * backend ids are 1..n in (ip, port, protocol) order.
 *
 * <p>Endpoints: pods in the Service's namespace whose labels contain the selector and that are
 * ready (status.podIP and spec.nodeName set). A named targetPort is resolved per pod; a pod without
 * that port is not a backend for that port. A port with no backend keeps its frontends with zero
 * backends (the data path rejects or drops per serviceNoBackendResponse).
 *
 * <p>Not thread-safe; no global state. A change of Values means a new instance.
 */
public final class ServiceModel {
    /** From how many Services to recompute on all cores. */
    static final int PARALLEL = 512;
    private final Values values;
    private final BackendIds ids;
    private final Maglev.Seed seed;
    private final boolean maglev;
    private final TreeMap<String, Service> services = new TreeMap<>();
    private final Map<String, Pod> pods = new HashMap<>();
    /** namespace -> "key\0value" -> pod keys: selecting a Service's pods without scanning the namespace. */
    private final Map<String, Map<String, Set<String>>> podIndex = new HashMap<>();
    /** namespace -> one "key\0value" of the selector -> Service keys: which Services a pod change can touch. */
    private final Map<String, Map<String, Set<String>>> serviceIndex = new HashMap<>();
    /** EndpointSlices by {@code ns/name}, and the slice keys of each Service ({@code ns/name}) that has any. */
    private final Map<String, EndpointSlice> slices = new HashMap<>();
    private final Map<String, Set<String>> slicesByService = new HashMap<>();
    private List<ClusterNode> nodes = List.of();
    private List<LbIpPool> pools = List.of();
    /**
     * Per Service its result; each state holds the map as it was then, which shares all but the
     * changed Services' paths with the one before (publishing a state costs its changes, not a copy).
     */
    private PersistentSortedMap<String, ServiceLb> results = PersistentSortedMap.empty();
    private Map<String, Allocator.Alloc> allocs = Map.of();
    private final Set<String> dirty = new HashSet<>();
    /** Services whose change moves no other Service's claims (see Allocator.onlyOwnShare): only their own share is redone. */
    private final Set<String> allocOwn = new HashSet<>();
    /** New ClusterIP-only Services whose address no other Service holds: allocated alone (their claim moves nobody's). */
    private final Set<String> allocAlone = new HashSet<>();
    /** clusterIP -> the Services holding it, to tell when a Service's address is contested. */
    private final Map<String, Set<String>> byClusterIp = new HashMap<>();
    private boolean allDirty = true;
    /** Allocations depend on Services (not on their selectors) and pools only, never on pods. */
    private boolean allocDirty = true;
    private boolean first = true;
    /** The last state returned: returned again while nothing changed. */
    private LbState last;
    private Set<String> lastChanged = Set.of();

    public ServiceModel(Values values) { this(values, new BackendIds()); }

    /** @param ids ids to keep (e.g. read back from the data path); the model owns it from now on */
    public ServiceModel(Values values, BackendIds ids) {
        this.values = values;
        this.ids = ids;
        this.seed = Maglev.Seed.of(values.maglevHashSeed());
        this.maglev = values.lbAlgorithm().equals("maglev");
    }

    /** From scratch. */
    public static LbState compute(Collection<Service> services, Collection<Pod> pods, Collection<ClusterNode> nodes,
                                  Collection<LbIpPool> pools, Values values) {
        return compute(services, pods, List.of(), nodes, pools, values);
    }

    /** From scratch, with EndpointSlices. */
    public static LbState compute(Collection<Service> services, Collection<Pod> pods, Collection<EndpointSlice> endpointSlices,
                                  Collection<ClusterNode> nodes, Collection<LbIpPool> pools, Values values) {
        var m = new ServiceModel(values);
        services.forEach(m::upsertService);
        pods.forEach(m::upsertPod);
        endpointSlices.forEach(m::upsertSlice);
        m.setNodes(nodes);
        m.setPools(pools);
        return m.state();
    }

    public void upsertService(Service s) {
        Service old = services.put(s.key(), s);
        if (s.equals(old)) return;
        if (old != null) {
            unindex(old);
            unholdIp(old);
        }
        index(s);
        holdIp(s);
        dirty.add(s.key());
        if (old != null && Allocator.onlyOwnShare(old, s)) allocOwn.add(s.key());
        else if (old == null && uncontested(s)) allocAlone.add(s.key());
        else if (old == null || !Allocator.inputs(old).equals(Allocator.inputs(s))) allocDirty = true;
    }

    public void removeService(String key) {
        Service old = services.remove(key);
        if (old == null) return;
        unindex(old);
        unholdIp(old);
        dirty.add(key);
        allocOwn.remove(key);
        // a ClusterIP-only Service whose address nobody else holds frees nothing anyone waits for
        if (!allocAlone.remove(key) && !uncontested(old)) allocDirty = true;
    }

    /** A ClusterIP-only Service (no nodePorts, external or LoadBalancer addresses) alone on its address: its allocation is its own. */
    private boolean uncontested(Service s) {
        if (!Allocator.clusterIpOnly(s)) return false;
        Set<String> holders = byClusterIp.get(s.clusterIP());
        return s.clusterIP().isEmpty() || holders == null || holders.equals(Set.of(s.key()));
    }

    private void holdIp(Service s) {
        if (!s.clusterIP().isEmpty()) byClusterIp.computeIfAbsent(s.clusterIP(), k -> new HashSet<>()).add(s.key());
    }

    private void unholdIp(Service s) {
        Set<String> h = byClusterIp.get(s.clusterIP());
        if (h == null) return;
        h.remove(s.key());
        if (h.isEmpty()) byClusterIp.remove(s.clusterIP());
    }

    public void upsertPod(Pod p) {
        Pod old = pods.put(p.key(), p);
        if (p.equals(old)) return;
        if (old != null) {
            unindex(old);
            markSelecting(old);
        }
        index(p);
        markSelecting(p);
    }

    public void removePod(String key) {
        Pod old = pods.remove(key);
        if (old == null) return;
        unindex(old);
        markSelecting(old);
    }

    /**
     * An EndpointSlice: a Service with at least one slice takes its backends from its slices only
     * (as kube-proxy and Cilium do); one without any, from the ready pods its selector matches (the
     * lab with a manifest directory has no endpoint controller).
     */
    public void upsertSlice(EndpointSlice e) {
        EndpointSlice old = slices.put(e.key(), e);
        if (e.equals(old)) return;
        if (old != null) unindexSlice(old);
        if (!e.serviceKey().isEmpty()) {
            slicesByService.computeIfAbsent(e.serviceKey(), k -> new java.util.TreeSet<>()).add(e.key());
            dirty.add(e.serviceKey());
        }
    }

    public void removeSlice(String key) {
        EndpointSlice old = slices.remove(key);
        if (old != null) unindexSlice(old);
    }

    private void unindexSlice(EndpointSlice e) {
        if (e.serviceKey().isEmpty()) return;
        Set<String> set = slicesByService.get(e.serviceKey());
        set.remove(e.key());
        if (set.isEmpty()) slicesByService.remove(e.serviceKey());
        dirty.add(e.serviceKey());
    }

    /** Nodes matter to every Service (NodePort addresses, Local traffic policies): all are recomputed. */
    public void setNodes(Collection<ClusterNode> n) {
        List<ClusterNode> sorted = n.stream().sorted(Comparator.comparing(ClusterNode::name)).toList();
        if (!sorted.equals(nodes)) {
            nodes = sorted;
            allDirty = true;
        }
    }

    /** Pools only change allocations, which {@link #state()} compares per Service. */
    public void setPools(Collection<LbIpPool> p) {
        List<LbIpPool> sorted = p.stream().sorted(Comparator.comparing(LbIpPool::name)).toList();
        if (!sorted.equals(pools)) {
            pools = sorted;
            allocDirty = true;
        }
    }

    /**
     * The Services (namespace/name) the last {@link #state()} recomputed, added or removed: every
     * other Service's {@link ServiceLb} is the same object as in the state before, so a consumer can
     * look at these alone instead of comparing all Services.
     */
    public Set<String> lastChanged() { return lastChanged; }

    /** Backend ids in use, sorted by key. */
    public Map<BackendKey, Integer> backendIds() { return ids.snapshot(); }

    public LbState state() {
        if (last != null && !allocDirty && !allDirty && dirty.isEmpty() && allocOwn.isEmpty() && allocAlone.isEmpty()) {
            lastChanged = Set.of();
            return last;
        }
        Map<String, Allocator.Alloc> next = allocs;
        Set<String> todo = new TreeSet<>();
        if (allocDirty) {
            next = Allocator.allocate(List.copyOf(services.values()), pools, values);
            for (String k : services.keySet()) if (!Objects.equals(next.get(k), allocs.get(k))) todo.add(k);
        } else if (!allocOwn.isEmpty() || !allocAlone.isEmpty() || allocs.size() != services.size()) {
            // in place, at the cost of the change: removed Services are in dirty
            next = allocs instanceof HashMap<String, Allocator.Alloc> h ? h : new HashMap<>(allocs);
            for (String k : dirty) if (!services.containsKey(k)) next.remove(k);
            if (next.size() > services.size()) next.keySet().retainAll(services.keySet());
            for (String k : allocOwn) {
                Service s = services.get(k);
                if (s != null) next.put(k, Allocator.ownShare(s, next.get(k)));
            }
            // what the cluster-wide pass gives a Service that claims nothing anyone else holds is what it gives it alone
            for (String k : allocAlone) {
                Service s = services.get(k);
                if (s != null) next.put(k, Allocator.allocate(List.of(s), pools, values).get(k));
            }
        }
        allocOwn.clear();
        allocAlone.clear();
        if (allDirty) todo.addAll(services.keySet());
        todo.addAll(dirty); // removed Services are in dirty too

        Map<String, List<Draft>> drafts = new LinkedHashMap<>();
        Map<String, List<Condition>> conds = new HashMap<>();
        List<BackendKey> acquire = new ArrayList<>();
        // Each Service's frontends and endpoints depend only on the (here unchanging) indexes: when
        // many must be computed (a start, a node change), they are computed in parallel, then taken in order.
        List<String> keys = new ArrayList<>(todo);
        Map<String, Allocator.Alloc> nextAllocs = next;
        @SuppressWarnings("unchecked") List<Draft>[] ds = new List[keys.size()];
        @SuppressWarnings("unchecked") List<Condition>[] cs = new List[keys.size()];
        java.util.stream.IntStream range = java.util.stream.IntStream.range(0, keys.size());
        (keys.size() >= PARALLEL ? range.parallel() : range).forEach(i -> {
            Service s = services.get(keys.get(i));
            if (s == null) return;
            cs[i] = new ArrayList<>(nextAllocs.get(keys.get(i)).conditions());
            ds[i] = drafts(s, nextAllocs.get(keys.get(i)), cs[i]);
        });
        for (int i = 0; i < keys.size(); i++) {
            if (ds[i] == null) continue;
            drafts.put(keys.get(i), ds[i]);
            conds.put(keys.get(i), cs[i]);
            acquire.addAll(keys(ds[i]));
        }
        // Acquire before release: a backend moving between Services keeps its id.
        Collections.sort(acquire);
        ids.acquire(acquire);
        for (String k : todo) {
            ServiceLb old = results.get(k);
            if (old != null) ids.release(oldKeys(old));
        }
        if (first) {
            ids.sweep();
            first = false;
        }
        Map<List<BackendKey>, MaglevTable> tables = maglev ? tables(drafts) : Map.of();
        for (String k : todo) {
            Service s = services.get(k);
            results = s == null ? results.without(k) : results.with(k, build(s, next.get(k), drafts.get(k), conds.get(k), results.get(k), tables));
        }
        allocs = next;
        lastChanged = Collections.unmodifiableSet(todo);
        dirty.clear();
        allDirty = false;
        allocDirty = false;
        List<String> warnings = new ArrayList<>();
        if (ids.size() > values.lbMapMax())
            warnings.add("bpf.lbMapMax: " + values.lbMapMax() + " (expected: at least the " + ids.size() + " backends in use)");
        last = new LbState(values.lbAlgorithm(), values.serviceNoBackendResponse(), maglev ? values.maglevTableSize() : 0,
                nodes.stream().map(ClusterNode::name).toList(), results, List.copyOf(warnings));
        return last;
    }

    // ---- endpoints and frontends of one Service ----

    private record Ep(BackendKey key, String node, String pod) {}

    private record Draft(String node, int ip, int port, Protocol protocol, Frontend.Type type, Set<Frontend.Flag> flags,
                         String portName, List<Ep> eps) {}

    private List<Draft> drafts(Service s, Allocator.Alloc a, List<Condition> conds) {
        List<Draft> out = new ArrayList<>();
        if (s.headless()) {
            conds.add(Condition.info("Headless", Allocator.message(s, "spec.clusterIP",
                    "None: headless, so no virtual address and no load balancing (DNS answers with the pod addresses)")));
            return out;
        }
        if (!s.hasClusterIP())
            conds.add(Condition.info("ClusterIPNotAllocated", Allocator.message(s, "spec.clusterIP",
                    "not allocated yet (the API server, or the lab, allocates one from serviceCIDR)")));
        Set<String> sliceKeys = slicesByService.get(s.key());
        if (s.selector().isEmpty() && sliceKeys == null)
            conds.add(Condition.info("NoSelector", Allocator.message(s, "spec.selector",
                    "empty and no EndpointSlice labeled " + EndpointSlice.SERVICE_NAME_LABEL + "=" + s.name() + ", so no backends")));
        List<Pod> selected = sliceKeys == null ? selected(s) : List.of();
        Set<Frontend.Flag> base = s.clientIpAffinity() ? EnumSet.of(Frontend.Flag.AFFINITY) : EnumSet.noneOf(Frontend.Flag.class);
        for (Service.ServicePort p : s.ports()) {
            List<Ep> eps = sliceKeys == null ? endpoints(p, selected) : sliceEndpoints(p, sliceKeys);
            if (eps.isEmpty() && sliceKeys != null)
                conds.add(Condition.info("NoBackends", Allocator.message(s, p.path(), p.label() + ": no ready backend (no ready endpoint with port "
                        + (p.name().isEmpty() ? "(unnamed)" : p.name()) + "/" + p.protocol() + " in the Service's EndpointSlices); the data path "
                        + (values.serviceNoBackendResponse().equals("reject") ? "answers ICMP unreachable" : "drops the packets"))));
            else if (eps.isEmpty() && !s.selector().isEmpty())
                conds.add(Condition.info("NoBackends", Allocator.message(s, p.path(), p.label() + ": no ready backend (the selector matches no ready pod"
                        + (p.targetPortName().isEmpty() ? "" : " with a container port named " + p.targetPortName() + "/" + p.protocol())
                        + "); the data path " + (values.serviceNoBackendResponse().equals("reject") ? "answers ICMP unreachable" : "drops the packets"))));
            String name = p.label();
            if (a.clusterIpOk())
                local(out, Frontend.Type.CLUSTER_IP, Ip.parse(s.clusterIP()), p, eps, base, s.internalLocal(), false, name);
            int np = a.nodePorts().get(p.index());
            if (np > 0) {
                for (ClusterNode n : nodes) {
                    if (n.internalIP().isEmpty()) continue;
                    Set<Frontend.Flag> f = flags(base, s.externalLocal(), true);
                    out.add(new Draft(n.name(), Ip.parse(n.internalIP()), np, p.protocol(), Frontend.Type.NODE_PORT, f, name,
                            s.externalLocal() ? onNode(eps, n.name()) : eps));
                }
            }
            for (int ip : a.externalIPs()) local(out, Frontend.Type.EXTERNAL_IP, ip, p, eps, base, s.externalLocal(), true, name);
            for (int ip : a.lbIPs()) local(out, Frontend.Type.LOAD_BALANCER, ip, p, eps, base, s.externalLocal(), true, name);
        }
        return out;
    }

    private static Set<Frontend.Flag> flags(Set<Frontend.Flag> base, boolean local, boolean external) {
        EnumSet<Frontend.Flag> f = base.isEmpty() ? EnumSet.noneOf(Frontend.Flag.class) : EnumSet.copyOf(base);
        if (local) f.add(Frontend.Flag.LOCAL);
        if (local && external) f.add(Frontend.Flag.PRESERVE_CLIENT);
        return Collections.unmodifiableSet(f);
    }

    /** One frontend for all nodes, or with a Local policy one per node with that node's backends. */
    private void local(List<Draft> out, Frontend.Type type, int ip, Service.ServicePort p, List<Ep> eps,
                       Set<Frontend.Flag> base, boolean local, boolean external, String name) {
        Set<Frontend.Flag> f = flags(base, local, external);
        if (!local) {
            out.add(new Draft("", ip, p.port(), p.protocol(), type, f, name, eps));
            return;
        }
        for (ClusterNode n : nodes) out.add(new Draft(n.name(), ip, p.port(), p.protocol(), type, f, name, onNode(eps, n.name())));
    }

    private static List<Ep> onNode(List<Ep> eps, String node) {
        return eps.stream().filter(e -> e.node().equals(node)).toList();
    }

    /** The ready IPv4 endpoints of a Service's slices for one port: the slice port of the same name and protocol. */
    private List<Ep> sliceEndpoints(Service.ServicePort p, Set<String> sliceKeys) {
        TreeMap<BackendKey, Ep> out = new TreeMap<>();
        for (String k : sliceKeys) {
            EndpointSlice e = slices.get(k);
            if (e == null || !e.ipv4()) continue;
            int port = 0;
            for (var sp : e.ports()) if (sp.name().equals(p.name()) && sp.protocol() == p.protocol()) port = sp.port();
            if (port == 0) continue;
            for (var ep : e.endpoints()) {
                if (!ep.ready()) continue;
                for (String a : ep.addresses()) {
                    if (!Ip.isIpv4(a)) continue;
                    BackendKey bk = new BackendKey(Ip.parse(a), port, p.protocol());
                    out.putIfAbsent(bk, new Ep(bk, ep.nodeName(), ep.pod()));
                }
            }
        }
        return List.copyOf(out.values());
    }

    private static List<Ep> endpoints(Service.ServicePort p, List<Pod> selected) {
        TreeMap<BackendKey, Ep> out = new TreeMap<>();
        for (Pod pod : selected) {
            int target = p.targetPort();
            if (!p.targetPortName().isEmpty()) {
                var cp = pod.namedPort(p.targetPortName(), p.protocol());
                if (cp.isEmpty()) continue;
                target = cp.get().port();
            }
            BackendKey k = new BackendKey(Ip.parse(pod.podIP()), target, p.protocol());
            out.putIfAbsent(k, new Ep(k, pod.nodeName(), pod.key()));
        }
        return List.copyOf(out.values());
    }

    private static boolean ready(Pod p) {
        return !p.nodeName().isEmpty() && Ip.isIpv4(p.podIP());
    }

    private static List<BackendKey> keys(List<Draft> drafts) {
        Set<BackendKey> out = new HashSet<>();
        for (Draft d : drafts) for (Ep e : d.eps()) out.add(e.key());
        return new ArrayList<>(out);
    }

    private static Set<BackendKey> oldKeys(ServiceLb old) {
        Set<BackendKey> out = new HashSet<>();
        for (Frontend f : old.frontends()) for (Backend b : f.backends()) out.add(b.key());
        return out;
    }

    /**
     * The Maglev tables the recomputed Services need, one per distinct backend list, built in
     * parallel: at M=16381 a table is ~0.5 ms, the bulk of a full computation. Tables depend only
     * on the backend keys, so unchanged backend sets reuse the old table, and frontends sharing a
     * backend set (ClusterIP, NodePorts, ...) share one table. Deterministic: pure per list.
     */
    private Map<List<BackendKey>, MaglevTable> tables(Map<String, List<Draft>> drafts) {
        Map<List<BackendKey>, MaglevTable> out = new HashMap<>();
        Set<List<BackendKey>> need = new HashSet<>();
        for (var e : drafts.entrySet()) {
            ServiceLb old = results.get(e.getKey());
            if (old != null)
                for (Frontend f : old.frontends())
                    if (f.maglev() != null) out.putIfAbsent(f.backends().stream().map(Backend::key).toList(), f.maglev());
            for (Draft d : e.getValue()) need.add(d.eps().stream().map(Ep::key).toList());
        }
        need.removeAll(out.keySet());
        var stream = need.size() > 16 ? need.parallelStream() : need.stream();
        out.putAll(stream.collect(java.util.stream.Collectors.toConcurrentMap(x -> x,
                x -> Maglev.build(x.stream().map(BackendKey::name).toList(), values.maglevTableSize(), seed))));
        return out;
    }

    private ServiceLb build(Service s, Allocator.Alloc a, List<Draft> drafts, List<Condition> conds, ServiceLb old,
                            Map<List<BackendKey>, MaglevTable> tables) {
        List<Frontend> fs = new ArrayList<>(drafts.size());
        for (Draft d : drafts) {
            List<Backend> bs = new ArrayList<>(d.eps().size());
            for (Ep e : d.eps())
                bs.add(new Backend(ids.idOf(e.key()), e.key().ip(), e.key().port(), e.key().protocol(), e.node(), e.pod(), 1, Backend.State.ACTIVE));
            MaglevTable t = null;
            if (maglev) {
                List<BackendKey> ks = d.eps().stream().map(Ep::key).toList();
                t = tables.get(ks);
            }
            fs.add(new Frontend(d.node(), d.ip(), d.port(), d.protocol(), d.type(), d.flags(),
                    s.clientIpAffinity() ? s.affinityTimeoutSeconds() : 0, s.key(), d.portName(), List.copyOf(bs), t));
        }
        fs.sort(LbState.ORDER);
        List<Condition> sorted = new ArrayList<>(conds);
        sorted.sort(Comparator.comparing(Condition::level).reversed()); // errors first, stable otherwise
        var status = new ServiceStatus(s.key(), s.type(), s.clusterIP(), a.lbIPs().stream().map(Ip::format).toList(),
                a.nodePorts(), List.copyOf(sorted));
        return new ServiceLb(s.key(), s, status, List.copyOf(fs));
    }

    // ---- pod selection ----

    private static String kv(String k, String v) { return k + '\0' + v; }

    private void index(Pod p) {
        var ns = podIndex.computeIfAbsent(p.namespace(), x -> new HashMap<>());
        p.labels().forEach((k, v) -> ns.computeIfAbsent(kv(k, v), x -> new HashSet<>()).add(p.key()));
    }

    private void unindex(Pod p) {
        var ns = podIndex.get(p.namespace());
        p.labels().forEach((k, v) -> {
            Set<String> set = ns.get(kv(k, v));
            set.remove(p.key());
            if (set.isEmpty()) ns.remove(kv(k, v));
        });
    }

    /** A Service is indexed under its selector's first entry: a pod matching it must have that label. */
    private void index(Service s) {
        if (s.selector().isEmpty()) return;
        var e = s.selector().entrySet().iterator().next();
        serviceIndex.computeIfAbsent(s.namespace(), x -> new HashMap<>()).computeIfAbsent(kv(e.getKey(), e.getValue()), x -> new HashSet<>()).add(s.key());
    }

    private void unindex(Service s) {
        if (s.selector().isEmpty()) return;
        var e = s.selector().entrySet().iterator().next();
        var ns = serviceIndex.get(s.namespace());
        Set<String> set = ns.get(kv(e.getKey(), e.getValue()));
        set.remove(s.key());
        if (set.isEmpty()) ns.remove(kv(e.getKey(), e.getValue()));
    }

    /** Marks the Services in the pod's namespace whose selector matches it. */
    private void markSelecting(Pod p) {
        var ns = serviceIndex.get(p.namespace());
        if (ns == null) return;
        for (var l : p.labels().entrySet()) {
            Set<String> keys = ns.get(kv(l.getKey(), l.getValue()));
            if (keys == null) continue;
            for (String k : keys) if (matches(services.get(k).selector(), p.labels())) dirty.add(k);
        }
    }

    static boolean matches(Map<String, String> selector, Map<String, String> labels) {
        for (var e : selector.entrySet()) if (!e.getValue().equals(labels.get(e.getKey()))) return false;
        return true;
    }

    /** Ready pods the selector matches, found through the smallest label posting list. */
    private List<Pod> selected(Service s) {
        if (s.selector().isEmpty()) return List.of();
        var ns = podIndex.get(s.namespace());
        if (ns == null) return List.of();
        Set<String> smallest = null;
        for (var e : s.selector().entrySet()) {
            Set<String> set = ns.get(kv(e.getKey(), e.getValue()));
            if (set == null) return List.of();
            if (smallest == null || set.size() < smallest.size()) smallest = set;
        }
        List<Pod> out = new ArrayList<>();
        for (String k : smallest) {
            Pod p = pods.get(k);
            if (ready(p) && matches(s.selector(), p.labels())) out.add(p);
        }
        return out;
    }
}
