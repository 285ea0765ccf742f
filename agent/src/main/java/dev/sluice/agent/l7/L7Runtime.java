package dev.sluice.agent.l7;

import dev.sluice.agent.dns.DnsPolicy;
import dev.sluice.agent.dns.DnsProxy;
import dev.sluice.agent.dns.FqdnCache;
import dev.sluice.agent.flow.L7Observation;
import dev.sluice.agent.policy.PolicyReconciler;
import dev.sluice.agent.proxy.HttpProxy;
import dev.sluice.agent.proxy.L7Context;
import dev.sluice.config.DnsValues;
import dev.sluice.config.HttpProxyValues;
import dev.sluice.config.Values;
import dev.sluice.datapath.NodeDatapath;
import dev.sluice.datapath.ProxySteering;
import dev.sluice.datapath.maps.EndpointInfo;
import dev.sluice.datapath.maps.EndpointKey;
import dev.sluice.datapath.maps.IpcacheKey;
import dev.sluice.datapath.maps.IpcacheValue;
import dev.sluice.net.Cidr;
import dev.sluice.net.Ip;
import dev.sluice.netlink.Rtnetlink;
import dev.sluice.policy.Direction;
import dev.sluice.policy.HttpRule;
import dev.sluice.policy.PolicyState;
import dev.sluice.policy.Verdict;
import dev.sluice.policymap.PolicyMaps;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's L7 proxies and what ties them to the data path and the policy.
 *
 * <p>The HTTP proxy ({@link HttpProxy}) and the DNS proxy ({@link DnsProxy}) start when an endpoint's
 * policy first redirects to them ({@link #ensure}, called by the policy reconciler before it writes
 * the REDIRECT entries), so the first steered packet finds the socket and an agent without L7 policy
 * never loads Netty. Their sockets go into the data path's sockmap slots and the node gets the policy
 * routing that delivers steered packets locally ({@link ProxySteering}).
 *
 * <p>Both proxies ask this class per request: the endpoint's programmed policy state
 * ({@link PolicyReconciler#state}), the peer's identity from the kernel's own ipcache and endpoint
 * maps (what the data path sees, read without any agent lock). Learned DNS answers go into the
 * {@link FqdnCache}; the agent turns them into toFQDNs addresses of the policy ({@link FqdnSink})
 * and the answer is released once they are programmed.
 */
public final class L7Runtime implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(L7Runtime.class);
    /** How often the FQDN cache looks for expired entries. */
    static final long GC_PERIOD_MS = 1000;

    /** Where learned and expired names go: the agent recomputes the toFQDNs addresses of the selectors matching them. */
    public interface FqdnSink {
        /** Reprograms the policy of the endpoints whose toFQDNs selectors match one of {@code names}; returns when written. */
        void changed(Set<String> names);
    }

    /** Whether a local endpoint's address has a conntrack entry towards {@code address} (the cache keeps such names). */
    public interface Connections {
        boolean any(int endpointIp, int address);
    }

    private final NodeDatapath dp;
    private final ProxySteering steering;
    private final PolicyReconciler policy;
    private final Values.RoutingMode mode;
    private final HttpProxyValues httpValues;
    private final DnsValues dnsValues;
    private final L7Observation.L7Sink sink;
    private final IntFunction<String> podAt;
    private final FqdnCache cache;
    private final FqdnSink fqdnSink;
    /**
     * Runs policy reprogramming for learned and expired names, one at a time, off the proxies' event
     * loops, and the cache's expiry every {@link #GC_PERIOD_MS}; started with the DNS proxy (an agent
     * without DNS rules has no thread for it).
     */
    private volatile ScheduledExecutorService learner;
    private volatile HttpProxy http;
    private volatile DnsProxy dns;
    private volatile String error = "";
    private boolean routing;

    /**
     * @param podAt pod name ({@code ns/name}) of a pod address, or null
     * @param connections conntrack, for the cache's in-use rule
     */
    public L7Runtime(NodeDatapath dp, PolicyReconciler policy, Values.RoutingMode mode, HttpProxyValues httpValues, DnsValues dnsValues,
                     L7Observation.L7Sink sink, IntFunction<String> podAt, Connections connections, FqdnSink fqdnSink) {
        this.dp = dp;
        this.steering = ProxySteering.of(dp);
        this.policy = policy;
        this.mode = mode;
        this.httpValues = httpValues;
        this.dnsValues = dnsValues;
        this.sink = sink;
        this.podAt = podAt;
        this.fqdnSink = fqdnSink;
        this.cache = FqdnCache.of(dnsValues, (endpoint, address) -> {
            Integer ep = endpointIp(endpoint);
            return ep != null && connections.any(ep, Ip.parse(address));
        });
    }

    /**
     * Starts what {@code kinds} ({@link PolicyMaps#L7_HTTP}, {@link PolicyMaps#L7_DNS}) need and is not
     * running yet, and puts its sockets into the data path. Called before REDIRECT entries are
     * written; a proxy that cannot start leaves its slots empty, so the data path keeps dropping
     * those flows (reason 144) and {@code sluice proxy status} says why.
     */
    public synchronized void ensure(Set<Integer> kinds) {
        try {
            if (!routing) {
                try (Rtnetlink nl = Rtnetlink.open()) {
                    ProxySteering.installRouting(nl);
                }
                routing = true;
            }
            if (kinds.contains(PolicyMaps.L7_HTTP) && http == null) {
                HttpProxy p = HttpProxy.transparent(httpValues, this::httpContext, sink);
                p.start();
                steering.register(ProxySteering.SLOT_HTTP_INGRESS, p.ingress().fd());
                steering.register(ProxySteering.SLOT_HTTP_EGRESS, p.egress().fd());
                http = p;
                log.info("HTTP proxy up: ingress {}:{}, egress {}:{}", p.ingress().address(), p.ingress().port(), p.egress().address(), p.egress().port());
            }
            if (kinds.contains(PolicyMaps.L7_DNS) && dns == null) {
                if (learner == null) {
                    learner = Executors.newSingleThreadScheduledExecutor(r -> {
                        Thread t = new Thread(r, "sluice-fqdn");
                        t.setDaemon(true);
                        return t;
                    });
                    learner.scheduleWithFixedDelay(this::gcNow, GC_PERIOD_MS, GC_PERIOD_MS, TimeUnit.MILLISECONDS);
                }
                // on the loopback address and a port of the kernel's choosing, as the HTTP proxy: only the data path's
                // socket assignment reaches it, a pod sending to the node's port 53 does not
                var c = DnsProxy.Config.of(dnsValues);
                var lo = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
                DnsProxy p = new DnsProxy(new DnsProxy.Config(lo, lo, c.transparent(), c.upstreamTimeout(), c.responseMaxDelay(),
                        c.maxTcpConnections(), c.tcpIdle(), c.forwardTo()), dnsPolicy, sink).start();
                steering.register(ProxySteering.SLOT_DNS_UDP, p.udpFd());
                steering.register(ProxySteering.SLOT_DNS_TCP, p.tcpFd());
                dns = p;
                log.info("DNS proxy up: udp {}, tcp {}", p.udpAddress(), p.tcpAddress());
            }
            error = "";
        } catch (RuntimeException e) {
            error = e.getMessage();
            log.error("L7 proxy: {}", e.getMessage());
        }
    }

    // ---- the HTTP proxy's questions ----

    /** The local endpoint at an address, from the data path's own map. */
    private Optional<EndpointInfo> endpoint(int ip) { return dp.endpoints().get(new EndpointKey(ip)); }

    /** The identity the data path gives an address: a local endpoint's, else the ipcache's, else world. */
    private int identityOf(int ip) {
        var ep = endpoint(ip);
        if (ep.isPresent()) return ep.get().identity();
        return ipcache(ip).map(IpcacheValue::identity).orElse(IDENTITY_WORLD);
    }

    private Optional<IpcacheValue> ipcache(int ip) { return dp.ipcache().get(new IpcacheKey(new Cidr(ip, 32))); }

    private static final int IDENTITY_WORLD = 2, FIRST_POD_IDENTITY = 256;

    private static int ip(InetSocketAddress a) {
        return a.getAddress() instanceof Inet4Address v4 ? java.nio.ByteBuffer.wrap(v4.getAddress()).getInt() : 0;
    }

    private String name(int ip) {
        String p = podAt.apply(ip);
        return p == null ? "" : p;
    }

    L7Context httpContext(boolean ingress, InetSocketAddress src, InetSocketAddress dst) {
        int s = ip(src), d = ip(dst);
        if (s == 0 || d == 0) return null;
        var local = endpoint(ingress ? d : s);
        if (local.isEmpty()) return null;
        PolicyState st = policy.state(local.get().id());
        if (st == null) return null;
        int srcId = ingress ? identityOf(s) : local.get().identity();
        int dstId = ingress ? local.get().identity() : identityOf(d);
        var decision = ingress ? st.decide(Direction.INGRESS, srcId, s, 6, dst.getPort(), null)
                : st.decide(Direction.EGRESS, dstId, d, 6, dst.getPort(), null);
        List<HttpRule> rules;
        if (decision.verdict() == Verdict.REDIRECT) rules = decision.http();
        else if (decision.allowed() && !decision.audited()) rules = List.of(HttpRule.ANY);   // the policy no longer needs L7 here
        else return null;
        boolean upstream = true;
        String refusal = "";
        if (!ingress && mode == Values.RoutingMode.NATIVE && endpoint(d).isEmpty()) {
            var remote = ipcache(d);
            if (remote.isPresent() && remote.get().identity() >= FIRST_POD_IDENTITY && (remote.get().flags() & IpcacheValue.LOCAL_NODE) == 0) {
                upstream = false;
                refusal = "native routing cannot carry the client's identity to another node's pod: the egress proxy does not open "
                        + "this connection (fail closed; tunnel routing carries it)";
            }
        }
        return new L7Context(rules, srcId, dstId, name(s), name(d), ProxySteering.upstreamMark(ingress, srcId), upstream, refusal);
    }

    // ---- the DNS proxy's questions ----

    private final DnsPolicy dnsPolicy = new DnsPolicy() {
        @Override public Decision query(InetSocketAddress source, InetSocketAddress destination, String qname, int qtype) {
            int s = ip(source), d = ip(destination);
            var local = s == 0 ? Optional.<EndpointInfo>empty() : endpoint(s);
            if (local.isEmpty()) return Decision.deny("", 0, 0, "the source is not a local endpoint");
            String ep = name(s);
            int srcId = local.get().identity(), dstId = d == 0 ? IDENTITY_WORLD : identityOf(d);
            PolicyState st = policy.state(local.get().id());
            if (st == null) return Decision.deny(ep, srcId, dstId, "the endpoint's policy is not programmed");
            // the data path steered it on UDP or TCP; either protocol's entry decides the name
            PolicyState.Decision dec = st.decideDns(dstId, d, 17, destination.getPort(), qname);
            if (dec.verdict() != Verdict.REDIRECT && !dec.allowed()) dec = st.decideDns(dstId, d, 6, destination.getPort(), qname);
            if (!dec.allowed()) return Decision.deny(ep, srcId, dstId, dec.reason());
            return Decision.allow(ep, srcId, dstId, ProxySteering.upstreamMark(false, srcId));
        }

        @Override public CompletionStage<Void> learned(String endpoint, String name, List<InetAddress> addresses, int ttlSeconds) {
            List<String> ips = new ArrayList<>();
            for (InetAddress a : addresses) if (a instanceof Inet4Address) ips.add(a.getHostAddress());
            if (endpoint.isEmpty() || ips.isEmpty()) return CompletableFuture.completedFuture(null);
            cache.learn(endpoint, name, ips, ttlSeconds, "dns-proxy");
            String n = FqdnCache.canonical(name);
            return CompletableFuture.runAsync(() -> fqdnSink.changed(Set.of(n)), learner).whenComplete((v, e) -> {
                if (e != null) log.warn("toFQDNs: programming the addresses of {} failed: {}", n, e.toString(), e);
            });
        }
    };

    /** The pod address of a local endpoint's name, or null. */
    private Integer endpointIp(String endpoint) {
        for (var e : dp.endpoints().all().entrySet()) if (endpoint.equals(podAt.apply(e.getKey().ip4()))) return e.getKey().ip4();
        return null;
    }

    /** Drops expired names (not while a connection uses an address) and reprograms the selectors they matched. */
    void gcNow() {
        try {
            var removed = cache.gc();
            if (removed.isEmpty()) return;
            Set<String> names = new java.util.TreeSet<>();
            removed.forEach(e -> names.add(e.name()));
            fqdnSink.changed(names);
        } catch (Exception e) {
            log.warn("FQDN cache gc: {}", e.getMessage());
        }
    }

    /** The cache's current addresses of names matching {@code match}, as pod-address integers. */
    public Set<Integer> addresses(java.util.function.Predicate<String> match) {
        Set<Integer> out = new java.util.TreeSet<>();
        cache.addresses(match).keySet().forEach(a -> out.add(Ip.parse(a)));
        return out;
    }

    /** A local endpoint left (CNI DEL): its learned names go. */
    public void endpointDeleted(String pod) {
        var gone = cache.forget(pod);
        if (gone.isEmpty()) return;
        Set<String> names = new java.util.TreeSet<>();
        gone.forEach(e -> names.add(e.name()));
        ExecutorService l = learner;
        if (l != null) l.submit(() -> fqdnSink.changed(names));
    }

    // ---- views ----

    /** {@code sluice proxy status}: the proxies, their listeners, connections and verdicts, and the data path's slots. */
    public Map<String, Object> status() {
        Map<String, Object> m = new LinkedHashMap<>();
        HttpProxy h = http;
        DnsProxy d = dns;
        m.put("http", h == null ? Map.of("running", false) : h.status().toMap());
        if (d == null) {
            m.put("dns", Map.of("running", false));
        } else {
            Map<String, Object> dm = new LinkedHashMap<>();
            dm.put("running", true);
            dm.put("udp", d.udpAddress().toString());
            dm.put("tcp", d.tcpAddress().toString());
            dm.putAll(d.stats().asMap());
            dm.put("fqdnCacheEntries", cache.size());
            m.put("dns", dm);
        }
        Map<String, Object> slots = new LinkedHashMap<>();
        steering.slots().forEach((slot, sock) -> slots.put(slotName(slot), sock));
        m.put("slots", slots);
        m.put("error", error);
        return m;
    }

    /** {@code sluice proxy status} of a node where no policy has needed a proxy yet. */
    public static Map<String, Object> notStarted() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("http", Map.of("running", false));
        m.put("dns", Map.of("running", false));
        m.put("slots", Map.of());
        m.put("error", "");
        return m;
    }

    static String slotName(int slot) {
        return switch (slot) {
            case ProxySteering.SLOT_HTTP_INGRESS -> "http-ingress";
            case ProxySteering.SLOT_HTTP_EGRESS -> "http-egress";
            case ProxySteering.SLOT_DNS_UDP -> "dns-udp";
            case ProxySteering.SLOT_DNS_TCP -> "dns-tcp";
            default -> "slot-" + slot;
        };
    }

    /** {@code sluice fqdn cache list}: every entry, or those whose name contains {@code match}. */
    public List<FqdnCache.Entry> fqdnCache(String match) {
        return cache.list().stream().filter(e -> match.isEmpty() || e.name().contains(match)).toList();
    }

    @Override public synchronized void close() {
        if (learner != null) learner.shutdownNow();
        if (http != null) http.close();
        if (dns != null) dns.close();
        http = null;
        dns = null;
    }
}
