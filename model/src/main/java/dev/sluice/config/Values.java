package dev.sluice.config;

import dev.sluice.k8s.ManifestException;
import dev.sluice.k8s.ManifestReader;
import dev.sluice.k8s.Node;
import dev.sluice.net.Cidr;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import tools.jackson.databind.JsonNode;

/**
 * The validated configuration, read from a Helm-style values file. Real Cilium keys are accepted
 * beside the guide's own ({@code lbExternalIPPool.cidr}, {@code conntrack.enabled},
 * {@code lb.algorithm}, {@code policyEnforceMode}); every key, default and meaning is listed in
 * docs/configuration.md. An unknown key or a bad value is one error naming the file, key and what
 * was expected.
 */
public record Values(
        RoutingMode routingMode,
        int tunnelPort,
        int mtu,
        String ipamMode,
        List<Cidr> clusterPoolIPv4PodCIDRList,
        int clusterPoolIPv4MaskSize,
        boolean kubeProxyReplacement,
        boolean masquerade,
        int ctTcpMax,
        int ctAnyMax,
        boolean conntrackEnabled,
        int policyMapMax,
        int lbMapMax,
        String lbAlgorithm,
        String serviceNoBackendResponse,
        int maglevTableSize,
        String maglevHashSeed,
        Optional<Cidr> lbExternalIPPoolCidr,
        List<Cidr> externalIPsAllowedCIDRs,
        int nodePortMin,
        int nodePortMax,
        String policyEnforcementMode,
        boolean policyAuditMode,
        List<String> identityLabels,
        boolean hubbleEnabled,
        List<String> hubbleMetrics,
        Cidr serviceCIDR,
        String healthAddress,
        String monitorAggregation,
        int monitorAggregationInterval,
        int hubbleEventBufferCapacity,
        Metrics metrics,
        String hubbleListenAddress,
        boolean hubbleRelayEnabled,
        boolean hubbleUiEnabled,
        int hubbleUiPort,
        L2Announcements l2announcements,
        String lbMode,
        SocketLb socketLb,
        HttpProxyValues httpProxy) {

    /**
     * {@code l2announcements.*}, as Cilium names them: whether this node takes part in answering ARP
     * for LoadBalancer and external addresses that a CiliumL2AnnouncementPolicy selects, and the
     * leader election of one node per Service (a coordination.k8s.io Lease). Off by default, as in
     * Cilium; the lab turns it on (docs/lab.md).
     *
     * @param leaseDuration how long a lease holds without renewal: how long a dead holder's node
     *                      keeps answering, and the longest wait before another node takes over
     * @param renewDeadline how long the holder keeps trying to renew before it gives the address up
     * @param retryPeriod   how often every candidate tries to acquire or renew
     */
    public record L2Announcements(boolean enabled, java.time.Duration leaseDuration, java.time.Duration renewDeadline,
                                  java.time.Duration retryPeriod) {
        public static final L2Announcements DEFAULT = new L2Announcements(false, java.time.Duration.ofSeconds(15),
                java.time.Duration.ofSeconds(5), java.time.Duration.ofSeconds(2));
    }

    /** loadBalancer.mode values, as Cilium names them: source NAT, direct server return, DSR for TCP and SNAT for UDP. */
    public static final List<String> LB_MODES = List.of("snat", "dsr", "hybrid");

    /** Whether TCP (or UDP) NodePort, LoadBalancer and external-IP flows to another node's backend use DSR. */
    public boolean dsr(boolean tcp) { return lbMode.equals("dsr") || (tcp && lbMode.equals("hybrid")); }

    /**
     * Socket-level load balancing (docs/services.md, "Socket load balancing").
     *
     * @param enabled           {@code socketLB.enabled}; by default on exactly when kubeProxyReplacement is
     * @param hostNamespaceOnly {@code socketLB.hostNamespaceOnly}: translate only the node's own
     *                          namespace's sockets, pods keep the per-packet path
     * @param cgroupHostRoot    {@code cgroup.hostRoot}: the cgroup v2 directory the programs attach to;
     *                          "" for the cgroup2 mount's root (a real node's processes, all of them)
     */
    public record SocketLb(boolean enabled, boolean hostNamespaceOnly, String cgroupHostRoot) {}

    /** hubble.ui.port's default: Cilium's hubble-ui serves on 12000 (its frontend's port). */
    public static final int DEFAULT_HUBBLE_UI_PORT = 12000;

    /**
     * Prometheus endpoints (docs/observability.md, "Metrics"): the agent's own metrics on
     * {@code prometheus.port}, the {@code hubble_*} ones chosen by {@code hubble.metrics.enabled} on
     * {@code hubble.metrics.port}; both on every address of the node, as Cilium's {@code :9962}, {@code :9965}.
     */
    public record Metrics(boolean prometheusEnabled, int prometheusPort, List<HubbleMetric> hubble, int hubblePort) {
        public Metrics { hubble = List.copyOf(hubble); }
    }

    /**
     * Off unless listed, as in Cilium (the agent's {@code --hubble-metrics} and
     * {@code --prometheus-serve-addr} are empty by default, {@code --enable-hubble} is false): an
     * agent serves nothing it was not asked for, and its idle memory stays its own (the metrics
     * endpoints cost an idle agent about 10 MiB, Hubble's gRPC API 10-16 MiB). The Helm chart and the
     * lab turn them on ({@link #withObservability}).
     */
    public static final List<String> DEFAULT_HUBBLE_METRICS = List.of();

    /**
     * A values file's text with what a deployment serves turned on where the file does not set it
     * itself (what the file says wins): the agent's metrics, every hubble_* metric and Hubble's gRPC
     * API ({@code prometheus.enabled}, {@code hubble.metrics.enabled}, {@code hubble.enabled}). The
     * Helm chart's values are this; the lab's agents read it (DESIGN.md's lab contract: :9962,
     * :9965, hubble.sock and :4244 on every node). The relay stays opt-in
     * ({@code hubble.relay.enabled}). The text must parse ({@link #parse} first).
     */
    public static String withObservability(String file, String text) {
        JsonNode root = text == null || text.isBlank() ? null
                : ManifestReader.documents(file, text).stream().filter(d -> d != null && d.isObject()).findFirst().orElse(null);
        var tree = root == null ? tools.jackson.databind.node.JsonNodeFactory.instance.objectNode() : (tools.jackson.databind.node.ObjectNode) root.deepCopy();
        if (!tree.path("prometheus").has("enabled")) tree.withObject("prometheus").put("enabled", true);
        if (!tree.path("hubble").has("enabled")) tree.withObject("hubble").put("enabled", true);
        if (!tree.path("hubble").path("metrics").has("enabled")) {
            var list = tree.withObject("hubble").withObject("metrics").putArray("enabled");
            HubbleMetric.NAMES.forEach(list::add);
        }
        return new tools.jackson.dataformat.yaml.YAMLMapper().writeValueAsString(tree);
    }

    /**
     * A values file's text with {@code l2announcements.enabled: true} where the file does not set it
     * (what the file says wins): the lab's default when it runs its API server, so LoadBalancer and
     * external addresses answer ARP on the lab's LAN (docs/lab.md). The text must parse.
     */
    public static String withL2Announcements(String file, String text) {
        JsonNode root = text == null || text.isBlank() ? null
                : ManifestReader.documents(file, text).stream().filter(d -> d != null && d.isObject()).findFirst().orElse(null);
        var tree = root == null ? tools.jackson.databind.node.JsonNodeFactory.instance.objectNode() : (tools.jackson.databind.node.ObjectNode) root.deepCopy();
        if (!tree.path("l2announcements").has("enabled")) tree.withObject("l2announcements").put("enabled", true);
        return new tools.jackson.dataformat.yaml.YAMLMapper().writeValueAsString(tree);
    }

    public enum RoutingMode { NATIVE, TUNNEL;
        public String word() { return name().toLowerCase(); } }

    /** Maglev table sizes Cilium accepts: primes, each about double the previous. */
    public static final List<Integer> MAGLEV_SIZES = List.of(251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071);
    public static final String DEFAULT_MAGLEV_SEED = "JLfvgnHc2kaSUFaI";
    /**
     * The ClusterIP range ({@code serviceCIDR}, kube-apiserver's --service-cluster-ip-range); the
     * lab allocates ClusterIPs from it (dev.sluice.lb.ClusterIpAllocator). Kubernetes' default.
     */
    public static final String DEFAULT_SERVICE_CIDR = "10.96.0.0/12";

    /** bpf.monitorAggregation levels, as Cilium names them (docs/observability.md). */
    public static final List<String> MONITOR_AGGREGATION = List.of("none", "low", "medium", "maximum");
    /** bpf.monitorAggregationInterval's default in seconds, Cilium's (5s). */
    public static final int DEFAULT_MONITOR_INTERVAL = 5;
    /** Its largest value: 16 bits of node_config.flags hold it. */
    public static final int MAX_MONITOR_INTERVAL = 65535;
    private static final java.util.regex.Pattern DURATION = java.util.regex.Pattern.compile("((\\d+)(h|m|s|ms))+");
    private static final java.util.regex.Pattern DURATION_PART = java.util.regex.Pattern.compile("(\\d+)(h|ms|m|s)");
    /** hubble.eventBufferCapacity's default, Cilium's. */
    public static final int DEFAULT_EVENT_BUFFER_CAPACITY = 4095;

    /** Where /healthz and /readyz are served by default: Cilium's health port, on loopback. */
    public static final String DEFAULT_HEALTH_ADDRESS = "127.0.0.1:9879";

    /** hubble.listenAddress's default, Cilium's: the Observer on every address of the node, port 4244. */
    public static final String DEFAULT_HUBBLE_LISTEN_ADDRESS = ":4244";
    private static final java.util.regex.Pattern HUBBLE_LISTEN = java.util.regex.Pattern.compile("(\\[[0-9A-Fa-f:.]+]|[A-Za-z0-9.-]*):(\\d{1,5})");
    private static final java.util.regex.Pattern HOST_PORT = java.util.regex.Pattern.compile("(\\[[0-9A-Fa-f:.]+]|[A-Za-z0-9.-]+):(\\d{1,5})");

    public static Values defaults() { return read("", Map.of()); }

    /** Parses a values file's text; {@code overrides} (dotted key to value) win over the file. */
    /** Reads and parses a values file; unreadable or not UTF-8 is one error naming the file. */
    public static Values load(java.nio.file.Path file, Map<String, Object> overrides) {
        return parse(file.toString(), dev.sluice.k8s.ManifestFiles.read(file), overrides);
    }

    public static Values parse(String file, String text, Map<String, Object> overrides) {
        Map<String, Object> flat = flat(file, text);
        flat.putAll(overrides);
        return read(file, flat);
    }

    /** A values file's text as dotted keys to values; unknown keys are errors naming the file. */
    static Map<String, Object> flat(String file, String text) {
        Map<String, Object> flat = new LinkedHashMap<>();
        if (text != null && !text.isBlank()) {
            List<JsonNode> docs = ManifestReader.documents(file, text).stream()
                    .filter(d -> d != null && !d.isNull() && !d.isMissingNode()).toList();
            if (docs.size() > 1) throw new ManifestException(file, "", "", docs.size() + " YAML documents (expected: one map of values)");
            if (!docs.isEmpty()) {
                JsonNode root = docs.getFirst();
                if (!root.isObject()) throw new ManifestException(file, "", "", "expected: a map of values");
                flatten(file, "", new Node(root, file, "", ""), flat);
            }
        }
        return flat;
    }

    private static void flatten(String file, String prefix, Node n, Map<String, Object> out) {
        for (var e : n.fields().entrySet()) {
            String key = prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey();
            Node v = e.getValue();
            if (v.json() != null && v.json().isObject() && !Schema.isKey(key)) {
                if (!Schema.isPrefix(key)) throw new ManifestException(file, "", key, Schema.unknown(key));
                flatten(file, key, v, out);
            } else if (Schema.isPrefix(key) && !Schema.isKey(key)) {
                if (v.isNull()) continue; // an empty group, as "hubble:" with nothing under it
                throw new ManifestException(file, "", key, Schema.Reader.text(v.json()) + " (expected: a map of " + key + ".* keys)");
            } else {
                if (!Schema.isKey(key)) throw new ManifestException(file, "", key, Schema.unknown(key));
                out.put(key, v.json());
            }
        }
    }

    private static Values read(String file, Map<String, Object> flat) {
        var r = new Schema.Reader(file, flat);
        RoutingMode mode = RoutingMode.valueOf(r.word("routingMode", "tunnel", "native", "tunnel").toUpperCase());
        r.word("tunnelProtocol", "vxlan", "vxlan");
        int tunnelPort = r.integer("tunnelPort", 8472, 1, 65535);
        int mtu = r.integer("mtu", 0, 0, 65535);
        if (mtu != 0 && mtu < 1280) throw new ManifestException(file, "", "mtu", mtu + " (expected: 0 for automatic, or 1280-65535)");
        String ipamMode = r.word("ipam.mode", "cluster-pool", "cluster-pool", "kubernetes");
        List<Cidr> pool = r.cidrs("ipam.operator.clusterPoolIPv4PodCIDRList", List.of("10.0.0.0/8"));
        if (pool.isEmpty()) throw new ManifestException(file, "", "ipam.operator.clusterPoolIPv4PodCIDRList", "empty (expected: at least one CIDR)");
        int mask = r.integer("ipam.operator.clusterPoolIPv4MaskSize", 24, 1, 30);
        for (Cidr c : pool)
            if (c.prefixLength() > mask)
                throw new ManifestException(file, "", "ipam.operator.clusterPoolIPv4MaskSize", mask + " (expected: at least the prefix length of " + c + ")");
        boolean kpr = r.bool("kubeProxyReplacement", true);
        r.string("k8sServiceHost", "");
        r.integer("k8sServicePort", 6443, 1, 65535);
        boolean masq = r.bool("bpf.masquerade", false);
        int ctTcp = r.integer("bpf.ctTcpMax", 524288, 2048, 1 << 24);
        int ctAny = r.integer("bpf.ctAnyMax", 262144, 2048, 1 << 24);
        boolean ct = r.bool("conntrack.enabled", true);
        int policyMax = r.integer("bpf.policyMapMax", 16384, 4, 1 << 16);
        int lbMax = r.integer("bpf.lbMapMax", 65536, 1024, 1 << 24);
        String alg = r.word("loadBalancer.algorithm", "random", "random", "maglev");
        if (flat.containsKey("lb.algorithm")) alg = r.word("lb.algorithm", alg, "random", "maglev");
        String noBackend = r.word("serviceNoBackendResponse", "reject", "reject", "drop");
        String lbMode = r.word("loadBalancer.mode", "snat", LB_MODES.toArray(String[]::new));
        if (!lbMode.equals("snat") && mode == RoutingMode.TUNNEL)
            throw new ManifestException(file, "", "loadBalancer.mode", lbMode + " (expected: snat with routingMode tunnel; DSR needs routingMode: native)");
        int maglevSize = r.integer("maglev.tableSize", 16381, 251, 131071);
        if (!MAGLEV_SIZES.contains(maglevSize))
            throw new ManifestException(file, "", "maglev.tableSize", maglevSize + " (expected one of: " + MAGLEV_SIZES + ")");
        String seed = r.string("maglev.hashSeed", DEFAULT_MAGLEV_SEED);
        if (seed.length() != 16) throw new ManifestException(file, "", "maglev.hashSeed", "\"" + seed + "\" (expected: 16 characters)");
        Optional<Cidr> lbPool = r.optCidr("lbExternalIPPool.cidr");
        List<Cidr> extIps = r.cidrs("externalIPs.allowedCIDRs", List.of());
        String range = r.string("nodePort.range", "30000,32767");
        if (!range.matches("\\d{1,5},\\d{1,5}"))
            throw new ManifestException(file, "", "nodePort.range", "\"" + range + "\" (expected: MIN,MAX e.g. 30000,32767)");
        int npMin = Integer.parseInt(range.split(",")[0]), npMax = Integer.parseInt(range.split(",")[1]);
        if (npMin < 1 || npMax > 65535 || npMin > npMax)
            throw new ManifestException(file, "", "nodePort.range", "\"" + range + "\" (expected: 1 <= MIN <= MAX <= 65535)");
        String enf = r.word("policyEnforcementMode", "default", "default", "always", "never");
        if (flat.containsKey("policyEnforceMode")) enf = r.word("policyEnforceMode", enf, "default", "always", "never");
        boolean audit = r.bool("policyAuditMode", false);
        List<String> idLabels = r.strings("labels", List.of());
        boolean hubble = r.bool("hubble.enabled", false);
        boolean relay = r.bool("hubble.relay.enabled", false);
        r.integer("hubble.relay.replicas", 1, 0, 100);
        boolean ui = r.bool("hubble.ui.enabled", false);
        int uiPort = r.integer("hubble.ui.port", DEFAULT_HUBBLE_UI_PORT, 1, 65535);
        if (ui && !relay) throw new ManifestException(file, "", "hubble.ui.enabled", "true (expected: with hubble.relay.enabled: true; the relay serves the UI)");
        if (ui && uiPort == 4245) throw new ManifestException(file, "", "hubble.ui.port", uiPort + " (expected: a port other than Hubble Relay's 4245)");
        List<String> metrics = r.strings("hubble.metrics.enabled", DEFAULT_HUBBLE_METRICS);
        var endpoints = new Metrics(r.bool("prometheus.enabled", false), r.integer("prometheus.port", 9962, 1, 65535),
                HubbleMetric.parseAll(file, "hubble.metrics.enabled", metrics), r.integer("hubble.metrics.port", 9965, 1, 65535));
        if (endpoints.prometheusEnabled() && !endpoints.hubble().isEmpty() && endpoints.prometheusPort() == endpoints.hubblePort())
            throw new ManifestException(file, "", "hubble.metrics.port", endpoints.hubblePort() + " (expected: a port other than prometheus.port's)");
        String aggregation = r.word("bpf.monitorAggregation", "medium", MONITOR_AGGREGATION.toArray(String[]::new));
        int interval = flat.containsKey("bpf.monitorAggregationInterval")
                ? seconds(file, "bpf.monitorAggregationInterval", r.string("bpf.monitorAggregationInterval", ""))
                : seconds(file, "bpf.monitorInterval", r.string("bpf.monitorInterval", DEFAULT_MONITOR_INTERVAL + "s"));
        int capacity = r.integer("hubble.eventBufferCapacity", DEFAULT_EVENT_BUFFER_CAPACITY, 1, (1 << 30) - 1);
        if ((capacity & (capacity + 1)) != 0)
            throw new ManifestException(file, "", "hubble.eventBufferCapacity", capacity + " (expected: a power of two minus one, e.g. 4095 or 65535)");
        for (String k : List.of("resources.limits.cpu", "resources.limits.memory", "resources.requests.cpu", "resources.requests.memory"))
            r.string(k, "");
        r.bool("debug.enabled", false);
        r.string("cluster.name", "default");
        String hubbleListen = r.string("hubble.listenAddress", DEFAULT_HUBBLE_LISTEN_ADDRESS);
        var hl = HUBBLE_LISTEN.matcher(hubbleListen);
        if (!hubbleListen.isEmpty() && (!hl.matches() || Integer.parseInt(hl.group(2)) < 1 || Integer.parseInt(hl.group(2)) > 65535))
            throw new ManifestException(file, "", "hubble.listenAddress", "\"" + hubbleListen + "\" (expected: [HOST]:PORT with PORT 1-65535, or \"\" for the Unix socket only)");
        Cidr serviceCidr = r.optCidr("serviceCIDR").orElse(Cidr.parse(DEFAULT_SERVICE_CIDR));
        String health = r.string("healthAddress", DEFAULT_HEALTH_ADDRESS);
        var hp = HOST_PORT.matcher(health);
        if (!health.isEmpty() && (!hp.matches() || Integer.parseInt(hp.group(2)) < 1 || Integer.parseInt(hp.group(2)) > 65535))
            throw new ManifestException(file, "", "healthAddress", "\"" + health + "\" (expected: HOST:PORT with PORT 1-65535, or \"\" for off)");
        // The chart's own keys: checked here too, so a bad one fails in the agent's ConfigMap copy as well as in the chart.
        for (String k : List.of("image.repository", "image.tag", "devices", "cni.binPath", "cni.confPath")) r.string(k, "");
        r.word("image.pullPolicy", "IfNotPresent", "Always", "IfNotPresent", "Never");
        boolean l2 = r.bool("l2announcements.enabled", false);
        var lease = duration(file, "l2announcements.leaseDuration", r.string("l2announcements.leaseDuration", "15s"), 1000, 3_600_000);
        var renew = duration(file, "l2announcements.leaseRenewDeadline", r.string("l2announcements.leaseRenewDeadline", "5s"), 200, 3_600_000);
        var retry = duration(file, "l2announcements.leaseRetryPeriod", r.string("l2announcements.leaseRetryPeriod", "2s"), 100, 3_600_000);
        if (renew.compareTo(lease) >= 0)
            throw new ManifestException(file, "", "l2announcements.leaseRenewDeadline", text(renew) + " (expected: less than l2announcements.leaseDuration " + text(lease) + ")");
        if (retry.compareTo(renew) >= 0)
            throw new ManifestException(file, "", "l2announcements.leaseRetryPeriod", text(retry) + " (expected: less than l2announcements.leaseRenewDeadline " + text(renew) + ")");
        var l2a = new L2Announcements(l2, lease, renew, retry);
        r.bool("cni.install", true);
        r.bool("cni.uninstall", false);
        boolean sockEnabled = r.bool("socketLB.enabled", kpr);
        String hostRoot = r.string("cgroup.hostRoot", "");
        if (!hostRoot.isEmpty() && !hostRoot.startsWith("/"))
            throw new ManifestException(file, "", "cgroup.hostRoot", "\"" + hostRoot + "\" (expected: an absolute path of a cgroup v2 directory, or \"\" for the cgroup2 mount)");
        var socketLb = new SocketLb(sockEnabled, r.bool("socketLB.hostNamespaceOnly", false), hostRoot);
        return new Values(mode, tunnelPort, mtu, ipamMode, pool, mask, kpr, masq, ctTcp, ctAny, ct, policyMax, lbMax, alg,
                noBackend, maglevSize, seed, lbPool, extIps, npMin, npMax, enf, audit, idLabels, hubble, metrics, serviceCidr, health,
                aggregation, interval, capacity, endpoints, hubbleListen, relay, ui, uiPort, l2a, lbMode, socketLb,
                HttpProxyValues.read(file, r));
    }

    /**
     * A duration as Cilium writes them ({@code 15s}, {@code 1m}, {@code 1500ms}) from {@code minMs}
     * to {@code maxMs} milliseconds.
     */
    static java.time.Duration duration(String file, String key, String text, long minMs, long maxMs) {
        String expected = " (expected: a duration from " + text(java.time.Duration.ofMillis(minMs)) + " to "
                + text(java.time.Duration.ofMillis(maxMs)) + ", e.g. 15s, 1m30s or 1500ms)";
        long ms = millis(file, key, text, expected);
        if (ms < minMs || ms > maxMs) throw new ManifestException(file, "", key, "\"" + text + "\"" + expected);
        return java.time.Duration.ofMillis(ms);
    }

    /** Milliseconds of a duration written as Cilium writes them; {@code expected} ends the error. */
    private static long millis(String file, String key, String text, String expected) {
        if (!DURATION.matcher(text).matches()) throw new ManifestException(file, "", key, "\"" + text + "\"" + expected);
        long ms = 0;
        var m = DURATION_PART.matcher(text);
        while (m.find()) {
            if (m.group(1).length() > 9) throw new ManifestException(file, "", key, "\"" + text + "\"" + expected);
            long n = Long.parseLong(m.group(1));
            ms += switch (m.group(2)) { case "h" -> n * 3_600_000; case "m" -> n * 60_000; case "s" -> n * 1000; default -> n; };
        }
        return ms;
    }

    /** A duration as the values write it: whole seconds as {@code 15s}, else milliseconds. */
    public static String text(java.time.Duration d) { return d.toMillis() % 1000 == 0 ? d.toSeconds() + "s" : d.toMillis() + "ms"; }

    /**
     * A duration as Cilium writes them ({@code 5s}, {@code 1m30s}, {@code 1500ms}) in whole seconds,
     * 0 (no periodic report) to {@link #MAX_MONITOR_INTERVAL}.
     */
    static int seconds(String file, String key, String text) {
        String expected = " (expected: a duration of whole seconds from 0s to " + MAX_MONITOR_INTERVAL + "s, e.g. 5s or 1m30s)";
        long ms = millis(file, key, text, expected);
        if (ms % 1000 != 0 || ms / 1000 > MAX_MONITOR_INTERVAL) throw new ManifestException(file, "", key, "\"" + text + "\"" + expected);
        return (int) (ms / 1000);
    }

    public Values withRoutingMode(RoutingMode m) {
        return new Values(m, tunnelPort, mtu, ipamMode, clusterPoolIPv4PodCIDRList, clusterPoolIPv4MaskSize, kubeProxyReplacement,
                masquerade, ctTcpMax, ctAnyMax, conntrackEnabled, policyMapMax, lbMapMax, lbAlgorithm, serviceNoBackendResponse,
                maglevTableSize, maglevHashSeed, lbExternalIPPoolCidr, externalIPsAllowedCIDRs, nodePortMin, nodePortMax,
                policyEnforcementMode, policyAuditMode, identityLabels, hubbleEnabled, hubbleMetrics, serviceCIDR, healthAddress,
                monitorAggregation, monitorAggregationInterval, hubbleEventBufferCapacity, metrics, hubbleListenAddress, hubbleRelayEnabled,
                hubbleUiEnabled, hubbleUiPort, l2announcements, m == RoutingMode.TUNNEL ? "snat" : lbMode, socketLb,
                httpProxy);
    }

    /** bpf.monitorAggregation as the data path's level (enum sl_monitor_aggregation: 0 none .. 3 maximum). */
    public int monitorAggregationLevel() { return MONITOR_AGGREGATION.indexOf(monitorAggregation); }

    static List<String> keys() { return new ArrayList<>(Schema.KEYS); }
}
