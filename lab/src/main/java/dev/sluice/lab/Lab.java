package dev.sluice.lab;

import dev.sluice.BadInputException;
import dev.sluice.config.Values;
import dev.sluice.k8s.ClusterNode;
import dev.sluice.k8s.Kinds;
import dev.sluice.k8s.KubeObject;
import dev.sluice.k8s.ManifestFiles;
import dev.sluice.k8s.Pod;
import dev.sluice.lab.dns.LabDns;
import dev.sluice.net.Cidr;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * One lab: builds it ({@link #up}), changes its cluster state as API server and kubelet
 * ({@link #apply}, {@link #delete}, {@link #label}) and removes it ({@link #down}). Every change is
 * validated completely before anything is made, and returns only once every agent has programmed it.
 */
public final class Lab {
    static final int UNDERLAY_MTU = 1500;
    static final int CNI_PARALLELISM = 4;
    private final String name;
    private final LabDir dir;
    private final LabEnv env;
    private final Consumer<String> progress;
    private ClusterStore store;
    private final Kubelet kubelet;
    private final Agents agents;
    private LabState state;

    public Lab(String name, LabEnv env, Consumer<String> progress) {
        this.name = LabNames.validateLab(name);
        this.dir = LabDir.of(name);
        this.env = env;
        this.progress = progress;
        this.kubelet = new Kubelet(env, dir);
        this.agents = new Agents(env);
    }

    public String name() { return name; }
    public LabDir dir() { return dir; }
    /** Where the cluster state is: the lab's API server, or the manifest directory of a lab made with {@code --api manifests}. */
    public ClusterStore store() {
        if (store == null) {
            var w = state().world();
            store = w.apiServer().isEmpty() ? new ManifestStore(dir.manifests()) : LabApi.store(w, dir);
        }
        return store;
    }

    /**
     * What {@code lab up} is asked for. {@code routing} and {@code values} may be null; {@code api}
     * is "kubernetes" (the lab's API server, the default when null) or "manifests" (a directory).
     */
    public record UpRequest(int nodes, String routing, Path values, List<Path> manifests, String api) {
        public UpRequest(int nodes, String routing, Path values, List<Path> manifests) { this(nodes, routing, values, manifests, null); }

        boolean apiServer() { return api == null || api.equals("kubernetes"); }
    }

    /** Whether anything of this lab is there: its state directory or any of its namespaces. */
    public boolean exists() {
        return Files.exists(dir.root()) || !LabNet.labNetns(name).isEmpty();
    }

    /** The saved state; bad input when the lab is not there. */
    public LabState state() {
        if (state == null) {
            state = LabState.load(dir.labJson()).orElseThrow(() -> new BadInputException(
                    "lab " + name + " does not exist (expected: `sluice lab up --name " + name + "` first)"));
        }
        return state;
    }

    // ---------------------------------------------------------------- up

    public LabState up(UpRequest req) {
        // 1. validate everything; nothing is made before this is done
        LabNames.validateNodes(req.nodes());
        if (req.routing() != null && !req.routing().equals("native") && !req.routing().equals("tunnel"))
            throw new BadInputException("--routing: " + req.routing() + " (expected one of: native, tunnel)");
        if (req.api() != null && !req.api().equals("kubernetes") && !req.api().equals("manifests"))
            throw new BadInputException("--api: " + req.api() + " (expected one of: kubernetes, manifests)");
        Map<String, Object> over = req.routing() == null ? Map.of() : Map.of("routingMode", req.routing());
        String valuesFile = req.values() == null ? "values" : req.values().toString();
        String valuesText = req.values() == null ? "" : dev.sluice.k8s.ManifestFiles.read(req.values());
        Values.parse(valuesFile, valuesText, over); // errors name the user's file
        // the lab's agents serve metrics and Hubble's API unless the values turn them off (DESIGN.md's lab contract)
        valuesText = Values.withObservability(valuesFile, valuesText);
        // and answer ARP for LoadBalancer and external addresses (leases need the API server)
        if (req.apiServer()) valuesText = Values.withL2Announcements(valuesFile, valuesText);
        Values values = Values.parse(valuesFile, valuesText, over);
        if (!req.apiServer() && values.l2announcements().enabled())
            throw new BadInputException(valuesFile + ": l2announcements.enabled: true (expected: false with --api manifests; the node that"
                    + " announces each Service is elected with Leases, which only the lab's API server holds)");
        List<Cidr> cidrs = Scheduler.podCidrs(values, req.nodes());
        List<String> nodeNames = new ArrayList<>();
        for (int i = 1; i <= req.nodes(); i++) nodeNames.add(LabNames.nodeName(i));
        List<KubeObject> incoming = req.manifests().isEmpty() ? List.of() : ManifestFiles.load(req.manifests());
        if (req.apiServer()) incoming = withClusterDns(incoming, values.serviceCIDR(), nodeNames.getFirst());
        dev.sluice.config.DnsValues.parse(valuesFile, valuesText); // dns.* and dnsProxy.* errors name the user's file
        Planner.ApplyPlan plan = Planner.apply(List.of(), incoming, nodeNames, values.serviceCIDR(), 0);
        String missing = env.missing(!plan.newPods().isEmpty());
        if (missing != null) throw new IllegalStateException(missing);
        String taken = "lab " + name + " exists (expected: a new name, or `sluice lab down --name " + name + "` first)";
        if (exists()) throw new BadInputException(taken);
        try {
            Files.createDirectories(dir.root().getParent());
            Files.createDirectory(dir.root());
        } catch (java.nio.file.FileAlreadyExistsException e) {
            throw new BadInputException(taken);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + dir.root() + ": " + e.getMessage(), e);
        }
        // 2. build; on any failure remove what was made
        try (var lock = lock()) {
            build(req, valuesText, values, cidrs, plan);
            return state;
        } catch (RuntimeException | Error e) {
            progress.accept("failed: " + firstLine(e) + "; removing lab " + name);
            try {
                down();
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    private void build(UpRequest req, String valuesText, Values values, List<Cidr> cidrs, Planner.ApplyPlan plan) {
        write(dir.values(), valuesText);
        List<LabState.NodeState> nodes = new ArrayList<>();
        for (int i = 1; i <= req.nodes(); i++) {
            String n = LabNames.nodeName(i);
            nodes.add(new LabState.NodeState(n, LabNames.nodeNetns(name, i), LabNames.nodeIp(i), cidrs.get(i - 1).toString(),
                    dir.socket(n).toString(), dir.nodeDir(n).toString(), dir.bpffs(n).toString(), dir.nodeLog(n).toString(), 0));
        }
        state = new LabState(name, values.routingMode().word(), dir.values().toString(), req.apiServer() ? "" : dir.manifests().toString(), nodes,
                new LabState.WorldState(LabNames.worldNetns(name), LabNames.WORLD_IP, 0, "", 0), Map.of());
        save();

        String fabric = LabNames.fabricNetns(name);
        LabNet.addNetns(fabric);
        LabNet.bridge(fabric, "br0");
        progress.accept("fabric ready (" + fabric + ", bridge br0)");
        for (int i = 1; i <= req.nodes(); i++) {
            var n = nodes.get(i - 1);
            makeNode(i, n.ip());
            progress.accept(n.name() + " ready: " + n.ip() + ", podCIDR " + n.podCIDR());
        }
        makeWorld();
        long wpid = kubelet.serve(LabNames.worldNetns(name), List.of("serve", "--name", LabNames.WORLD, "--tcp", "80,8080", "--udp", "53"), dir.worldLog());
        state = state.withWorld(state.world().withServer(wpid));
        save();
        progress.accept("world ready: " + LabNames.WORLD_IP + " serving tcp 80,8080 udp 53");
        if (req.apiServer()) {
            long apid = LabApi.start(agents, state.world(), dir, values.serviceCIDR());
            state = state.withWorld(state.world().withApiServer(LabApi.url(), apid));
            save();
            progress.accept("API server ready: " + LabApi.url() + " (pid " + apid + "), kubeconfig " + dir.kubeconfig());
        }
        store = null;

        List<ObjectNode> first = new ArrayList<>();
        for (var n : nodes)
            first.add((ObjectNode) ManifestStore.YAML.readTree(new ClusterNode(n.name(), Map.of("kubernetes.io/hostname", n.name()), n.ip(),
                    List.of(Cidr.parse(n.podCIDR()))).toYaml()));
        plan.writes().stream().filter(b -> !Kinds.POD.equals(b.path("kind").asString())).forEach(first::add);
        store().putAll(first);
        plan.notes().forEach(progress);
        var barrier = store().commit();

        String routing = req.routing();
        Map<String, Long> pids = new LinkedHashMap<>();
        for (var n : nodes) {
            long pid = agents.start(n, store().agentFlags(), dir.values(), routing, LabCgroups.create(name, n.name()));
            pids.put(n.name(), pid);
            state = state.withNode(n.withAgentPid(pid));
            save();
        }
        for (var n : state.nodes()) {
            var st = agents.awaitUp(n, n.agentPid());
            progress.accept(n.name() + " agent up (pid " + n.agentPid() + ", health " + st.path("health").asString("?") + ")");
        }
        agents.await(state.nodes(), barrier);
        syncWorldRoutes();
        if (values.hubbleEnabled() && values.hubbleRelayEnabled()) {
            int uiPort = values.hubbleUiEnabled() ? values.hubbleUiPort() : 0;
            long rpid = HubbleRelayProcess.start(agents, state, dir, uiPort);
            progress.accept("Hubble Relay ready: " + dir.relaySocket() + " and " + LabNames.WORLD_IP + ":" + HubbleRelayProcess.PORT + " (pid " + rpid + ")"
                    + (uiPort == 0 ? "" : "; Hubble UI on http://" + LabNames.WORLD_IP + ":" + uiPort + " (sluice lab ui --name " + name + ")"));
        }
        if (!plan.newPods().isEmpty()) startPods(plan.newPods(), plan.writes());
        writeServiceStatus();
        progress.accept("lab " + name + " ready: " + req.nodes() + " node(s), " + state.pods().size() + " pod(s), routing "
                + state.routing() + ", state in " + (req.apiServer() ? "the API server " + LabApi.url() : dir.manifests()));
    }

    /**
     * The user's manifests plus what a cluster's DNS add-on brings (Service kube-system/kube-dns and
     * its pod on the first node), unless the manifests bring their own kube-dns.
     */
    static List<KubeObject> withClusterDns(List<KubeObject> incoming, Cidr serviceCidr, String node) {
        boolean own = incoming.stream().anyMatch(o -> o.kind().equals(Kinds.SERVICE) && o.namespace().equals(LabDns.NAMESPACE)
                && o.name().equals(LabDns.SERVICE));
        if (own) return incoming;
        List<KubeObject> out = new ArrayList<>();
        if (incoming.stream().noneMatch(o -> o.kind().equals(Kinds.NAMESPACE) && o.name().equals(LabDns.NAMESPACE)))
            out.add(dev.sluice.k8s.ManifestReader.object("lab", ManifestStore.YAML.readTree("{apiVersion: v1, kind: Namespace, metadata: {name: kube-system}}")));
        out.add(dev.sluice.k8s.ManifestReader.object("lab", LabDns.service(serviceCidr)));
        out.add(dev.sluice.k8s.ManifestReader.object("lab", LabDns.pod(node)));
        out.addAll(incoming);
        return out;
    }

    private String dnsAddress;
    private int ndots;

    /** A pod's resolv.conf in a lab with the API server (the cluster DNS); null with --api manifests. */
    private synchronized String resolvConf(String namespace) {
        if (state.world().apiServer().isEmpty()) return null;
        if (dnsAddress == null) {
            ndots = dev.sluice.config.DnsValues.load(dir.values()).ndots();
            dnsAddress = LabDns.clusterIp(Values.load(dir.values(), Map.of()).serviceCIDR());
        }
        return LabDns.resolvConf(dnsAddress, namespace, ndots);
    }

    private void makeNode(int i, String ip) {
        String fabric = LabNames.fabricNetns(name), ns = LabNames.nodeNetns(name, i), port = LabNames.fabricPort(i);
        LabNet.addNetns(ns);
        LabNet.veth(fabric, port, ns, "eth0", UNDERLAY_MTU);
        LabNet.enslave(fabric, port, "br0");
        LabNet.address(ns, "eth0", ip + "/" + LabNames.UNDERLAY_LEN);
        LabNet.sysctl(ns, "net.ipv4.ip_forward", "1");
        LabNet.sysctl(ns, "net.ipv4.conf.all.rp_filter", "0");
        LabNet.sysctl(ns, "net.ipv4.conf.default.rp_filter", "0");
        LabNet.sysctl(ns, "net.ipv4.conf.eth0.rp_filter", "0");
    }

    private void makeWorld() {
        String fabric = LabNames.fabricNetns(name), ns = LabNames.worldNetns(name);
        LabNet.addNetns(ns);
        LabNet.veth(fabric, "w0", ns, "eth0", UNDERLAY_MTU);
        LabNet.enslave(fabric, "w0", "br0");
        LabNet.address(ns, "eth0", LabNames.WORLD_IP + "/" + LabNames.UNDERLAY_LEN);
    }

    /** The routing protocol number that marks the world's on-link routes to announced ranges as the lab's own. */
    static final String WORLD_ROUTE_PROTO = "77";

    /**
     * With L2 announcements, the world sits on the same LAN as the LoadBalancer and external
     * addresses, as an outside host does on a real one: an on-link route (inside the world namespace
     * only) to the values' {@code lbExternalIPPool.cidr}, every {@code externalIPs.allowedCIDRs} and
     * every CiliumLoadBalancerIPPool block, so it asks ARP for them and the announcing node answers.
     * Run at lab up and after an apply or delete that touched a pool; routes of pools that went are
     * removed. Without announcements the world has none (as before).
     */
    private void syncWorldRoutes() {
        Values v = Values.load(dir.values(), Map.of());
        if (!v.l2announcements().enabled()) return; // fixed at lab up: then the world never had such routes
        java.util.Set<String> want = new java.util.TreeSet<>();
        v.lbExternalIPPoolCidr().ifPresent(c -> want.add(c.toString()));
        v.externalIPsAllowedCIDRs().forEach(c -> want.add(c.toString()));
        for (KubeObject o : store().all(Kinds.CILIUM_LB_IP_POOL)) {
            try {
                for (var b : dev.sluice.k8s.LbIpPool.decode(o).blocks()) rangeCidrs(b.first(), b.last()).forEach(c -> want.add(c.toString()));
            } catch (dev.sluice.k8s.ManifestException e) {
                // the agents report it
            }
        }
        String ns = LabNames.worldNetns(name);
        java.util.Set<String> have = new java.util.TreeSet<>();
        for (var r : ManifestStore.YAML.readTree(LabNet.ip(ns, "-j", "route", "show", "proto", WORLD_ROUTE_PROTO).stdout()))
            have.add(Cidr.parse(r.path("dst").asString().contains("/") ? r.path("dst").asString() : r.path("dst").asString() + "/32").toString());
        for (String c : want)
            if (!have.contains(c)) LabNet.ip(ns, "route", "replace", c, "dev", "eth0", "proto", WORLD_ROUTE_PROTO);
        for (String c : have)
            if (!want.contains(c)) LabNet.ip(ns, "route", "del", c, "dev", "eth0", "proto", WORLD_ROUTE_PROTO);
        if (!want.equals(have)) progress.accept("world: on-link routes to announced ranges " + (want.isEmpty() ? "none" : String.join(", ", want)));
    }

    /** The fewest CIDRs that cover exactly the addresses first..last (unsigned, inclusive). */
    static List<Cidr> rangeCidrs(int first, int last) {
        List<Cidr> out = new ArrayList<>();
        long a = Integer.toUnsignedLong(first), z = Integer.toUnsignedLong(last);
        while (a <= z) {
            int len = 32;
            while (len > 0) {
                long size = 1L << (32 - (len - 1));
                if ((a & (size - 1)) != 0 || a + size - 1 > z) break;
                len--;
            }
            out.add(new Cidr((int) a, len));
            a += 1L << (32 - len);
        }
        return out;
    }

    /** Package-level pieces of {@link #up} for tests that check the topology without agents. */
    void makeTopology(int nodes) {
        String fabric = LabNames.fabricNetns(name);
        LabNet.addNetns(fabric);
        LabNet.bridge(fabric, "br0");
        for (int i = 1; i <= nodes; i++) makeNode(i, LabNames.nodeIp(i));
        makeWorld();
    }

    // ---------------------------------------------------------------- pods

    /**
     * Stores the scheduled pods (spec.nodeName, no IP yet) with the other writes and waits until the
     * agents know them, then creates the sandboxes (a few in parallel), stores status.podIP and waits again.
     */
    private void startPods(List<Planner.NewPod> pods, List<ObjectNode> writes) {
        store().putAll(writes.stream().filter(b -> Kinds.POD.equals(b.path("kind").asString())).toList());
        agents.await(state.nodes(), store().commit());
        List<String> failures = new ArrayList<>();
        boolean allBadInput = true;
        try (ExecutorService pool = Executors.newFixedThreadPool(Math.min(CNI_PARALLELISM, pods.size()))) {
            List<Future<?>> fs = new ArrayList<>();
            for (var p : pods) fs.add(pool.submit(() -> startPod(p)));
            for (int i = 0; i < fs.size(); i++) {
                try {
                    fs.get(i).get();
                } catch (java.util.concurrent.ExecutionException e) {
                    failures.add(firstLine(e.getCause()));
                    allBadInput &= e.getCause() instanceof Kubelet.CniException c && c.badInput();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted");
                }
            }
        }
        var barrier = store().commit();
        if (!failures.isEmpty()) {
            String msg = failures.size() + " of " + pods.size() + " pod(s) failed; first: " + failures.getFirst();
            throw allBadInput ? new dev.sluice.BadInputException(msg) : new IllegalStateException(msg);
        }
        agents.await(state.nodes(), barrier);
    }

    private void startPod(Planner.NewPod np) {
        Pod p = np.pod();
        String key = p.key();
        var node = state.node(np.node()).orElseThrow();
        String netns = LabNames.podNetns(name, key);
        String cid = LabNames.containerId(name, key);
        var ps = new LabState.PodState(key, netns, node.name(), "", cid, dir.podLog(key).toString(), 0);
        synchronized (this) {
            state = state.withPod(ps);
            save();
        }
        boolean dnsServer = LabDns.isServerPod(key) && !state.world().apiServer().isEmpty();
        try {
            LabNet.addNetns(netns);
            String resolv = dnsServer ? null : resolvConf(p.namespace());
            if (resolv != null) LabDns.writeResolvConf(netns, resolv); // before any process starts in the pod
            String ip = kubelet.add(key, node.netns(), node.name(), netns, cid);
            long pid = 0;
            var args = dnsServer ? List.<String>of() : Kubelet.serveArgs(key, p.ports());
            if (!args.isEmpty()) pid = kubelet.serve(netns, LabCgroups.node(name, node.name()), args, dir.podLog(key));
            // the lab's API server serves DNS in this pod's namespace once it sees the pod
            if (dnsServer) LabDns.awaitReady(Path.of(LabNet.netnsPath(netns)), LabDns.READY_TIMEOUT_MS);
            ps = new LabState.PodState(key, netns, node.name(), ip, cid, dir.podLog(key).toString(), pid);
            synchronized (this) {
                store().put(Planner.withStatus(np.body(), ip, node.ip()));
                state = state.withPod(ps);
                save();
            }
            progress.accept("pod " + key + " " + ip + " on " + node.name() + (dnsServer ? " (the lab's cluster DNS)" : pid > 0 ? "" : " (no ports: no server)"));
        } catch (RuntimeException e) {
            removePod(ps, true);
            throw e;
        }
    }

    /** Kills the pod's server, CNI DEL, deletes its namespace and, with {@code forget}, its manifest and record. */
    private void removePod(LabState.PodState ps, boolean forget) {
        List<String> errors = new ArrayList<>();
        if (ps.serverPid() > 0) Procs.kill(List.of(ps.serverPid()), 2000);
        var node = state.node(ps.node()).orElse(null);
        if (node != null && LabNet.listNetns().contains(ps.netns())) {
            try {
                kubelet.del(ps.pod(), node.netns(), node.name(), ps.netns(), ps.containerId());
            } catch (RuntimeException e) {
                errors.add(firstLine(e));
            }
        }
        Procs.kill(LabNet.pids(ps.netns()), 2000);
        LabNet.deleteNetns(ps.netns());
        try {
            LabDns.removeResolvConf(ps.netns());
        } catch (RuntimeException e) {
            errors.add(firstLine(e));
        }
        if (forget) {
            String[] k = ps.pod().split("/", 2);
            synchronized (this) {
                store().remove(Kinds.POD, k[0], k[1]);
                state = state.withoutPod(ps.pod());
                save();
            }
        }
        if (!errors.isEmpty()) progress.accept("warning: " + errors.getFirst());
    }

    // ---------------------------------------------------------------- apply, delete, label

    /** Applies manifests; returns what every agent has programmed. */
    public ClusterStore.Barrier apply(List<Path> paths) {
        List<KubeObject> incoming = ManifestFiles.load(paths);
        state();
        try (var lock = lock()) {
            ClusterStore store = store();
            Planner.ApplyPlan plan = Planner.apply(store.stored(incoming), incoming, state.nodes().stream().map(LabState.NodeState::name).toList(),
                    Values.load(dir.values(), Map.of()).serviceCIDR(), state.pods().size());
            String missing = env.missing(!plan.newPods().isEmpty());
            if (missing != null) throw new IllegalStateException(missing);
            plan.notes().forEach(progress);
            Set<String> newKeys = new HashSet<>();
            plan.newPods().forEach(p -> newKeys.add(p.pod().key()));
            List<ObjectNode> now = new ArrayList<>();
            for (var b : plan.writes()) {
                String key = b.path("metadata").path("namespace").asString() + "/" + b.path("metadata").path("name").asString();
                if (!Kinds.POD.equals(b.path("kind").asString()) || !newKeys.contains(key)) now.add(b);
            }
            List<JsonNode> stored = store.putAll(now);
            for (int i = 0; i < now.size(); i++) {
                JsonNode b = now.get(i);
                if (Kinds.SERVICE.equals(b.path("kind").asString()) && b.path("spec").path("clusterIP").asString("").isEmpty())
                    progress.accept("service " + stored.get(i).path("metadata").path("namespace").asString() + "/"
                            + stored.get(i).path("metadata").path("name").asString() + " clusterIP " + stored.get(i).path("spec").path("clusterIP").asString());
            }
            if (!plan.newPods().isEmpty()) {
                startPods(plan.newPods(), plan.writes());
            } else {
                agents.await(state.nodes(), store.commit());
            }
            writeServiceStatus();
            var barrier = store.commit();
            agents.await(state.nodes(), barrier);
            if (incoming.stream().anyMatch(o -> o.kind().equals(Kinds.CILIUM_LB_IP_POOL))) syncWorldRoutes();
            progress.accept("applied " + incoming.size() + " object(s); " + describe(barrier) + " programmed on every node");
            return barrier;
        }
    }

    /**
     * As the API server does with what the load balancer controller reports: the LoadBalancer
     * addresses the agents allocated go into each Service's status.loadBalancer.ingress, so they
     * stay the same from then on. Waits for the agents again when anything changed.
     */
    private void writeServiceStatus() {
        if (state.nodes().isEmpty()) return;
        var services = dev.sluice.agent.api.AgentClient.call(dir.socket(state.nodes().getFirst().name()), "services", Map.of("type", "LoadBalancer"));
        boolean changed = false;
        for (var s : services) {
            String[] key = s.path("service").asString("").split("/", 2);
            if (key.length != 2 || !"LoadBalancer".equals(s.path("type").asString())) continue;
            var stored = store().get(Kinds.SERVICE, key[0], key[1]);
            if (stored.isEmpty()) continue;
            ObjectNode body = (ObjectNode) stored.get().body().json().deepCopy();
            var ingress = ManifestStore.YAML.createArrayNode();
            s.path("ingressIPs").forEach(ip -> ingress.addObject().put("ip", ip.asString()));
            if (ingress.equals(body.path("status").path("loadBalancer").path("ingress"))) continue;
            body.withObject("status").withObject("loadBalancer").set("ingress", ingress);
            store().put(body);
            changed = true;
            progress.accept("service " + s.path("service").asString() + " status.loadBalancer.ingress " + ingress);
        }
        if (changed) agents.await(state.nodes(), store().commit());
    }

    public ClusterStore.Barrier delete(List<Path> paths) {
        List<KubeObject> incoming = ManifestFiles.load(paths);
        state();
        try (var lock = lock()) {
            ClusterStore store = store();
            Planner.DeletePlan plan = Planner.delete(store.stored(incoming), incoming);
            // contents before their namespace: the API server would otherwise take them with it later
            List<KubeObject> removals = new ArrayList<>(plan.removals());
            removals.sort(java.util.Comparator.comparing(o -> o.kind().equals(Kinds.NAMESPACE)));
            for (KubeObject o : removals) store.remove(o.kind(), o.namespace(), o.name());
            for (String key : plan.pods()) {
                var ps = state.pods().get(key);
                if (ps != null) {
                    removePod(ps, true);
                    progress.accept("pod " + key + " deleted");
                }
            }
            var barrier = store.commit();
            agents.await(state.nodes(), barrier);
            if (plan.removals().stream().anyMatch(o -> o.kind().equals(Kinds.CILIUM_LB_IP_POOL))) syncWorldRoutes();
            progress.accept("deleted " + plan.removals().size() + " object(s); " + describe(barrier) + " programmed on every node");
            return barrier;
        }
    }

    /** {@code kind} is "pod" (target ns/name) or "namespace" (target name). */
    public ClusterStore.Barrier label(String kind, String target, List<String> changes) {
        state();
        try (var lock = lock()) {
            ClusterStore store = store();
            KubeObject o;
            if (kind.equals("pod")) {
                String[] k = target.split("/", 2);
                if (k.length != 2) throw new BadInputException("pod: " + target + " (expected: NAMESPACE/NAME)");
                o = store.get(Kinds.POD, k[0], k[1]).orElseThrow(() -> new BadInputException(
                        "pod " + target + " not found in lab " + name + " (expected one of: " + String.join(", ", state.pods().keySet()) + ")"));
            } else if (kind.equals("namespace")) {
                o = store.get(Kinds.NAMESPACE, "", target).orElseThrow(() -> new BadInputException(
                        "namespace " + target + " not found in lab " + name + " (expected one of: "
                                + String.join(", ", store.all(Kinds.NAMESPACE).stream().map(KubeObject::name).toList()) + ")"));
            } else {
                throw new BadInputException(kind + " (expected: pod or namespace)");
            }
            store.put(Planner.label(o, changes));
            var barrier = store.commit();
            agents.await(state.nodes(), barrier);
            progress.accept(kind + " " + target + " labeled; " + describe(barrier) + " programmed on every node");
            return barrier;
        }
    }

    // ---------------------------------------------------------------- kubelet as a controller

    /**
     * What the lab's scheduler and kubelet do for pods that reached the API server some other way
     * than {@code lab apply} (kubectl): a pod without an address gets a node (round-robin, unless
     * spec.nodeName names a lab node) and a sandbox; a pod the lab runs that the API no longer has
     * loses its sandbox. Under the lab's lock, so it never runs beside a lab command. Returns one
     * line per pod it acted on.
     */
    public List<String> reconcilePods() {
        List<String> did = new ArrayList<>();
        try (var lock = lock()) {
            state = LabState.load(dir.labJson()).orElse(null);
            if (state == null || state.world().apiServer().isEmpty()) return did;
            List<String> nodeNames = state.nodes().stream().map(LabState.NodeState::name).toList();
            Map<String, KubeObject> inApi = new LinkedHashMap<>();
            for (KubeObject o : store().all(Kinds.POD)) inApi.put(o.namespace() + "/" + o.name(), o);
            for (var ps : List.copyOf(state.pods().values())) {
                if (inApi.containsKey(ps.pod())) continue;
                removePod(ps, true);
                did.add("pod " + ps.pod() + " deleted");
            }
            List<Pod> toPlace = new ArrayList<>();
            Map<String, ObjectNode> bodies = new LinkedHashMap<>();
            for (var e : inApi.entrySet()) {
                if (state.pods().containsKey(e.getKey())) continue;
                Pod p;
                try {
                    p = Pod.decode(e.getValue());
                } catch (dev.sluice.k8s.ManifestException ex) {
                    did.add("pod " + e.getKey() + " not started: " + ex.getMessage());
                    continue;
                }
                if (!p.podIP().isEmpty() || (!p.nodeName().isEmpty() && !nodeNames.contains(p.nodeName()))) continue;
                toPlace.add(p);
                ObjectNode body = (ObjectNode) e.getValue().body().json().deepCopy();
                body.remove("status");
                bodies.put(p.key(), body);
            }
            if (toPlace.isEmpty()) return did;
            Map<String, String> placed = Scheduler.place(toPlace, nodeNames, state.pods().size());
            List<Planner.NewPod> newPods = new ArrayList<>();
            List<ObjectNode> writes = new ArrayList<>();
            for (Pod p : toPlace) {
                ObjectNode body = bodies.get(p.key());
                body.withObject("spec").put("nodeName", placed.get(p.key()));
                writes.add(body);
                newPods.add(new Planner.NewPod(p.withNodeName(placed.get(p.key())), placed.get(p.key()), body));
            }
            startPods(newPods, writes);
            newPods.forEach(np -> did.add("pod " + np.pod().key() + " started on " + np.node()));
        }
        return did;
    }

    // ---------------------------------------------------------------- down

    /**
     * Removes everything of this lab, also after a crash: recorded processes and any process inside
     * its namespaces, every namespace named {@code sl-<lab>-*}, its pinned maps and its state
     * directory. Returns false when nothing was there.
     */
    public boolean down() {
        var saved = LabState.load(dir.labJson());
        List<String> netns = LabNet.labNetns(name);
        boolean bpf = Files.exists(dir.bpffs());
        boolean any = !netns.isEmpty() || Files.exists(dir.root()) || bpf || !LabCgroups.all(name).isEmpty();
        if (!any) return false;
        Set<String> inodes = new HashSet<>();
        for (String ns : netns) {
            try {
                inodes.add("net:[" + Files.getAttribute(Path.of(LabNet.netnsPath(ns)), "unix:ino") + "]");
            } catch (IOException | UnsupportedOperationException | IllegalArgumentException ignored) {
                // gone meanwhile
            }
        }
        Set<Long> kill = new java.util.LinkedHashSet<>();
        for (String ns : netns) kill.addAll(LabNet.pids(ns));
        if (saved.isPresent()) {
            for (long pid : saved.get().pids()) {
                if (!Procs.alive(pid)) continue;
                String cmd = Procs.cmdline(pid).orElse("");
                boolean ours = Procs.netns(pid).map(inodes::contains).orElse(false)
                        || cmd.contains(dir.root().toString()) || cmd.contains("sluice-pod");
                if (ours) kill.add(pid);
            }
        }
        kill.remove(ProcessHandle.current().pid());
        if (!kill.isEmpty()) Procs.kill(new ArrayList<>(kill), 5000);
        // pods first, fabric last: links go with their namespaces
        List<String> order = new ArrayList<>(netns);
        order.sort((a, b) -> Integer.compare(rank(a), rank(b)));
        List<String> errors = new ArrayList<>();
        for (String ns : order) {
            try {
                LabNet.deleteNetns(ns);
            } catch (RuntimeException e) {
                errors.add(firstLine(e));
            }
        }
        LabDns.removeAll(LabNames.prefix(name), errors);
        // after the processes: a cgroup goes only once empty, and takes the socket LB's links with it
        LabCgroups.removeAll(name, errors);
        removeTree(dir.bpffs(), errors);
        removeTree(dir.root(), errors);
        List<String> left = LabNet.labNetns(name);
        if (!left.isEmpty()) errors.add("namespaces left: " + String.join(", ", left));
        if (!errors.isEmpty()) throw new IllegalStateException("lab " + name + " not fully removed: " + String.join("; ", errors));
        state = null;
        return true;
    }

    private int rank(String ns) {
        String rest = ns.substring(LabNames.prefix(name).length());
        if (rest.equals("fabric")) return 3;
        if (rest.equals(LabNames.WORLD) || rest.startsWith("node")) return 2;
        return 1;
    }

    private static void removeTree(Path p, List<String> errors) {
        if (!Files.exists(p)) return;
        var r = Procs.run(List.of("rm", "-rf", "--one-file-system", p.toString()));
        if (!r.ok() || Files.exists(p)) errors.add(r.describe());
    }

    // ---------------------------------------------------------------- helpers

    static String describe(ClusterStore.Barrier b) {
        return b.versions().isEmpty() ? "generation " + b.generation() : "resourceVersion " + b.versions().values().stream().mapToLong(Long::longValue).max().orElse(0);
    }

    private void save() {
        if (state != null) state.save(dir.labJson());
    }

    static void write(Path p, String text) {
        try {
            Files.createDirectories(p.getParent());
            Files.writeString(p, text);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + p + ": " + e.getMessage(), e);
        }
    }

    /** Serializes changes to one lab between CLI processes. */
    private AutoCloseable0 lock() {
        try {
            Files.createDirectories(dir.root());
            FileChannel ch = FileChannel.open(dir.lock(), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock l = ch.lock();
            return () -> {
                try {
                    l.release();
                    ch.close();
                } catch (IOException ignored) {
                    // the lock file may be gone with the lab
                }
            };
        } catch (IOException e) {
            throw new UncheckedIOException("cannot lock " + dir.lock() + ": " + e.getMessage(), e);
        }
    }

    interface AutoCloseable0 extends AutoCloseable {
        @Override void close();
    }

    static String firstLine(Throwable t) {
        String m = t.getMessage() == null ? t.toString() : t.getMessage();
        return m.lines().findFirst().orElse(m);
    }
}
