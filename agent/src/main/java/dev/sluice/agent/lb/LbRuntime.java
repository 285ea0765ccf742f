package dev.sluice.agent.lb;

import dev.sluice.agent.reconcile.Decoded;
import dev.sluice.agent.reconcile.SnapshotDiff;
import dev.sluice.bpf.BpfMap;
import dev.sluice.config.Values;
import dev.sluice.datapath.DropReason;
import dev.sluice.datapath.NodeDatapath;
import dev.sluice.datapath.maps.CtEntry;
import dev.sluice.datapath.maps.CtKey;
import dev.sluice.datapath.maps.CtLimits;
import dev.sluice.datapath.maps.LbBackend;
import dev.sluice.datapath.maps.LbConfig;
import dev.sluice.datapath.maps.LbMaps;
import dev.sluice.datapath.maps.LbService;
import dev.sluice.datapath.maps.LbServiceKey;
import dev.sluice.datapath.maps.LbSlotKey;
import dev.sluice.datapath.maps.MetricsValue;
import dev.sluice.datapath.maps.NatEntry;
import dev.sluice.k8s.ClusterNode;
import dev.sluice.k8s.EndpointSlice;
import dev.sluice.k8s.Kinds;
import dev.sluice.k8s.KubeObject;
import dev.sluice.k8s.LbIpPool;
import dev.sluice.k8s.ManifestException;
import dev.sluice.k8s.Pod;
import dev.sluice.k8s.Service;
import dev.sluice.lb.Backend;
import dev.sluice.lb.Condition;
import dev.sluice.lb.Frontend;
import dev.sluice.lb.LbState;
import dev.sluice.lb.ServiceLb;
import dev.sluice.lb.ServiceModel;
import dev.sluice.lb.ServiceStatus;
import dev.sluice.net.Ip;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's kube-proxy replacement: decodes Services and LB IP pools from each snapshot, runs
 * the (long-lived, incremental) {@link ServiceModel}, reconciles this node's frontends into the
 * maps, runs conntrack GC periodically, and answers the API's service, lb, maglev, ct and nat
 * methods from the kernel maps. Errors are per Service and never stop other Services.
 */
