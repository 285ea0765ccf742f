package dev.sluice.agent;

import dev.sluice.agent.api.AgentClient;
import dev.sluice.agent.api.ApiServer;
import dev.sluice.agent.cni.CniHandler;
import dev.sluice.agent.cni.CniInstaller;
import dev.sluice.agent.endpoint.Endpoint;
import dev.sluice.agent.endpoint.EndpointManager;
import dev.sluice.agent.health.AgentProbes;
import dev.sluice.agent.health.HealthServer;
import dev.sluice.agent.ipam.IpamStore;
import dev.sluice.agent.node.NodeReconciler;
import dev.sluice.agent.policy.PolicyReconciler;
import dev.sluice.agent.source.ClusterSource;
import dev.sluice.agent.source.KubernetesClusterSource;
import dev.sluice.agent.source.KubernetesSource;
import dev.sluice.agent.source.Snapshot;
import dev.sluice.agent.store.ResourceStore;
import dev.sluice.config.Values;
import dev.sluice.datapath.DropReason;
import dev.sluice.datapath.NodeDatapath;
import dev.sluice.datapath.maps.IpcacheKey;
import dev.sluice.datapath.maps.IpcacheValue;
import dev.sluice.datapath.maps.MetricsKey;
import dev.sluice.datapath.maps.MetricsValue;
import dev.sluice.datapath.maps.NodeConfig;
import dev.sluice.ipcache.IpcacheModel;
import dev.sluice.k8s.ClusterNode;
import dev.sluice.k8s.KubeObject;
import dev.sluice.k8s.Kinds;
import dev.sluice.k8s.ManifestException;
import dev.sluice.k8s.Pod;
import dev.sluice.net.Ip;
import dev.sluice.net.Mtu;
import dev.sluice.netlink.IpRoute;
import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;

/**
 * One node's agent. Starts in dependency order (values, health endpoints, cluster state from the
 * manifest directory or the Kubernetes API, IPAM, data
 * path, endpoints, reconcile, API, watch, CNI install) and stops in reverse. Stopping leaves the data path
 * in the kernel: maps stay pinned and programs attached, so pods keep their connectivity while no
 * agent runs.
 */