public final class LbRuntime implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(LbRuntime.class);
    /** The per-node address a pod sees as the source when it reaches itself through a Service. */
    public static final String SERVICE_LOOPBACK = "169.254.42.1";
    /** Source NAT ports: above the kernel's default ephemeral range (32768-60999) and the NodePort range. */
    public static final int SNAT_MIN = 61000, SNAT_MAX = 65535;
    static final long GC_INTERVAL_SECONDS = Long.getLong("sluice.ctGcIntervalSeconds", 10);

    private final NodeDatapath datapath;
    private final LbMaps maps;
    private final Values values;
    private final String node;
    private ServiceModel model;
    private final LbReconciler reconciler;
    private final CtGc gc;
    private final ScheduledExecutorService timer;
    private volatile LbState state;
    private volatile Map<String, String> decodeErrors = Map.of();
    private Decoded<Service> serviceObjects = new Decoded<>(Kinds.SERVICE, Service::decode, Service::key);
    private Decoded<LbIpPool> poolObjects = new Decoded<>(Kinds.CILIUM_LB_IP_POOL, LbIpPool::decode, LbIpPool::name);
    private Decoded<EndpointSlice> sliceObjects = new Decoded<>(Kinds.ENDPOINT_SLICE, EndpointSlice::decode, EndpointSlice::key);

    /** max_entries per map from the values (applied before load; see NodeDatapath.load). */
    public static Map<String, Integer> mapSizes(Values v) {
        int lb = v.lbMapMax();
        Map<String, Integer> m = new LinkedHashMap<>();
        m.put(LbMaps.CT_TCP, v.ctTcpMax());
        m.put(LbMaps.CT_ANY, v.ctAnyMax());
        m.put(LbMaps.SERVICES, Math.min(lb, LbReconciler.MAX_FRONTEND_ID));
        m.put(LbMaps.REVERSE_NAT, Math.min(lb, LbReconciler.MAX_FRONTEND_ID));
        m.put(LbMaps.MAGLEV, Math.min(lb, LbReconciler.MAX_FRONTEND_ID));
        m.put(LbMaps.BACKENDS, lb);
        m.put(LbMaps.SLOTS, lb * 4);
        m.put(LbMaps.AFFINITY, lb);
        return m;
    }

    public LbRuntime(NodeDatapath datapath, Values values, String node) {
        this.datapath = datapath;
        this.maps = datapath.lb();
        this.values = values;
        this.node = node;
        int flags = (values.kubeProxyReplacement() ? LbConfig.ENABLED : 0) | (values.masquerade() ? LbConfig.MASQUERADE : 0)
                | (values.conntrackEnabled() ? 0 : LbConfig.STATELESS)
                | (values.dsr(true) ? LbConfig.DSR_TCP : 0) | (values.dsr(false) ? LbConfig.DSR_UDP : 0);
        maps.config().put(0, new LbConfig(Ip.parse(SERVICE_LOOPBACK), values.lbAlgorithm().equals("maglev") ? values.maglevTableSize() : 0,
                flags, SNAT_MIN, SNAT_MAX));
        maps.ctLimits().put(0, new CtLimits(values.ctTcpMax(), values.ctAnyMax()));
        this.reconciler = new LbReconciler(maps, node);
        this.model = freshModel();
        this.gc = new CtGc(maps, reconciler::affinityTimeout);
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().name("ct-gc").daemon().unstarted(r));
        timer.scheduleWithFixedDelay(this::gcQuietly, GC_INTERVAL_SECONDS, GC_INTERVAL_SECONDS, TimeUnit.SECONDS);
    }

    /** A model that keeps the backend ids the kernel already uses, so a restart rewrites nothing that is right. */
    private ServiceModel freshModel() {
        Map<dev.sluice.lb.BackendKey, Integer> ids = new HashMap<>();
        maps.backends().all().forEach((id, b) -> ids.put(new dev.sluice.lb.BackendKey(b.address(), b.port(), proto(b.proto())), id));
        return new ServiceModel(values, dev.sluice.lb.BackendIds.of(ids));
    }

    /**
     * Forgets what the changes built up (after a failed apply): the next {@link #apply} must get
     * the whole cluster as changes (a fresh {@link SnapshotDiff}) and programs it as after a restart,
     * against what the kernel holds.
     */
    public synchronized void resync() {
        serviceObjects = new Decoded<>(Kinds.SERVICE, Service::decode, Service::key);
        poolObjects = new Decoded<>(Kinds.CILIUM_LB_IP_POOL, LbIpPool::decode, LbIpPool::name);
        sliceObjects = new Decoded<>(Kinds.ENDPOINT_SLICE, EndpointSlice::decode, EndpointSlice::key);
        model = freshModel();
        reconciler.resync();
    }

    private static dev.sluice.k8s.Protocol proto(int n) {
        for (var p : dev.sluice.k8s.Protocol.values()) if (p.number == n) return p;
        return dev.sluice.k8s.Protocol.TCP;
    }

    private void gcQuietly() {
        try {
            CtGc.Stats s = gc.sweep();
            if (s.removedCt() + s.removedNat() + s.removedAffinity() > 0)
                log.debug("ct gc: removed {} ct, {} nat, {} affinity; {} tcp + {} other alive", s.removedCt(), s.removedNat(),
                        s.removedAffinity(), s.ctTcp(), s.ctAny());
        } catch (RuntimeException e) {
            log.warn("ct gc: {}", e.getMessage());
        }
    }

    /** The Services as the last apply computed them (null before the first). */
    public LbState state() { return state; }

    /** Runs GC now (the API's ct gc method and tests). */
    public CtGc.Stats gcNow() { return gc.sweep(); }

    /** The one conntrack walker of the node (its sweeps and CNI DEL's forget must not interleave). */
    public CtGc conntrack() { return gc; }

    /**
     * Programs the Services of one snapshot, given as its changes since the previous one (objects,
     * and the agent's decoded pods): the work follows the change. Undecodable Services are reported
     * under their name and left out; everything else is computed and written. Returns the reconcile counts.
     */
    public synchronized LbReconciler.Result apply(SnapshotDiff.Changes changes, Decoded.Changes<Pod> podChanges, List<ClusterNode> nodes) {
        long t0 = System.nanoTime();
        // Only what changed since the last snapshot is decoded and given to the model.
        var sc = serviceObjects.update(changes);
        sc.removed().forEach(model::removeService);
        sc.upserted().forEach(model::upsertService);
        var pc = poolObjects.update(changes);
        if (!pc.isEmpty()) model.setPools(poolObjects.values());
        podChanges.removed().forEach(model::removePod);
        podChanges.upserted().forEach(model::upsertPod);
        var ec = sliceObjects.update(changes);
        ec.removed().forEach(model::removeSlice);
        ec.upserted().forEach(model::upsertSlice);
        model.setNodes(nodes);
        LbState st = model.state();
        long t1 = System.nanoTime();
        LbReconciler.Result r = reconciler.reconcile(st, model.lastChanged());
        long t2 = System.nanoTime();
        state = st;
        if (serviceObjects.errorCount() + poolObjects.errorCount() + sliceObjects.errorCount() > 0 || !decodeErrors.isEmpty()) {
            Map<String, String> bad = new TreeMap<>(serviceObjects.errors());
            bad.putAll(poolObjects.errors());
            bad.putAll(sliceObjects.errors());
            decodeErrors = Map.copyOf(bad);
        }
        // the benchmark (scripts/bench-services.sh) reads this line
        log.info("services: {} Services, {} frontends here; wrote {} frontends, removed {}, backends +{} -{}; model {} ms, maps {} ms ({} us, {} us)",
                st.services().size(), reconciler.frontendCount(), r.frontendsWritten(), r.frontendsRemoved(), r.backendsWritten(), r.backendsRemoved(),
                (t1 - t0) / 1_000_000, (t2 - t1) / 1_000_000, (t1 - t0) / 1_000, (t2 - t1) / 1_000);
        return r;
    }

    // ---------------------------------------------------------------- API

    /** One line of a Service's status, as {@code sluice service list} shows it. */
    public record ConditionView(String level, String reason, String message) {}

    /** {@code services}: a Service, its addresses and ports, backends per port name, conditions. */
    public record ServiceView(String service, String type, String clusterIP, List<String> externalIPs, List<String> ingressIPs,
                              List<String> ports, List<Integer> nodePorts, Map<String, Integer> backends, List<ConditionView> conditions,
                              boolean ok) {}

    /** {@code lb}: one frontend in the kernel's service map, with its backend slots. */
    public record FrontendView(String frontend, int id, String type, List<String> flags, String service, List<SlotView> backends) {}

    public record SlotView(int slot, int id, String backend, String pod) {}

    /** {@code maglev}: one Service's Maglev tables on this node. */
    public record MaglevView(String node, String service, List<MaglevTableView> frontends) {}

    public record MaglevTableView(String frontend, int id, int size, List<MaglevBackendView> backends, int[] table) {}

    public record MaglevBackendView(int id, String backend, int slots) {}

    /** {@code ct}: one conntrack entry; {@code backend} only for service entries. */
    public record CtView(String proto, String src, String dst, String dir, long expiresIn, int revNatId, int backendId,
                         @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL) String backend,
                         String flags, int srcIdentity, long packets, long bytes) {}

    /** {@code nat}: one source NAT entry. */
    public record NatView(String proto, String dir, String src, String dst, String to, int revNatId, long expiresIn) {}

    /** The services part of the agent's status. */
    public record StatusView(boolean kubeProxyReplacement, String algorithm, int frontends, int services, ConntrackView conntrack, List<String> warnings) {}

    public record ConntrackView(@com.fasterxml.jackson.annotation.JsonUnwrapped CtGc.StatusView gc, long fillTcp, long fillAny, int maxTcp, int maxAny, long refusedFull) {}

    /** {@code services}: every Service with its status as the model computed it plus programming errors. */
    public List<ServiceView> services() { return services(""); }

    /** {@link #services()} of one type (ClusterIP, NodePort, LoadBalancer) only, or all when {@code type} is empty. */
    public List<ServiceView> services(String type) {
        LbState st = state;
        Map<String, List<String>> errs = reconciler.errors();
        Map<String, ServiceView> byKey = new TreeMap<>();
        if (st != null) {
            for (ServiceLb lb : st.services().values()) {
                ServiceStatus s = lb.status();
                if (!type.isEmpty() && !s.type().name().equals(type)) continue;
                List<String> external = new ArrayList<>(s.ingressIPs());
                Map<String, Integer> backends = new LinkedHashMap<>();
                for (Frontend f : lb.frontends()) {
                    if (f.type() == Frontend.Type.EXTERNAL_IP && !external.contains(Ip.format(f.ip()))) external.add(Ip.format(f.ip()));
                    backends.merge(f.portName(), f.backends().size(), Math::max);
                }
                List<String> ports = new ArrayList<>();
                for (Service.ServicePort p : lb.spec().ports()) {
                    int np = s.nodePorts().get(p.index());
                    ports.add(p.port() + (np > 0 ? ":" + np : "") + "/" + p.protocol());
                }
                List<ConditionView> conds = new ArrayList<>();
                for (String e : errs.getOrDefault(s.service(), List.of())) conds.add(new ConditionView("ERROR", "ProgrammingFailed", e));
                for (Condition c : s.conditions()) conds.add(new ConditionView(c.level().name(), c.reason(), c.message()));
                byKey.put(s.service(), new ServiceView(s.service(), s.type().name(), s.clusterIP(), external, s.ingressIPs(), ports,
                        s.nodePorts(), backends, conds, conds.stream().noneMatch(c -> c.level().equals("ERROR"))));
            }
        }
        if (type.isEmpty()) decodeErrors.forEach((k, e) -> byKey.put(k, new ServiceView(k, "", "", List.of(), List.of(), List.of(), List.of(), Map.of(),
                List.of(new ConditionView("ERROR", "InvalidSpec", e)), false)));
        return new ArrayList<>(byKey.values());
    }

    /** {@code lb}: the frontends and their backends as the kernel maps hold them on this node. */
    public List<FrontendView> lbList() {
        Map<LbServiceKey, String> owners = reconciler.frontendServices();
        Map<Integer, LbBackend> backends = maps.backends().all();
        Map<LbSlotKey, Integer> slots = maps.slots().all();
        Map<Integer, String> pods = new HashMap<>();
        LbState st = state;
        if (st != null) for (Backend b : st.backends()) pods.put(b.id(), b.pod() + " " + b.node());
        List<Map.Entry<LbServiceKey, LbService>> entries = new ArrayList<>(maps.services().all().entrySet());
        entries.sort(Comparator.comparing((Map.Entry<LbServiceKey, LbService> e) -> Integer.toUnsignedLong(e.getKey().address()))
                .thenComparingInt(e -> e.getKey().port()).thenComparingInt(e -> e.getKey().proto()));
        List<FrontendView> out = new ArrayList<>();
        for (var e : entries) {
            LbService v = e.getValue();
            out.add(view(e.getKey(), v, owners.getOrDefault(e.getKey(), ""), s -> slots.get(new LbSlotKey(v.id(), s)), backends::get, pods));
        }
        return out;
    }

    /** What the last {@link #apply} changed in the maps: the frontends written (from what was written, not read back) and the ids removed. */
    public record FrontendChanges(List<FrontendView> written, List<Integer> removed) {}

    /** The frontends the last {@link #apply} wrote or removed: what it cost, not what the node holds. */
    public synchronized FrontendChanges lastChanges() {
        List<FrontendView> written = new ArrayList<>();
        for (LbServiceKey k : reconciler.written()) {
            LbReconciler.Programmed p = reconciler.programmed(k);
            if (p == null) continue;
            written.add(view(k, p.value(), p.service(), s -> s <= p.slots().length ? p.slots()[s - 1] : null, reconciler::backend, Map.of()));
        }
        return new FrontendChanges(written, List.copyOf(reconciler.removedIds()));
    }

    private static FrontendView view(LbServiceKey k, LbService v, String service, java.util.function.IntFunction<Integer> slot,
                                     java.util.function.Function<Integer, LbBackend> backend, Map<Integer, String> pods) {
        List<SlotView> bs = new ArrayList<>();
        for (int s = 1; s <= v.count(); s++) {
            Integer bid = slot.apply(s);
            LbBackend b = bid == null ? null : backend.apply(bid);
            bs.add(new SlotView(s, bid == null ? 0 : bid, b == null ? "(missing)" : Ip.format(b.address()) + ":" + b.port(),
                    bid == null ? "" : pods.getOrDefault(bid, "")));
        }
        return new FrontendView(Ip.format(k.address()) + ":" + k.port() + "/" + protoName(k.proto()), v.id(), v.typeName(), flagNames(v), service, bs);
    }

    /** {@code maglev}: the Maglev tables of one Service's frontends on this node, read from the inner maps. */
    public MaglevView maglev(String service) {
        Map<LbServiceKey, String> owners = reconciler.frontendServices();
        Map<Integer, LbBackend> backends = maps.backends().all();
        List<MaglevTableView> tables = new ArrayList<>();
        boolean known = owners.containsValue(service);
        for (var e : maps.services().all().entrySet()) {
            if (!service.equals(owners.get(e.getKey()))) continue;
            LbService v = e.getValue();
            String frontend = Ip.format(e.getKey().address()) + ":" + e.getKey().port() + "/" + protoName(e.getKey().proto());
            var innerId = maps.maglev().lookup(LbReconciler.u32(v.id()));
            if (innerId.isEmpty()) {
                tables.add(new MaglevTableView(frontend, v.id(), 0, List.of(), new int[0]));
                continue;
            }
            int id = ByteBuffer.wrap(innerId.get()).order(ByteOrder.nativeOrder()).getInt();
            int[] table;
            try (BpfMap inner = BpfMap.openById(id)) {
                table = new int[inner.maxEntries()];
                for (var en : inner.entries()) {
                    int i = ByteBuffer.wrap(en.key()).order(ByteOrder.nativeOrder()).getInt();
                    if (i >= 0 && i < table.length) table[i] = ByteBuffer.wrap(en.value()).order(ByteOrder.nativeOrder()).getInt();
                }
            }
            Map<Integer, Integer> counts = new TreeMap<>();
            for (int b : table) counts.merge(b, 1, Integer::sum);
            List<MaglevBackendView> bl = new ArrayList<>();
            counts.forEach((b, c) -> {
                LbBackend be = backends.get(b);
                bl.add(new MaglevBackendView(b, be == null ? "(missing)" : Ip.format(be.address()) + ":" + be.port(), c));
            });
            tables.add(new MaglevTableView(frontend, v.id(), table.length, bl, table));
        }
        if (!known) throw new IllegalArgumentException("service " + service + ": no frontend on node " + node
                + " (expected: namespace/name of a Service with frontends here, see 'sluice service list')");
        return new MaglevView(node, service, tables);
    }

    /** {@code ct}: conntrack entries with remaining lifetime in seconds. */
    public List<CtView> ctList() {
        long now = System.nanoTime();
        List<CtView> out = new ArrayList<>();
        for (var map : List.of(maps.ctTcp(), maps.ctAny())) {
            for (var e : map.all().entrySet()) {
                CtKey k = e.getKey();
                CtEntry v = e.getValue();
                out.add(new CtView(protoName(k.proto()), Ip.format(k.saddr()) + ":" + k.sport(), Ip.format(k.daddr()) + ":" + k.dport(),
                        k.dirName(false), Math.max(0, (v.lifetime() - now) / 1_000_000_000L), v.revNatId(), v.backendId(),
                        k.dir() == CtKey.SERVICE ? Ip.format(v.natAddr()) + ":" + v.natPort() : null, v.flagNames(), v.srcIdentity(),
                        v.packets(), v.bytes()));
            }
        }
        out.sort(Comparator.comparing(CtView::src).thenComparing(CtView::dst));
        return out;
    }

    /** {@code nat}: source NAT entries (masquerade, NodePort to another node). */
    public List<NatView> natList() {
        long now = System.nanoTime();
        List<NatView> out = new ArrayList<>();
        for (var e : maps.snat().all().entrySet()) {
            CtKey k = e.getKey();
            NatEntry v = e.getValue();
            out.add(new NatView(protoName(k.proto()), k.dirName(true), Ip.format(k.saddr()) + ":" + k.sport(), Ip.format(k.daddr()) + ":" + k.dport(),
                    Ip.format(v.toAddr()) + ":" + v.toPort(), v.revNatId(), Math.max(0, (v.lifetime() - now) / 1_000_000_000L)));
        }
        out.sort(Comparator.comparing(NatView::dir).thenComparing(NatView::src));
        return out;
    }

    /** For the agent's status: frontends, GC counts, CT fill and refused flows (DROP_CT_FULL), warnings. */
    public StatusView status() {
        LbState st = state;
        long full = 0;
        for (var e : datapath.metrics().allPerCpu().entrySet())
            if (e.getKey().reason() == DropReason.CT_FULL.code)
                full += e.getValue().stream().mapToLong(MetricsValue::packets).sum();
        var ct = new ConntrackView(gc.status(), maps.ctFill().get(0).orElse(0L), maps.ctFill().get(1).orElse(0L), values.ctTcpMax(),
                values.ctAnyMax(), full);
        List<String> warnings = new ArrayList<>(st == null ? List.of() : st.warnings());
        if (full > 0)
            warnings.add("conntrack table full: " + full + " new flows refused (DROP_CT_FULL); raise bpf.ctTcpMax / bpf.ctAnyMax");
        reconciler.errors().forEach((k, v) -> warnings.add("service " + k + ": " + String.join("; ", v)));
        return new StatusView(values.kubeProxyReplacement(), values.lbAlgorithm(), reconciler.frontendCount(), st == null ? 0 : st.services().size(),
                ct, warnings);
    }

    static String protoName(int p) {
        return switch (p) {
            case 6 -> "TCP";
            case 17 -> "UDP";
            case 1 -> "ICMP";
            case 132 -> "SCTP";
            default -> Integer.toString(p);
        };
    }

    static List<String> flagNames(LbService v) {
        List<String> f = new ArrayList<>();
        if ((v.flags() & LbService.AFFINITY) != 0) f.add("affinity=" + v.affinityTimeout() + "s");
        if ((v.flags() & LbService.LOCAL) != 0) f.add("local");
        if ((v.flags() & LbService.PRESERVE_CLIENT) != 0) f.add("preserve-client");
        if ((v.flags() & LbService.MAGLEV) != 0) f.add("maglev");
        f.add((v.flags() & LbService.REJECT) != 0 ? "no-backend=reject" : "no-backend=drop");
        return f;
    }

    @Override public void close() { timer.shutdownNow(); }
}