public final class Agent implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Agent.class);
    public static final String TUNNEL_DEV = "sluice_vxlan";

    private final AgentConfig cfg;
    private Values values;
    private Values.RoutingMode mode;
    private ClusterNode self;
    private int underlayMtu, podMtu;
    private IpamStore ipam;
    // Read by the health probes' threads while start() runs.
    private volatile NodeDatapath datapath;
    private volatile List<String> attachTo = List.of();
    private HealthServer health;
    private CniInstaller cniInstaller;
    private EndpointManager endpoints;
    private NodeReconciler reconciler;
    private dev.sluice.agent.lb.LbRuntime lb;
    /** Null unless l2announcements.enabled. */
    private dev.sluice.agent.l2.L2Announcer l2;
    private dev.sluice.agent.lb.SocketLb socketLb;
    private ClusterSource source;
    private ApiServer api;
    private PolicyReconciler policy;
    /** The L7 proxies (HTTP, DNS) and the FQDN cache; they start when a policy first needs them. */
    private volatile dev.sluice.agent.l7.L7Runtime l7;
    private final Object l7Lock = new Object();
    private Monitor monitor;
    private dev.sluice.agent.flow.FlowObserver flows;
    /** Hubble's agent events (GetAgentEvents), the last 4095. */
    private final dev.sluice.agent.flow.AgentEvents agentEvents = new dev.sluice.agent.flow.AgentEvents(4095);
    /** Hubble's Observer and Peer API when hubble.enabled (dev.sluice.agent.hubble). */
    private AutoCloseable hubbleApi;
    /** Null when prometheus.enabled is false. */
    private dev.sluice.agent.metrics.AgentMetrics metrics;
    /** Null when no hubble metric is enabled. */
    private dev.sluice.agent.metrics.HubbleMetrics hubbleMetrics;
    private final List<dev.sluice.agent.metrics.MetricsServer> metricsServers = new ArrayList<>();
    /** Pod address -> what flows show of the pod, for the flow observer's thread. */
    private final Map<Integer, dev.sluice.agent.flow.Enricher.PodInfo> flowPods = new java.util.concurrent.ConcurrentHashMap<>();
    /** Frontend id -> Service, refreshed from the service maps when a flow names an id it lacks. */
    private volatile Map<Integer, String> frontendServices = Map.of();
    private volatile long frontendServicesRead;
    /** Local endpoints' ids by IPv4 address, for L7 flows (the proxies know addresses, not endpoints). */
    private final Map<Integer, Integer> endpointIds = new java.util.concurrent.ConcurrentHashMap<>();
    /** Service frontends ({@code address:port}, TCP and UDP) to their Service, for L7 flows; read again at most once a second on a miss. */
    private volatile Map<String, String> frontendsByAddress = Map.of();
    private volatile long frontendsByAddressRead;
    private final Object generationLock = new Object();
    /** The first apply computes the ipcache whatever changed. */
    private boolean ipcacheDone;
    /** An apply failed: the next one starts over from the whole snapshot (see resync). */
    private boolean resync;
    private dev.sluice.agent.node.IpcacheState ipcacheState;
    /** Pod address -> pod, for the monitor (read by its thread), and pod -> address. */
    private final Map<Integer, String> podsByIp = new java.util.concurrent.ConcurrentHashMap<>();
    private final Map<String, Integer> podIps = new HashMap<>();
    /** Each snapshot is taken as its changes since the previous one: objects are decoded once per change, not once per snapshot. */
    private dev.sluice.agent.reconcile.SnapshotDiff snapshotDiff = new dev.sluice.agent.reconcile.SnapshotDiff();
    private dev.sluice.agent.reconcile.Decoded<Pod> podObjects = new dev.sluice.agent.reconcile.Decoded<>(Kinds.POD, Pod::decode, Pod::key);
    private dev.sluice.agent.reconcile.Decoded<ClusterNode> nodeObjects = new dev.sluice.agent.reconcile.Decoded<>(Kinds.NODE, ClusterNode::decode, ClusterNode::name);
    private volatile long programmedGeneration = -1;
    private volatile Map<String, Long> programmedVersions = Map.of();
    private volatile List<String> errors = List.of();
    /** The last snapshot programmed (guarded by this), programmed again when a standalone container comes or goes. */
    private Snapshot last;
    /** Standalone endpoints an earlier run persisted, until restore() has adopted them (guarded by this). */
    private volatile List<Endpoint> restoring = List.of();
    /** The last snapshot's objects, in key order: which Pod objects the cluster has (looked up, not copied into a set per change). */
    private volatile List<KubeObject> clusterObjects = List.of();
    /** Gives back the memory of a burst of changes, after it. */
    private final MemoryTrim memoryTrim = new MemoryTrim();
    /** Objects changed since the last trim was asked for (guarded by this). */
    private long changedSinceTrim;
    /** This node's standalone containers as Pod objects, by key and address (guarded by this). */
    private final Map<String, KubeObject> standaloneObjects = new HashMap<>();

    public Agent(AgentConfig cfg) { this.cfg = cfg; }

    public void start() throws Exception {
        MemoryTrim.configureHeap();
        values = cfg.values().filter(Files::isRegularFile).map(p -> Values.load(p, Map.of())).orElseGet(() -> Values.parse("", "", Map.of()));
        mode = cfg.routing().map(r -> Values.RoutingMode.valueOf(r.toUpperCase())).orElse(values.routingMode());
        cniInstaller = cfg.cniInstall().map(c -> new CniInstaller(c.plugin(), c.binDir(), c.confDir().resolve(CniInstaller.CONF_NAME),
                cfg.socket(), c.uninstall())).orElse(null);
        // First, so that a slow start is visible to the kubelet (and to whoever asks) as not ready yet, with the reason.
        if (!values.healthAddress().isEmpty()) {
            var probes = new AgentProbes(() -> AgentClient.call(cfg.socket(), "ping", Map.of()), Duration.ofSeconds(2), this::probeState);
            health = new HealthServer(HealthServer.parse(values.healthAddress()), probes::liveness, probes::readiness);
            health.start();
        }

        if (values.l2announcements().enabled() && cfg.kubernetes().isEmpty())
            throw new IllegalArgumentException("l2announcements.enabled: true (expected: the Kubernetes API as the cluster source; the node that"
                    + " announces each Service is elected with coordination.k8s.io Leases, which a manifest directory does not have)");
        dev.sluice.agent.source.KubeApi kube = cfg.kubernetes().map(k -> dev.sluice.agent.source.KubeApi.configure(k.kubeconfig())).orElse(null);
        source = cfg.kubernetes().<ClusterSource>map(k -> new KubernetesClusterSource(kube,
                KubernetesSource.Config.DEFAULT, k.syncTimeout(), this::onSnapshot)).orElseGet(() -> ClusterSource.manifests(cfg.manifests(), this::onSnapshot));
        String origin = source.status().from();
        Snapshot first = source.first();
        self = nodes(first).stream().filter(n -> n.name().equals(cfg.node())).findFirst().orElseThrow(() -> new ManifestException(
                origin, "Node " + cfg.node(), "", "not found (expected: a Node named " + cfg.node() + " with spec.podCIDRs and an InternalIP)"));
        if (self.podCIDRs().isEmpty() || self.internalIP().isEmpty())
            throw new ManifestException(origin, "Node " + cfg.node(), "spec.podCIDRs", "missing (expected: the node's pod CIDR and an InternalIP address)");

        IpRoute host = IpRoute.local();
        var uplink = host.link(cfg.uplink());
        underlayMtu = values.mtu() != 0 ? values.mtu() : uplink.mtu();
        podMtu = Mtu.podMtu(underlayMtu, mode);
        ipam = new IpamStore(cfg.stateDir().resolve("ipam"), self.podCIDRs().get(0));

        attachTo = mode == Values.RoutingMode.TUNNEL ? List.of(cfg.uplink(), TUNNEL_DEV) : List.of(cfg.uplink());
        datapath = NodeDatapath.load(cfg.bpfObjects(), cfg.bpffs(), dev.sluice.agent.lb.LbRuntime.mapSizes(values));
        int tunnelIfindex = 0;
        if (mode == Values.RoutingMode.TUNNEL) {
            if (!host.linkExists(TUNNEL_DEV))
                host.ip("link", "add", TUNNEL_DEV, "type", "vxlan", "external", "dstport", Integer.toString(values.tunnelPort()));
            host.batch(List.of("link set " + TUNNEL_DEV + " mtu " + podMtu + " arp off up"));
            tunnelIfindex = host.link(TUNNEL_DEV).index();
            datapath.attachOverlay(TUNNEL_DEV, tunnelIfindex);
        } else if (host.linkExists(TUNNEL_DEV)) {
            host.ip("link", "del", TUNNEL_DEV);
        }
        datapath.config().put(0, new NodeConfig(Ip.parse(self.internalIP()), tunnelIfindex, NodeConfig.withMonitorInterval(
                NodeConfig.withMonitorAggregation(mode == Values.RoutingMode.TUNNEL ? NodeConfig.TUNNEL : 0, values.monitorAggregationLevel()),
                values.monitorAggregationInterval()), uplink.index()));
        datapath.attachUplink(cfg.uplink(), uplink.index());

        policy = new PolicyReconciler(datapath, values.policyMapMax()).localNode(cfg.node());
        Map<Integer, Integer> flags = new HashMap<>();
        datapath.endpoints().all().values().forEach(i -> flags.put(i.id(), i.flags()));
        policy.restore(flags);
        lb = new dev.sluice.agent.lb.LbRuntime(datapath, values, cfg.node());
        if (values.l2announcements().enabled()) {
            var l2v = values.l2announcements();
            var elector = new dev.sluice.agent.l2.LeaseElector(new dev.sluice.agent.l2.KubeLeaseStore(kube, dev.sluice.agent.l2.KubeLeaseStore.NAMESPACE),
                    cfg.node(), l2v.leaseDuration(), l2v.renewDeadline(), System::nanoTime, java.time.Instant::now);
            NodeDatapath dp = datapath;
            l2 = new dev.sluice.agent.l2.L2Announcer(l2v, cfg.node(), List.of(new dev.sluice.agent.l2.L2Announcer.Iface(uplink.name(), uplink.index(),
                    uplink.mac())), datapath.l2Responder(), dp::l2Stats, elector, dev.sluice.netlink.PacketSocket::send, System::nanoTime);
        }
        endpoints = new EndpointManager(cfg.stateDir().resolve("endpoints"), ipam, datapath, policy, lb.conntrack());
        // Before any pod comes: a pod's namespace is served from its CNI ADD on (the endpoint listener below).
        socketLb = new dev.sluice.agent.lb.SocketLb(datapath, values.socketLb(), cfg.cgroupRoot(), cfg.cniInstall().isPresent());
        socketLb.start();
        reconciler = new NodeReconciler(datapath.ipcache());
        ipcacheState = new dev.sluice.agent.node.IpcacheState(cfg.node(), mode);
        monitor = new Monitor(cfg.node(), datapath.events(), id -> endpoints.list().stream().filter(e -> e.id() == id)
                .map(Endpoint::pod).findFirst().orElse("#" + id));
        monitor.pods(podsByIp);
        flows = new dev.sluice.agent.flow.FlowObserver(new dev.sluice.agent.flow.Enricher(cfg.node(), flowCluster(), flowPolicies(),
                dev.sluice.agent.flow.Enricher.monotonicClock()), values.hubbleEventBufferCapacity(),
                () -> dev.sluice.datapath.maps.FlowEvent.lost(datapath.map("sl_events_lost")));
        monitor.flows(flows::accept);
        // The L7 proxies come with the first policy that redirects to one (an agent without L7 policy has none of it).
        policy.beforeRedirect(kinds -> l7().ensure(kinds));
        agentEvents.add(new dev.sluice.agent.flow.AgentEvent.Started(java.time.Instant.now()));
        endpoints.listen((e, deleted) -> {
            socketLb.endpointChanged(e, deleted);
            if (Ip.isIpv4(e.ip())) {
                if (deleted) endpointIds.remove(Ip.parse(e.ip()), e.id());
                else endpointIds.put(Ip.parse(e.ip()), e.id());
            }
            if (deleted) {
                var l = l7;
                if (l != null) l.endpointDeleted(e.pod());
            } else {
                try {
                    // the ingress proxy's re-injected packets from the node's own address (an egress proxy's upstream)
                    dev.sluice.datapath.ProxySteering.prepareEndpointDevice(e.hostIfname());
                } catch (RuntimeException ex) {
                    log.warn("endpoint {}: {}", e.pod(), ex.getMessage());
                }
            }
            int slash = e.pod().indexOf('/');
            var pod = flowPods.get(Ip.isIpv4(e.ip()) ? Ip.parse(e.ip()) : 0);
            agentEvents.add(new dev.sluice.agent.flow.AgentEvent.Endpoint(java.time.Instant.now(), deleted, e.id(),
                    slash < 0 ? "" : e.pod().substring(0, slash), e.pod().substring(slash + 1), pod == null ? List.of() : pod.labels()));
        });
        startMetrics();
        // Standalone containers of an earlier run are in the first computation already: without them
        // it would drop their ipcache entries, and their conntrack with them, until restore() is done.
        restoring = endpoints.persisted().stream().filter(Endpoint::standalone).toList();
        apply(first);
        // After apply: the engine knows the first snapshot, so re-adopted endpoints get their policy
        // computed once; until then the kernel keeps enforcing what the last run programmed.
        endpoints.restore();
        socketLb.reconcile(endpoints.list());

        // Without the standalone containers restore() let go (their veth was gone).
        if (!restoring.isEmpty()) {
            synchronized (this) {
                restoring = List.of();
                apply(last, true);
            }
        }

        // Before the trim: what starting gRPC allocated goes back with the rest.
        if (values.hubbleEnabled()) hubbleApi = dev.sluice.agent.hubble.HubbleApi.start(cfg.node(), cfg.socket(), values.hubbleListenAddress(), flows,
                agentEvents, this::nodeIps);

        // what loading the programs and the first snapshot freed goes back (the heap to the live set, libbpf's to the OS)
        MemoryTrim.trimNow();
        memoryTrim.startIdleTrim();

        var cni = new CniHandler(CniHandler.of(endpoints), () -> podMtu, () -> datapath == null ? "data path not loaded" : null,
                this::clusterHasPod, this::standaloneChanged);
        api = new ApiServer(cfg.socket())
                .register("ping", (p, out) -> out.result("pong"))
                .register("status", (p, out) -> out.result(status()))
                .register("wait", (p, out) -> out.result(waitFor(p)))
                .register("cni", (p, out) -> {
                    var r = cni.handle(p);
                    out.raw(r.exitCode() + "\n" + r.stdout());
                })
                .register("endpoints", (p, out) -> out.result(endpointList()))
                .register("identities", (p, out) -> out.result(identityList()))
                .register("policy", (p, out) -> out.result(policyOf(p.path("pod").asString(""))))
                .register("monitor", (p, out) -> {
                    String type = p.path("type").asString("all");
                    monitor.subscribe(ev -> type.equals("all") || ev.get("type").equals(type) || ev.get("type").equals("heartbeat")
                            ? out.result(ev) : true);
                })
                .register("flows", (p, out) -> {
                    var filter = dev.sluice.agent.flow.FlowFilter.parse(p);
                    int number = p.path("number").asInt(p.path("follow").asBoolean(false) ? 0 : 20);
                    java.time.Instant since = p.path("since").isString() ? dev.sluice.agent.flow.FlowFilter.since(p.path("since").asString()) : null;
                    flows.query(filter, number, since, p.path("follow").asBoolean(false), out::result);
                })
                .register("ipcache", (p, out) -> out.result(ipcacheList()))
                .register("metrics", (p, out) -> out.result(metricsList()))
                .register("services", (p, out) -> out.result(lb.services(p.path("type").asString(""))))
                .register("lb", (p, out) -> out.result(lb.lbList()))
                .register("maglev", (p, out) -> out.result(lb.maglev(p.path("service").asString(""))))
                .register("ct", (p, out) -> out.result(lb.ctList()))
                .register("ct-gc", (p, out) -> out.result(lb.gcNow()))
                .register("nat", (p, out) -> out.result(lb.natList()))
                .register("proxy", (p, out) -> out.result(l7 == null ? dev.sluice.agent.l7.L7Runtime.notStarted() : l7.status()))
                .register("fqdn", (p, out) -> out.result(l7 == null ? List.of() : l7.fqdnCache(p.path("match").asString(""))))
                .register("l2", (p, out) -> out.result(l2 != null ? l2.view() : new dev.sluice.agent.l2.L2Announcer.View(cfg.node(), false,
                        "", "", "", List.of(), Map.of(), List.of())));
        api.start();
        source.start();
        if (l2 != null) l2.start();
        // Last: the conflist tells the kubelet that pods may come, so it is written only once the data
        // path is attached, the first snapshot is programmed and the API answers the plugin.
        if (cniInstaller != null) {
            cniInstaller.install();
            log.info("CNI plugin installed in {}, configuration {}", cniInstaller.binDir(), cniInstaller.confFile());
        }
        log.info("agent {} up: {} routing, node IP {}, pod CIDR {}, pod MTU {}", cfg.node(), mode.word(), self.internalIP(),
                ipam.cidr(), podMtu);
    }

    /**
     * The node's L7 runtime, made when a policy first needs a proxy: from the policy reconciler's
     * program(), on the apply thread or a CNI ADD's, so under a lock of its own (the agent's lock
     * would invert the order against apply).
     */
    private dev.sluice.agent.l7.L7Runtime l7() {
        synchronized (l7Lock) {
            if (l7 != null) return l7;
            var dnsValues = cfg.values().filter(Files::isRegularFile).map(dev.sluice.config.DnsValues::load).orElse(dev.sluice.config.DnsValues.DEFAULT);
            l7 = new dev.sluice.agent.l7.L7Runtime(datapath, policy, mode, values.httpProxy(), dnsValues, flows.l7Sink(), podsByIp::get,
                    lb.conntrack()::hasFlow, this::fqdnChanged);
            return l7;
        }
    }

    /**
     * The DNS proxy learned (or the cache expired) addresses of these names: the toFQDNs selectors
     * matching them get the cache's addresses, and the endpoints using them are reprogrammed before
     * this returns (the proxy then releases the answer). Under the apply lock, as a snapshot is.
     */
    private synchronized void fqdnChanged(Set<String> names) {
        var update = policy.fqdnChanged(names, l7::addresses);
        if (update.touched().isEmpty() && !update.all()) return;
        if (update.all()) {
            // identity numbers moved: the ipcache holds them too
            List<ClusterNode> nodes = new ArrayList<>(nodeObjects.values());
            nodes.sort(java.util.Comparator.comparing(ClusterNode::name));
            reconciler.reconcileIpcache(ipcacheState.compute(nodes, podObjects.values(), p -> policy.identityOf(p.key())));
        }
        endpoints.refresh(update);
    }

    private AgentProbes.State probeState() {
        NodeDatapath dp = datapath;
        List<String> unattached = new ArrayList<>(attachTo);
        if (dp != null) dp.attachments().forEach(a -> unattached.remove(a.device()));
        return new AgentProbes.State(dp != null, unattached, programmedGeneration,
                Optional.ofNullable(cniInstaller).map(CniInstaller::confFile), cniInstaller != null && cniInstaller.installed());
    }

    private void onSnapshot(Snapshot s) {
        try {
            apply(s);
        } catch (RuntimeException e) {
            log.error("generation {}: {}", s.generation(), e.getMessage());
            errors = List.of("generation " + s.generation() + ": " + e.getMessage());
        }
    }

    /** Whether the last snapshot holds a Pod object with this {@code namespace/name}. */
    private boolean clusterHasPod(String key) { return hasPod(clusterObjects, key); }

    /**
     * Whether {@code objects} (in {@link ResourceStore.Key} order, as snapshots list them) hold the
     * Pod {@code namespace/name}: a binary search, so a snapshot of 10,000 pods costs no set of their
     * names per change.
     */
    static boolean hasPod(List<KubeObject> objects, String key) {
        int slash = key.indexOf('/');
        if (slash < 0) return false;
        ResourceStore.Key k = new ResourceStore.Key(Kinds.POD, key.substring(0, slash), key.substring(slash + 1));
        if (objects instanceof ResourceStore.View v) return v.get(k).isPresent();
        int lo = 0, hi = objects.size() - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            int c = ResourceStore.Key.of(objects.get(mid)).compareTo(k);
            if (c == 0) return true;
            if (c < 0) lo = mid + 1; else hi = mid - 1;
        }
        return false;
    }

    /**
     * A standalone container came or went (CNI ADD, DEL, GC): the last snapshot is programmed again
     * with it or without it, before the runtime gets the answer.
     */
    private synchronized void standaloneChanged() {
        // under the same lock as apply, so a newer snapshot applied meanwhile is never replaced by an older one
        if (last != null) apply(last, true);
    }

    /**
     * This node's standalone containers as pods: no labels, on this node, with their address. One
     * whose name a Pod object has is left out (the Pod keeps the name; the container's endpoint drops
     * everything, see PolicyReconciler) and reported.
     */
    private List<Pod> standalonePods(List<KubeObject> cluster, Set<String> taken, List<String> errs) {
        List<Pod> out = new ArrayList<>();
        Map<String, Endpoint> all = new LinkedHashMap<>();
        for (Endpoint e : restoring) all.put(e.containerId() + "/" + e.ifname(), e);
        for (Endpoint e : endpoints.list()) all.put(e.containerId() + "/" + e.ifname(), e);
        for (Endpoint e : all.values()) {
            if (!e.standalone()) continue;
            if (hasPod(cluster, e.pod())) {
                taken.add(e.pod());
                errs.add("standalone container " + e.containerId() + " (" + e.ip() + ") has the name of Pod " + e.pod()
                        + " and drops all traffic (expected: a container name that no pod in its namespace has)");
                continue;
            }
            String[] nsName = e.pod().split("/", 2);
            out.add(new Pod(nsName[0], nsName[1], Map.of(), cfg.node(), e.ip(), List.of()));
        }
        return out;
    }

    /**
     * The snapshot's objects with this node's standalone containers as Pod objects, in key order, so
     * every consumer takes them through the same incremental path as pods. The same container keeps
     * the same object, so it is not a change in the next snapshot.
     */
    private List<KubeObject> withStandalone(List<KubeObject> objects, List<Pod> standalone) {
        if (standalone.isEmpty()) {
            standaloneObjects.clear();
            return objects;
        }
        Map<String, KubeObject> now = new HashMap<>();
        for (Pod p : standalone) {
            String k = p.key() + " " + p.podIP();
            KubeObject o = standaloneObjects.get(k);
            if (o == null) {
                var b = tools.jackson.databind.node.JsonNodeFactory.instance.objectNode();
                b.put("apiVersion", "v1").put("kind", "Pod");
                b.putObject("metadata").put("name", p.name()).put("namespace", p.namespace());
                var spec = b.putObject("spec").put("nodeName", p.nodeName());
                spec.putArray("containers").addObject().put("name", "container");
                b.putObject("status").put("podIP", p.podIP());
                o = dev.sluice.k8s.ManifestReader.object("cni", b);
            }
            now.put(k, o);
        }
        standaloneObjects.clear();
        standaloneObjects.putAll(now);
        if (objects instanceof ResourceStore.View v) return v.with(now.values()); // shares the rest, so the difference stays cheap
        List<KubeObject> out = new ArrayList<>(objects.size() + now.size());
        out.addAll(objects);
        out.addAll(now.values());
        out.sort(java.util.Comparator.comparing(ResourceStore.Key::of));
        return out;
    }

    /** Programs one snapshot: decode what decodes, reconcile, then report the generation. (Package-private for AgentBench.) */
    synchronized void apply(Snapshot s) { apply(s, false); }

    /**
     * @param force program it even when the store is unchanged since the last one (a standalone
     *     container came or went: the cluster state is the same, what is computed from it is not)
     */
    private synchronized void apply(Snapshot s, boolean force) {
        last = s;
        if (!force && !s.versions().isEmpty() && s.generation() == programmedGeneration) {
            // the same store contents (its generation counts every change), later versions: nothing to program
            synchronized (generationLock) {
                programmedVersions = s.versions();
                generationLock.notifyAll();
            }
            return;
        }
        if (resync) {
            resync();
            resync = false;
        }
        try {
            applyChanges(s);
        } catch (RuntimeException e) {
            // Part of the changes may be in the engines and part not: start over with the next snapshot.
            resync = true;
            throw e;
        } finally {
            memoryTrim.applied(); // at the end too: a long apply is not a quiet second
        }
    }

    /**
     * After a failed apply: every incremental state (decoded objects, the policy engine, the LB
     * model, the ipcache) starts over, so the next snapshot is programmed whole, as after a restart,
     * against what the kernel holds (the reconcilers still write only differences).
     */
    private void resync() {
        log.warn("starting over from the whole cluster state after a failed apply");
        snapshotDiff = new dev.sluice.agent.reconcile.SnapshotDiff();
        podObjects = new dev.sluice.agent.reconcile.Decoded<>(Kinds.POD, Pod::decode, Pod::key);
        nodeObjects = new dev.sluice.agent.reconcile.Decoded<>(Kinds.NODE, ClusterNode::decode, ClusterNode::name);
        policy.resync();
        lb.resync();
        if (l2 != null) l2.resync();
        ipcacheDone = false;
        podIps.clear();
        podsByIp.clear();
        flowPods.clear();
    }

    private void applyChanges(Snapshot s) {
        long t0 = System.nanoTime();
        List<String> errs = new ArrayList<>(s.errors());
        clusterObjects = s.objects();
        Set<String> taken = new HashSet<>();
        List<Pod> standalone = endpoints == null ? List.of() : standalonePods(s.objects(), taken, errs);
        Set<String> retaken = policy.standaloneTaken(taken);
        // Only what changed since the last snapshot is decoded (a pointer comparison per unchanged object).
        var changes = snapshotDiff.next(withStandalone(s.objects(), standalone));
        memoryTrim.applied();
        // a burst may come as many small snapshots (watches deliver object by object): count them all
        changedSinceTrim += changes.upserted().size() + changes.removed().size();
        if (changedSinceTrim >= MemoryTrim.BURST) {
            changedSinceTrim = 0;
            memoryTrim.request();
        }
        var nodeChanges = nodeObjects.update(changes);
        List<ClusterNode> nodes = new ArrayList<>(nodeObjects.values());
        nodes.sort(java.util.Comparator.comparing(ClusterNode::name));
        errs.addAll(nodeObjects.errors().values());
        var podChanges = podObjects.update(changes);
        errs.addAll(podObjects.errors().values());
        long t1 = System.nanoTime();
        var policyUpdate = policy.update(changes, values);
        if (!retaken.isEmpty()) {
            Set<String> touched = new HashSet<>(policyUpdate.touched());
            touched.addAll(retaken);
            policyUpdate = new PolicyReconciler.Update(policyUpdate.errors(), touched, policyUpdate.all());
        }
        errs.addAll(policyUpdate.errors());
        if (!policyUpdate.touched().isEmpty() || policyUpdate.all()) {
            // toFQDNs selectors a policy change brought: their addresses from what the DNS proxy learned so far
            var l = l7;
            var fqdn = l == null ? new PolicyReconciler.Update(List.of(), Set.of(), false) : policy.fqdnChanged(null, l::addresses);
            if (!fqdn.touched().isEmpty() || fqdn.all()) {
                Set<String> touched = new HashSet<>(policyUpdate.touched());
                touched.addAll(fqdn.touched());
                policyUpdate = new PolicyReconciler.Update(policyUpdate.errors(), touched, policyUpdate.all() || fqdn.all());
            }
        }
        long t2 = System.nanoTime();
        if (metrics != null) metrics.policyComputed(t2 - t1);
        // The ipcache is a function of nodes, pods and identities: recomputed from scratch when nodes or
        // namespaces changed (or on the first apply), else only the entries of the changed pods; nothing
        // at all for a Service change.
        boolean namespaces = java.util.stream.Stream.concat(changes.upserted().stream(), changes.removed().stream())
                .anyMatch(o -> o.kind().equals(Kinds.NAMESPACE));
        java.util.function.ToIntFunction<Pod> identity = p -> policy.identityOf(p.key());
        NodeReconciler.IpcacheChanges ipc;
        if (!ipcacheDone || !nodeChanges.isEmpty() || namespaces || policyUpdate.all()) {
            ipc = reconciler.reconcileIpcache(ipcacheState.compute(nodes, podObjects.values(), identity));
        } else {
            // a pod's identity follows its own labels and its namespace's: only the changed pods' entries can move
            java.util.Set<String> keys = new java.util.HashSet<>();
            podChanges.upserted().forEach(p -> keys.add(p.key()));
            keys.addAll(podChanges.removed());
            ipc = keys.isEmpty() ? new NodeReconciler.IpcacheChanges(0, java.util.Set.of())
                    : reconciler.reconcileIpcache(ipcacheState.desired(), ipcacheState.patch(keys, this::podByKey, identity));
        }
        if (!ipc.removedHosts().isEmpty()) lb.conntrack().forget(ipc.removedHosts());
        long t3 = System.nanoTime();
        int routes = reconciler.reconcileRoutes(cfg.node(), nodes, mode, cfg.uplink(), TUNNEL_DEV, podMtu);
        long t4 = System.nanoTime();
        endpoints.refresh(policyUpdate);
        // the monitor names drop events' addresses by pod: kept up to date by the changed pods only
        for (String k : podChanges.removed()) {
            if (hubbleMetrics != null) hubbleMetrics.podDeleted(k);
            Integer ip = podIps.remove(k);
            if (ip != null && podsByIp.remove(ip, k)) flowPods.remove(ip);
        }
        for (Pod p : podChanges.upserted()) {
            Integer old = podIps.remove(p.key());
            if (old != null && podsByIp.remove(old, p.key())) flowPods.remove(old);
            if (Ip.isIpv4(p.podIP())) {
                int ip = Ip.parse(p.podIP());
                podIps.put(p.key(), ip);
                podsByIp.put(ip, p.key());
                flowPods.put(ip, dev.sluice.agent.flow.Enricher.PodInfo.of(p.namespace(), p.name(), p.labels(),
                        Integer.toUnsignedLong(policy.identityOf(p.key())), List.of()));
            }
        }
        ipcacheDone = true;
        long t5 = System.nanoTime();
        var lbr = lb.apply(changes, podChanges, nodes);
        if (l2 != null) l2.apply(changes, lb.state(), nodes.stream().filter(n -> n.name().equals(cfg.node())).findFirst().orElse(self),
                lbr.changes() > 0);
        long t6 = System.nanoTime();
        agentEvents(s, changes, lbr.changes() > 0);
        errors = List.copyOf(errs);
        errs.forEach(e -> log.warn("skipped: {}", e));
        if (metrics != null) {
            List<String> kinds = new ArrayList<>();
            changes.upserted().forEach(o -> kinds.add(o.kind()));
            changes.removed().forEach(o -> kinds.add(o.kind()));
            metrics.programmed(dev.sluice.agent.metrics.AgentMetrics.kindOf(kinds), t6 - t0);
        }
        synchronized (generationLock) {
            programmedGeneration = s.generation();
            programmedVersions = s.versions();
            generationLock.notifyAll();
        }
        log.info("generation {} programmed: {} ipcache changes, {} route changes, {} service map changes; {} us (decode {}, policy {}, ipcache {},"
                + " routes {}, endpoints {}, services {})", s.generation(), ipc.changes(), routes, lbr.changes(), (t6 - t0) / 1000, (t1 - t0) / 1000,
                (t2 - t1) / 1000, (t3 - t2) / 1000, (t4 - t3) / 1000, (t5 - t4) / 1000, (t6 - t5) / 1000);
    }

    /**
     * Hubble's agent events of one apply: each policy object that came, changed or went, and, when
     * the service maps changed, each frontend written or removed (as the LB reconciler wrote it: the
     * cost of the change, not of the node's frontends).
     */
    private void agentEvents(Snapshot s, dev.sluice.agent.reconcile.SnapshotDiff.Changes changes, boolean services) {
        java.time.Instant now = java.time.Instant.now();
        Set<String> policyKinds = Set.of(Kinds.NETWORK_POLICY, Kinds.CILIUM_NETWORK_POLICY, Kinds.CILIUM_CLUSTERWIDE_NETWORK_POLICY);
        for (var list : List.of(changes.upserted(), changes.removed())) {
            boolean deleted = list == changes.removed();
            for (var o : list) {
                if (!policyKinds.contains(o.kind())) continue;
                var specs = o.body() == null ? null : o.body().json().path("specs");
                int rules = specs != null && specs.isArray() && !specs.isEmpty() ? specs.size() : 1;
                agentEvents.add(new dev.sluice.agent.flow.AgentEvent.Policy(now, deleted, o.kind(), o.namespace(), o.name(), s.generation(), rules));
            }
        }
        if (services) {
            var c = lb.lastChanges();
            dev.sluice.agent.flow.AgentEvents.serviceChanges(c.written(), c.removed(), now).forEach(agentEvents::add);
        }
    }

    /** Node name to InternalIP, for Hubble's Peer service. */
    private synchronized Map<String, String> nodeIps() {
        Map<String, String> out = new java.util.TreeMap<>();
        for (ClusterNode n : nodeObjects.values()) out.put(n.name(), n.internalIP());
        return out;
    }

    /**
     * The agent's metrics on prometheus.port and the hubble_* ones on hubble.metrics.port, each on
     * every address of the node (in the lab: the node namespace, so its InternalIP). Map contents
     * are read when scraped.
     */
    private void startMetrics() throws IOException {
        var m = values.metrics();
        if (m.prometheusEnabled()) {
            metrics = new dev.sluice.agent.metrics.AgentMetrics(new dev.sluice.agent.metrics.AgentMetrics.Source() {
                public int endpoints() { return endpoints.list().size(); }

                public Map<String, Integer> identities() {
                    Map<String, Integer> out = new java.util.TreeMap<>();
                    for (var id : policy.identities()) {
                        String type = Integer.compareUnsigned(id.id(), dev.sluice.policymap.PolicyMaps.CIDR_SET_BASE) >= 0 ? "cidr"
                                : Integer.compareUnsigned(id.id(), 256) < 0 ? "reserved" : "cluster_local";
                        out.merge(type, 1, Integer::sum);
                    }
                    return out;
                }

                public Map<String, long[]> maps() {
                    Map<String, long[]> out = new java.util.TreeMap<>();
                    datapath.mapUse().forEach((name, use) -> {
                        if (!name.equals("sl_events") && !name.equals("sl_config")) out.put(name, new long[] {use[0], use[1]});
                    });
                    var ct = lb.status().conntrack();
                    out.put(dev.sluice.datapath.maps.LbMaps.CT_TCP, new long[] {ct.fillTcp(), ct.maxTcp()});
                    out.put(dev.sluice.datapath.maps.LbMaps.CT_ANY, new long[] {ct.fillAny(), ct.maxAny()});
                    for (String n : List.of(dev.sluice.datapath.maps.LbMaps.SERVICES, dev.sluice.datapath.maps.LbMaps.BACKENDS,
                            dev.sluice.datapath.maps.LbMaps.REVERSE_NAT, dev.sluice.datapath.maps.LbMaps.AFFINITY, dev.sluice.datapath.maps.LbMaps.SNAT)) {
                        var map = datapath.map(n);
                        out.put(n, new long[] {map.keys().size(), map.maxEntries()});
                    }
                    return out;
                }

                public List<dev.sluice.agent.metrics.AgentMetrics.Counted> counters() {
                    Map<List<Integer>, long[]> sums = new HashMap<>();
                    datapath.metrics().allPerCpu().forEach((k, perCpu) -> {
                        long[] v = sums.computeIfAbsent(List.of(k.reason(), k.direction()), x -> new long[2]);
                        for (MetricsValue c : perCpu) {
                            v[0] += c.packets();
                            v[1] += c.bytes();
                        }
                    });
                    List<dev.sluice.agent.metrics.AgentMetrics.Counted> out = new ArrayList<>();
                    sums.forEach((k, v) -> out.add(new dev.sluice.agent.metrics.AgentMetrics.Counted(k.get(0), DropReason.describe(k.get(0)),
                            k.get(1) == 1 ? "INGRESS" : k.get(1) == 2 ? "EGRESS" : "UNKNOWN", v[0], v[1])));
                    return out;
                }

                public long eventsLost() { return dev.sluice.datapath.maps.FlowEvent.lost(datapath.map("sl_events_lost")); }
            });
            metricsServers.add(dev.sluice.agent.metrics.MetricsServer.start("prometheus.port", null, m.prometheusPort(), metrics.registry()));
        }
        if (values.hubbleEnabled() && !m.hubble().isEmpty()) {
            var hubble = new dev.sluice.agent.metrics.HubbleMetrics(m.hubble(), () -> dev.sluice.datapath.maps.FlowEvent.lost(datapath.map("sl_events_lost")));
            hubbleMetrics = hubble;
            flows.listen((e, f) -> hubble.accept(f, e == null ? 0 : e.policyPrefixLength()));   // e: null for an L7 flow
            metricsServers.add(dev.sluice.agent.metrics.MetricsServer.start("hubble.metrics.port", null, m.hubblePort(), hubble.registry()));
        }
    }

    /** What the flow observer asks of the cluster: lock-free reads of maps apply() keeps current. */
    private dev.sluice.agent.flow.Enricher.Cluster flowCluster() {
        return new dev.sluice.agent.flow.Enricher.Cluster() {
            public Optional<dev.sluice.agent.flow.Enricher.PodInfo> podByIp(int ip) { return Optional.ofNullable(flowPods.get(ip)); }

            public Optional<String> endpointPod(int id) {
                return endpoints.list().stream().filter(e -> e.id() == id).map(Endpoint::pod).findFirst();
            }

            public Optional<String> serviceOf(int revNatId) {
                String s = frontendServices.get(revNatId);
                // an id not seen yet: read the service maps again, at most once a second
                if (s == null && System.currentTimeMillis() - frontendServicesRead > 1000) {
                    frontendServicesRead = System.currentTimeMillis();
                    Map<Integer, String> m = new HashMap<>();
                    try {
                        for (var f : lb.lbList()) if (!f.service().isEmpty()) m.put(f.id(), f.service());
                    } catch (RuntimeException e) {
                        return Optional.empty();   // the service maps changed under the read: the next miss reads again
                    }
                    frontendServices = m;
                    s = m.get(revNatId);
                }
                return Optional.ofNullable(s);
            }

            @Override public int localEndpoint(int ip) {
                Integer id = endpointIds.get(ip);
                if (id != null) return id;
                // endpoints restored after a restart are not announced to the listener: found here once, then kept
                for (Endpoint e : endpoints.list()) {
                    if (Ip.isIpv4(e.ip()) && Ip.parse(e.ip()) == ip) {
                        endpointIds.put(ip, e.id());
                        return e.id();
                    }
                }
                return 0;
            }

            @Override public Optional<String> serviceAt(int ip, int port) {
                String key = Ip.format(ip) + ":" + port;
                String s = frontendsByAddress.get(key);
                if (s == null && System.currentTimeMillis() - frontendsByAddressRead > 1000) {
                    frontendsByAddressRead = System.currentTimeMillis();
                    Map<String, String> m = new HashMap<>();
                    try {
                        for (var f : lb.lbList()) {
                            int slash = f.frontend().lastIndexOf('/');
                            if (!f.service().isEmpty()) m.put(slash < 0 ? f.frontend() : f.frontend().substring(0, slash), f.service());
                        }
                    } catch (RuntimeException e) {
                        return Optional.empty();
                    }
                    frontendsByAddress = m;
                    s = m.get(key);
                }
                return Optional.ofNullable(s);
            }
        };
    }

    /** Attribution reads what the policy reconciler programmed: the origins of each entry, and which policies select an endpoint. */
    private dev.sluice.agent.flow.PolicySource flowPolicies() {
        return new dev.sluice.agent.flow.PolicySource() {
            public Optional<List<String>> entryOrigins(int endpointId, dev.sluice.policymap.PolicyMaps.Key key) {
                return policy.programmed(endpointId).map(m -> m.entries().get(key)).map(dev.sluice.policymap.PolicyMaps.Value::origins);
            }

            public List<String> ruleOrigins(int ruleId) { return policy.origins(ruleId); }

            public List<String> isolating(int endpointId, int direction) { return policy.isolating(endpointId, direction); }
        };
    }

    private Pod podByKey(String key) {
        int slash = key.indexOf('/');
        return podObjects.get(Kinds.POD, key.substring(0, slash), key.substring(slash + 1));
    }

    /** The endpoints (AgentBench adds local pods as the CNI plugin would). */
    EndpointManager endpointManager() { return endpoints; }

    /** Entries of the policy map (AgentBench counts what reached the kernel). */
    int policyEntries() { return datapath.policy().all().size(); }

    /** The service maps (AgentBench counts what reached the kernel). */
    dev.sluice.datapath.maps.LbMaps lbMaps() { return datapath.lb(); }

    private static List<ClusterNode> nodes(Snapshot s) { return nodes(s, new ArrayList<>()); }

    private static List<ClusterNode> nodes(Snapshot s, List<String> errs) {
        List<ClusterNode> out = new ArrayList<>();
        for (KubeObject o : s.objects()) {
            if (!o.kind().equals(Kinds.NODE)) continue;
            try {
                out.add(ClusterNode.decode(o));
            } catch (ManifestException e) {
                errs.add(e.getMessage());
            }
        }
        return out;
    }

    /**
     * Returns once the agent has programmed a snapshot at {@code generation} (manifest directory)
     * or holding, for each kind in {@code versions}, every API event up to that resourceVersion.
     */
    private Map<String, Object> waitFor(JsonNode p) throws InterruptedException {
        long gen = p.path("generation").asLong(0);
        Map<String, Long> want = new java.util.TreeMap<>();
        p.path("versions").properties().forEach(e -> want.put(e.getKey(), e.getValue().asLong()));
        long timeout = p.path("timeoutMs").asLong(60_000);
        long deadline = System.currentTimeMillis() + timeout;
        synchronized (generationLock) {
            while (programmedGeneration < gen || !reached(want)) {
                long left = deadline - System.currentTimeMillis();
                if (left <= 0) throw new IllegalStateException("node " + cfg.node() + ": " + (want.isEmpty() ? "generation " + gen : "resourceVersions " + want)
                        + " not programmed within " + timeout + " ms (programmed: " + (want.isEmpty() ? programmedGeneration : programmedVersions) + ")");
                generationLock.wait(left);
            }
        }
        return Map.of("node", cfg.node(), "programmedGeneration", programmedGeneration, "programmedVersions", programmedVersions);
    }

    private boolean reached(Map<String, Long> want) {
        var have = programmedVersions;
        return want.entrySet().stream().allMatch(e -> have.getOrDefault(e.getKey(), 0L) >= e.getValue());
    }

    AgentViews.Status status() {
        List<String> all = new ArrayList<>(errors);
        all.addAll(policy.problems());
        List<AgentViews.Program> progs = new ArrayList<>();
        for (var a : datapath.attachments()) progs.add(new AgentViews.Program(a.program(), a.device(), a.direction().name().toLowerCase()));
        List<AgentViews.MapUse> maps = new ArrayList<>();
        datapath.mapUse().forEach((name, use) -> maps.add(new AgentViews.MapUse(name, use[0], use[1])));
        return new AgentViews.Status(cfg.node(), all.isEmpty() ? "ok" : "degraded", programmedGeneration, programmedVersions, source.status(),
                mode.word(), self.internalIP(), ipam.cidr().toString(), new AgentViews.Mtu(underlayMtu, podMtu),
                new AgentViews.Ipam(ipam.cidr().toString(), ipam.used(), ipam.capacity()), endpointList(), progs, maps, lb.status(),
                socketLb.status(), flows.counters(), all, l2 == null ? new dev.sluice.agent.l2.L2Announcer.StatusView(false, 0, 0, 0, List.of()) : l2.status());
    }

    private List<AgentViews.EndpointView> endpointList() {
        List<AgentViews.EndpointView> out = new ArrayList<>();
        for (Endpoint e : endpoints.list()) {
            int fl = policy.programmed(e.id()).map(x -> x.flags()).orElse(0);
            String state = (fl & dev.sluice.policymap.PolicyMaps.F_PENDING) != 0 ? "pending"
                    : (fl & dev.sluice.policymap.PolicyMaps.F_OVERFLOW) != 0 ? "overflow" : (fl & dev.sluice.policymap.PolicyMaps.F_AUDIT) != 0 ? "audit" : "ok";
            out.add(new AgentViews.EndpointView(e.id(), e.pod(), e.ip(), policy.identityOf(e.pod()),
                    (fl & dev.sluice.policymap.PolicyMaps.F_INGRESS_ENFORCED) != 0, (fl & dev.sluice.policymap.PolicyMaps.F_EGRESS_ENFORCED) != 0,
                    state, e.hostIfname(), e.hostIfindex(), e.containerId()));
        }
        return out;
    }

    private List<AgentViews.IpcacheEntry> ipcacheList() {
        List<AgentViews.IpcacheEntry> out = new ArrayList<>();
        var sorted = datapath.ipcache().all().entrySet().stream()
                .sorted(Map.Entry.comparingByKey(java.util.Comparator.comparing(IpcacheKey::cidr))).toList();
        for (Map.Entry<IpcacheKey, IpcacheValue> e : sorted)
            out.add(new AgentViews.IpcacheEntry(e.getKey().cidr().toString(), e.getValue().identity(),
                    e.getValue().tunnelEndpoint() == 0 ? "" : Ip.format(e.getValue().tunnelEndpoint()), e.getValue().flags()));
        return out;
    }

    private List<AgentViews.Metric> metricsList() {
        Map<MetricsKey, MetricsValue> sums = new java.util.TreeMap<>(java.util.Comparator.comparingInt(MetricsKey::reason)
                .thenComparingInt(MetricsKey::direction).thenComparingInt(MetricsKey::endpoint));
        datapath.metrics().allPerCpu().forEach((k, perCpu) -> sums.put(k, perCpu.stream().reduce(new MetricsValue(0, 0), MetricsValue::plus)));
        List<AgentViews.Metric> out = new ArrayList<>();
        Map<Integer, String> pods = new HashMap<>();
        endpoints.list().forEach(e -> pods.put(e.id(), e.pod()));
        sums.forEach((k, v) -> out.add(new AgentViews.Metric(DropReason.describe(k.reason()), k.reason(),
                k.direction() == 1 ? "ingress" : k.direction() == 2 ? "egress" : "none",
                Optional.ofNullable(pods.get(k.endpoint())).orElse(k.endpoint() == 0 ? "" : "#" + k.endpoint()), v.packets(), v.bytes())));
        return out;
    }

    /** Blocks until the process is asked to stop. */
    public void awaitShutdown() throws InterruptedException {
        Object forever = new Object();
        synchronized (forever) {
            forever.wait();
        }
    }

    List<AgentViews.IdentityView> identityList() {
        List<AgentViews.IdentityView> out = new ArrayList<>();
        for (var id : policy.identities()) out.add(new AgentViews.IdentityView(id.id(), id.labels().toString(), policy.podsOf(id.id())));
        return out;
    }

    /** The policy of a local pod as the kernel holds it, with the rules behind each entry; null when not on this node. */
    private AgentViews.PolicyView policyOf(String pod) {
        Endpoint e = endpoints.list().stream().filter(x -> x.pod().equals(pod)).findFirst().orElse(null);
        if (e == null) return null;
        int flags = datapath.endpoints().get(new dev.sluice.datapath.maps.EndpointKey(Ip.parse(e.ip()))).map(i -> i.flags()).orElse(0);
        List<AgentViews.PolicyEntry> entries = new ArrayList<>();
        var mine = datapath.policy().all().entrySet().stream().filter(en -> en.getKey().endpoint() == e.id())
                .sorted(Map.Entry.comparingByKey(java.util.Comparator.comparing(k -> k.key()))).toList();
        for (var en : mine) {
            var k = en.getKey().key();
            entries.add(new AgentViews.PolicyEntry(k.direction() == 1 ? "ingress" : "egress", Integer.toUnsignedLong(k.identity()), peerName(k.identity()),
                    dev.sluice.policymap.PolicyMaps.l4(k), dev.sluice.policymap.PolicyMaps.word(en.getValue().verdict()),
                    policy.origins(en.getValue().rule())));
        }
        List<AgentViews.PolicyCidr> cidrs = new ArrayList<>();
        datapath.policyCidr().all().forEach((k, v) -> {
            if (k.endpoint() == e.id())
                cidrs.add(new AgentViews.PolicyCidr(k.direction() == 1 ? "ingress" : "egress", k.prefix().toString(), Integer.toUnsignedLong(v)));
        });
        int f = flags;
        return new AgentViews.PolicyView(pod, cfg.node(), e.id(), policy.identityOf(pod),
                (f & dev.sluice.policymap.PolicyMaps.F_INGRESS_ENFORCED) != 0, (f & dev.sluice.policymap.PolicyMaps.F_EGRESS_ENFORCED) != 0,
                (f & dev.sluice.policymap.PolicyMaps.F_AUDIT) != 0, (f & dev.sluice.policymap.PolicyMaps.F_PENDING) != 0,
                (f & dev.sluice.policymap.PolicyMaps.F_OVERFLOW) != 0, entries, cidrs);
    }

    private String peerName(int identity) {
        if (identity == 0) return "any";
        if (Integer.compareUnsigned(identity, dev.sluice.policymap.PolicyMaps.CIDR_SET_BASE) >= 0) return "cidr-set";
        List<String> pods = policy.podsOf(identity);
        if (!pods.isEmpty()) return String.join(",", pods);
        return policy.identities().stream().filter(i -> i.id() == identity).map(i -> i.labels().toString()).findFirst().orElse("");
    }

    @Override public void close() {
        if (cniInstaller != null) {
            try {
                cniInstaller.stop();
            } catch (IOException e) {
                log.warn("cannot remove {}: {}", cniInstaller.confFile(), e.getMessage());
            }
        }
        if (monitor != null) monitor.close();
        if (hubbleApi != null) {
            try {
                hubbleApi.close();
            } catch (Exception e) {
                log.warn("closing the Hubble API: {}", e.toString());
            }
        }
        metricsServers.forEach(dev.sluice.agent.metrics.MetricsServer::close);
        if (api != null) api.close();
        if (source != null) source.close();
        if (l2 != null) l2.close();
        if (l7 != null) l7.close();
        if (lb != null) lb.close();
        if (datapath != null) datapath.close();
        if (health != null) health.close();
        memoryTrim.close();
        log.info("agent {} stopped; the data path stays programmed", cfg.node());
    }
}
