package dev.sluice.datapath;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.bpf.Bpffs;
import dev.sluice.bpf.Netns;
import dev.sluice.datapath.maps.EndpointInfo;
import dev.sluice.datapath.maps.EndpointKey;
import dev.sluice.datapath.maps.IpcacheKey;
import dev.sluice.datapath.maps.IpcacheValue;
import dev.sluice.datapath.maps.MetricsKey;
import dev.sluice.datapath.maps.MetricsValue;
import dev.sluice.datapath.maps.NodeConfig;
import dev.sluice.datapath.maps.PolicyEntryKey;
import dev.sluice.datapath.maps.PolicyEntryValue;
import dev.sluice.net.Cidr;
import dev.sluice.net.Ip;
import dev.sluice.netlink.Rtnetlink;
import dev.sluice.policymap.PolicyMaps;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * The L7 proxy steering on real packets: a node namespace of the test's own with two pod
 * namespaces behind veths, the pod programs attached to the host-side veths, the node's policy
 * routing from {@link ProxySteering#installRouting}, and transparent "proxy" sockets bound to
 * 127.0.0.1 in the node's namespace, registered in their slots as the agent does. Pod A
 * 10.0.0.5 (endpoint 11, identity 300) connects to pod B 10.0.0.6 (12, 301), which runs no server
 * at all: whatever answers is the proxy, and a packet that slipped past it would be refused by B's
 * kernel. Nothing outside the three namespaces is touched; they are deleted after the class.
 */
@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: BPF, namespaces")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ProxySteeringTest {
    static final Path HOME = Path.of(System.getProperty("sluice.home", "."));
    static final String A = "10.0.0.5", B = "10.0.0.6", AM = "0a:00:00:00:00:05", BM = "0a:00:00:00:00:06";
    static final String LXCA_MAC = "0e:00:00:00:00:05", LXCB_MAC = "0e:00:00:00:00:06";
    static final int TCP = 6, UDP = 17;

    final String tag = UUID.randomUUID().toString().substring(0, 6);
    final String node = "dp" + tag + "n", podA = "dp" + tag + "a", podB = "dp" + tag + "b";
    Path pins;
    NodeDatapath dp;
    ProxySteering steering;
    TransparentSocket ingressListener, egressListener, dnsUdp;
    final List<TransparentSocket> extra = new ArrayList<>();
    static final String NODE = "10.0.0.1";
    ServerSocket server;
    final List<String> served = new java.util.concurrent.CopyOnWriteArrayList<>();

    static Path ns(String name) { return Path.of("/var/run/netns", name); }

    @BeforeAll void setUp() throws Exception {
        Bpffs.ensureMounted(Path.of("/sys/fs/bpf"));
        pins = Path.of("/sys/fs/bpf/sl-test-dp-" + tag);
        for (String n : List.of(node, podA, podB)) {
            ip("netns", "add", n);
            ip("-n", n, "link", "set", "lo", "up");
        }
        for (String n : List.of("all", "default")) sysctl(node, "net.ipv4.conf." + n + ".rp_filter", "0");
        ip("-n", node, "addr", "add", NODE + "/32", "dev", "lo");
        pod(podA, "lxca", A, AM, LXCA_MAC, B);
        pod(podB, "lxcb", B, BM, LXCB_MAC, A);
        int lxca = Netns.inNetns(ns(node), () -> Netns.ifindex("lxca")), lxcb = Netns.inNetns(ns(node), () -> Netns.ifindex("lxcb"));
        dp = NodeDatapath.load(HOME.resolve("build/bpf"), pins);
        dp.config().put(0, new NodeConfig(Ip.parse("10.0.0.1"), 0, 0, 0));
        dp.endpoints().put(new EndpointKey(Ip.parse(A)), new EndpointInfo(lxca, 300, 11, 0, AM, LXCA_MAC));
        dp.endpoints().put(new EndpointKey(Ip.parse(B)), new EndpointInfo(lxcb, 301, 12, 0, BM, LXCB_MAC));
        dp.ipcache().put(new IpcacheKey(Cidr.parse(A + "/32")), new IpcacheValue(300, 0, 0));
        dp.ipcache().put(new IpcacheKey(Cidr.parse(B + "/32")), new IpcacheValue(301, 0, 0));
        dp.ipcache().put(new IpcacheKey(Cidr.parse(NODE + "/32")), new IpcacheValue(1, 0, IpcacheValue.LOCAL_NODE));
        server = Netns.inNetns(ns(podB), () -> new ServerSocket(8080, 16, java.net.InetAddress.getByName(B)));
        Thread.ofPlatform().daemon().start(() -> {
            while (!server.isClosed()) {
                try (Socket c = server.accept()) {
                    served.add(c.getInetAddress().getHostAddress());
                    c.getOutputStream().write(("served " + c.getInetAddress().getHostAddress()).getBytes(StandardCharsets.UTF_8));
                } catch (IOException e) {
                    // closed at the end
                }
            }
        });
        steering = ProxySteering.of(dp);
        Netns.run(ns(node), () -> {
            dp.attachEndpoint("lxca", lxca);
            dp.attachEndpoint("lxcb", lxcb);
            ProxySteering.prepareEndpointDevice("lxca");
            ProxySteering.prepareEndpointDevice("lxcb");
            try (Rtnetlink nl = Rtnetlink.open()) {
                ProxySteering.installRouting(nl);
            }
            var loopback = new TransparentSocket.Addr(Ip.parse("127.0.0.1"), 0);
            ingressListener = TransparentSocket.tcpListener(loopback);
            egressListener = TransparentSocket.tcpListener(loopback);
            dnsUdp = TransparentSocket.udp(loopback);
        });
        registerAll();
    }

    void registerAll() {
        steering.register(ProxySteering.SLOT_HTTP_INGRESS, ingressListener.fd);
        steering.register(ProxySteering.SLOT_HTTP_EGRESS, egressListener.fd);
        steering.register(ProxySteering.SLOT_DNS_UDP, dnsUdp.fd);
    }

    /** A pod namespace behind a veth whose host side {@code lxc} is in the node's namespace, with a /32 route each way. */
    void pod(String pod, String lxc, String addr, String mac, String lxcMac, String peer) throws Exception {
        ip("-n", node, "link", "add", lxc, "address", lxcMac, "type", "veth", "peer", "name", "eth0", "address", mac, "netns", pod);
        ip("-n", node, "link", "set", lxc, "up");
        ip("-n", pod, "link", "set", "eth0", "up");
        ip("-n", pod, "addr", "add", addr + "/32", "dev", "eth0");
        ip("-n", pod, "route", "add", peer + "/32", "dev", "eth0");
        ip("-n", pod, "neigh", "replace", peer, "lladdr", lxcMac, "dev", "eth0", "nud", "permanent");
        ip("-n", pod, "route", "add", NODE + "/32", "dev", "eth0");
        ip("-n", pod, "neigh", "replace", NODE, "lladdr", lxcMac, "dev", "eth0", "nud", "permanent");
        ip("-n", node, "route", "add", addr + "/32", "dev", lxc);
        ip("-n", node, "neigh", "replace", addr, "lladdr", mac, "dev", lxc, "nud", "permanent");
        sysctl(node, "net.ipv4.conf." + lxc + ".rp_filter", "0");
    }

    @AfterEach void clearPolicy() {
        for (var k : dp.policy().all().keySet()) dp.policy().remove(k);
        extra.forEach(TransparentSocket::close);
        extra.clear();
        registerAll();
    }

    @AfterAll void tearDown() throws Exception {
        if (server != null) server.close();
        for (TransparentSocket s : new TransparentSocket[] {ingressListener, egressListener, dnsUdp}) if (s != null) s.close();
        if (dp != null) dp.close();
        for (String n : List.of(podA, podB, node)) new ProcessBuilder("ip", "netns", "del", n).start().waitFor(10, TimeUnit.SECONDS);
        if (pins != null && Files.exists(pins)) {
            try (Stream<Path> s = Files.walk(pins)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
            }
        }
    }

    void rule(int ep, int dir, int identity, int proto, int port, int verdict, int l7) {
        dp.policy().put(new PolicyEntryKey(ep, new PolicyMaps.Key(dir, identity, proto, port, 24)), new PolicyEntryValue(verdict, 7, 24, l7));
    }

    long count(int reason, int dir, int ep) {
        return dp.metrics().getPerCpu(new MetricsKey(reason, dir, ep)).map(l -> l.stream().mapToLong(MetricsValue::packets).sum()).orElse(0L);
    }

    /** A's TCP client to B:80 (in A's namespace): connects, sends "ping", returns what comes back, or the failure. */
    CompletableFuture<String> client(int connectMillis) {
        return CompletableFuture.supplyAsync(() -> Netns.inNetns(ns(podA), () -> {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(B, 80), connectMillis);
                s.setSoTimeout(5000);
                s.getOutputStream().write(("ping from " + s.getLocalPort()).getBytes(StandardCharsets.UTF_8));
                byte[] buf = new byte[64];
                int n = s.getInputStream().read(buf);
                return n < 0 ? "eof" : new String(buf, 0, n, StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "failed: " + e;
            }
        }));
    }

    /** The proxy's side: accepts within 5 s, checks what it sees, answers. */
    void proxyAnswers(TransparentSocket listener, CompletableFuture<String> client) throws Exception {
        try (TransparentSocket conn = listener.accept(5000)) {
            assertThat(conn).as("a connection on the listener; the client says: " + (client.isDone() ? client.get() : "(waiting)")).isNotNull();
            assertThat(conn.local()).as("local address: the original destination").hasToString(B + ":80");
            assertThat(Ip.format(conn.peer().ip())).as("remote address: the original source").isEqualTo(A);
            String got = conn.read(5000);
            assertThat(got).isEqualTo("ping from " + conn.peer().port());
            conn.write("pong");
            assertThat(client.get(10, TimeUnit.SECONDS)).isEqualTo("pong");
        }
    }

    @Test void anEgressRedirectReachesTheEgressListenerWithTheOriginalAddresses() throws Exception {
        rule(11, PolicyMaps.EGRESS, 301, TCP, 80, PolicyMaps.REDIRECT, PolicyMaps.L7_HTTP);
        long before = count(DropReason.FORWARDED.code, PolicyMaps.EGRESS, 11);
        var c = client(3000);
        proxyAnswers(egressListener, c);
        assertThat(ingressListener.readable(0)).as("the ingress listener saw nothing").isFalse();
        assertThat(count(DropReason.FORWARDED.code, PolicyMaps.EGRESS, 11) - before).as("every segment of the flow, steered").isGreaterThanOrEqualTo(4);
    }

    @Test void anIngressRedirectReachesTheIngressListenerThroughTheVethsIngress() throws Exception {
        rule(12, PolicyMaps.INGRESS, 300, TCP, 80, PolicyMaps.REDIRECT, PolicyMaps.L7_HTTP);
        var c = client(3000);
        proxyAnswers(ingressListener, c);
        assertThat(egressListener.readable(0)).as("the egress listener saw nothing").isFalse();
        assertThat(count(DropReason.PROXY_INVALID.code, PolicyMaps.INGRESS, 12)).isZero();
    }

    @Test void withoutARedirectBsOwnKernelRefusesWhichProvesTheProxyAnsweredAbove() throws Exception {
        assertThat(client(3000).get(10, TimeUnit.SECONDS)).contains("failed").contains("refused");
    }

    /**
     * The proxy closes first, so its side of the connection waits in TIME_WAIT; the client then
     * connects again from the same port (it may: its own side is closed), as busy clients do. The
     * data path gives the SYN to the socket its tuple finds, the TIME_WAIT one, and the connection
     * is made at once (measured on 6.18; a variant that gave such a SYN to the listener instead was
     * never answered, and one that ended in a retransmitted SYN would take a second).
     */
    @Test void aClientReusingItsPortWhileTheProxysSideIsInTimeWaitReachesTheListenerAgain() throws Exception {
        rule(11, PolicyMaps.EGRESS, 301, TCP, 80, PolicyMaps.REDIRECT, PolicyMaps.L7_HTTP);
        int port = 45000 + new java.util.Random().nextInt(5000);
        for (int round = 0; round < 2; round++) {
            if (round > 0) {
                assertThat(ip("netns", "exec", node, "ss", "-tnH", "state", "time-wait"))
                        .as("the proxy's side waits").contains(B + ":80").contains(A + ":" + port);
            }
            var c = CompletableFuture.supplyAsync(() -> Netns.inNetns(ns(podA), () -> {
                try (Socket s = new Socket()) {
                    s.setReuseAddress(true);
                    s.bind(new InetSocketAddress(A, port));
                    long t0 = System.nanoTime();
                    s.connect(new InetSocketAddress(B, 80), 3000);
                    long ms = (System.nanoTime() - t0) / 1_000_000;
                    s.setSoTimeout(5000);
                    int b = s.getInputStream().read(), eof = s.getInputStream().read();
                    // a SYN the TIME_WAIT socket took is answered by an ACK, the client resets it and
                    // retransmits its SYN a second later: a connection, but a slow one
                    return b == 'x' && eof == -1 && ms < 700 ? "ok" : "got " + b + "," + eof + " after " + ms + " ms";
                } catch (IOException e) {
                    return "failed: " + e;
                }
            }));
            try (TransparentSocket conn = egressListener.accept(5000)) {
                assertThat(conn).as("round " + round + ": the client says " + (c.isDone() ? c.get() : "(waiting)")).isNotNull();
                assertThat(conn.peer().port()).isEqualTo(port);
                conn.write("x");
            }
            assertThat(c.get(10, TimeUnit.SECONDS)).as("round " + round).isEqualTo("ok");
            Thread.sleep(200);
        }
    }

    /** The proxy listens on 127.0.0.1 of the node: a pod reaching for its port on the node's address finds nothing. */
    @Test void theProxysPortIsNotReachableFromAPod() throws Exception {
        int port = egressListener.local().port();
        String out = CompletableFuture.supplyAsync(() -> Netns.inNetns(ns(podA), () -> {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(NODE, port), 3000);
                return "connected";
            } catch (IOException e) {
                return "failed: " + e;
            }
        })).get(10, TimeUnit.SECONDS);
        assertThat(out).contains("refused");
        assertThat(egressListener.readable(0)).isFalse();
    }

    @Test void anEmptySlotFailsTheConnectionAndCounts144() throws Exception {
        rule(11, PolicyMaps.EGRESS, 301, TCP, 80, PolicyMaps.REDIRECT, PolicyMaps.L7_HTTP);
        steering.clear(ProxySteering.SLOT_HTTP_EGRESS);
        long before = count(DropReason.PROXY_UNAVAILABLE.code, PolicyMaps.EGRESS, 11);
        String out = client(1500).get(10, TimeUnit.SECONDS);
        assertThat(out).contains("failed").doesNotContain("refused");
        assertThat(count(DropReason.PROXY_UNAVAILABLE.code, PolicyMaps.EGRESS, 11)).isGreaterThan(before);
        assertThat(ingressListener.readable(0)).isFalse();
    }

    @Test void aClosedProxySocketLeavesItsSlotEmpty() {
        TransparentSocket s = Netns.inNetns(ns(node), () -> TransparentSocket.tcpListener(new TransparentSocket.Addr(Ip.parse("127.0.0.1"), 0)));
        steering.register(ProxySteering.SLOT_DNS_TCP, s.fd);
        assertThat(steering.slots()).containsKey(ProxySteering.SLOT_DNS_TCP);
        s.close();
        assertThat(steering.slots()).doesNotContainKey(ProxySteering.SLOT_DNS_TCP).containsKeys(1, 2, 3);
    }

    @Test void aSocketThatIsNeitherListeningNorBoundIsRefusedByName() {
        TransparentSocket unbound = Netns.inNetns(ns(node), () -> TransparentSocket.unboundTcp());
        extra.add(unbound);
        assertThatThrownBy(() -> steering.register(ProxySteering.SLOT_DNS_TCP, unbound.fd)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("proxy slot 4: fd " + unbound.fd).hasMessageContaining("expected: a listening TCP socket");
        assertThatThrownBy(() -> steering.register(7, unbound.fd)).hasMessageContaining("proxy slot: 7 (expected: 1 HTTP ingress");
    }

    @Test void aDnsDatagramReachesTheUdpSocketWithItsOriginalDestinationAndTheAnswerComesBackAsTheServer() throws Exception {
        rule(11, PolicyMaps.EGRESS, 301, UDP, 53, PolicyMaps.REDIRECT, PolicyMaps.L7_DNS);
        var client = CompletableFuture.supplyAsync(() -> Netns.inNetns(ns(podA), () -> {
            try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(A, 0))) {
                s.setSoTimeout(5000);
                byte[] q = ("query from " + s.getLocalPort()).getBytes(StandardCharsets.UTF_8);
                s.send(new DatagramPacket(q, q.length, new InetSocketAddress(B, 53)));
                DatagramPacket p = new DatagramPacket(new byte[64], 64);
                s.receive(p);
                return p.getSocketAddress() + " " + new String(p.getData(), 0, p.getLength(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "failed: " + e;
            }
        }));
        var d = dnsUdp.receive(5000);
        assertThat(d).as("the datagram on the proxy's socket; the client says: " + (client.isDone() ? client.get() : "(waiting)")).isNotNull();
        assertThat(d.origDst()).as("IP_ORIGDSTADDR").hasToString(B + ":53");
        assertThat(Ip.format(d.source().ip())).isEqualTo(A);
        assertThat(d.payload()).isEqualTo("query from " + d.source().port());
        // the answer leaves from the original destination (a transparent socket bound to it) and passes A's reply check
        TransparentSocket answer = Netns.inNetns(ns(node), () -> TransparentSocket.udp(new TransparentSocket.Addr(Ip.parse(B), 53)));
        extra.add(answer);
        answer.sendTo("answer", d.source());
        assertThat(client.get(10, TimeUnit.SECONDS)).isEqualTo("/" + B + ":53 answer");
    }

    @Test void thePolicyRoutingIsIdempotentAndRemovable() {
        Netns.run(ns(node), () -> {
            try (Rtnetlink nl = Rtnetlink.open()) {
                ProxySteering.installRouting(nl);
                assertThat(ProxySteering.routingInstalled(nl)).isTrue();
                assertThat(nl.rules().stream().filter(ProxySteering.RULE::equals)).hasSize(1);
                ProxySteering.removeRouting(nl);
                assertThat(ProxySteering.routingInstalled(nl)).isFalse();
                assertThat(nl.rules()).doesNotContain(ProxySteering.RULE);
                ProxySteering.removeRouting(nl);   // absent: fine
                ProxySteering.installRouting(nl);
                assertThat(ProxySteering.routingInstalled(nl)).isTrue();
                assertThat(ip("-n", node, "rule", "show")).contains("fwmark 0xa8000000/0xff000000 lookup 2005");
                assertThat(ip("-n", node, "route", "show", "table", "2005")).contains("local default dev lo");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    // ---------------------------------------------------------------- the proxies' upstream connections

    /** A proxy's upstream from the node's namespace to B:8080 with {@code mark}: what B's server answered, or the failure. */
    String upstream(int mark) {
        try (TransparentSocket s = Netns.inNetns(ns(node), () -> TransparentSocket.connect(new TransparentSocket.Addr(Ip.parse(B), 8080), mark, 1500))) {
            String got = s.read(5000);
            return got == null ? "silence" : got;
        } catch (IllegalStateException e) {
            return "failed: " + e.getMessage();
        }
    }

    @Test void theUpstreamMarkIsTheClientsIdentityAtTheDestination() {
        dp.endpoints().put(new EndpointKey(Ip.parse(B)), endpointB(PolicyMaps.F_INGRESS_ENFORCED));
        try {
            rule(12, PolicyMaps.INGRESS, 300, TCP, 8080, PolicyMaps.ALLOW, PolicyMaps.L7_NONE);
            assertThat(upstream(ProxySteering.upstreamMark(false, 300))).isEqualTo("served " + NODE);
            long before = count(DropReason.POLICY.code, PolicyMaps.INGRESS, 12);
            assertThat(upstream(ProxySteering.upstreamMark(false, 999))).startsWith("failed");
            assertThat(count(DropReason.POLICY.code, PolicyMaps.INGRESS, 12)).isGreaterThan(before);
            assertThat(upstream(0)).as("the node itself").isEqualTo("served " + NODE);
        } finally {
            dp.endpoints().put(new EndpointKey(Ip.parse(B)), endpointB(0));
        }
    }

    @Test void theIngressProxysUpstreamIsDeliveredTheEgressProxysMeetsTheIngressProxy() throws Exception {
        rule(12, PolicyMaps.INGRESS, 300, TCP, 8080, PolicyMaps.REDIRECT, PolicyMaps.L7_HTTP);
        int servedBefore = served.size();
        assertThat(upstream(ProxySteering.upstreamMark(true, 300))).isEqualTo("served " + NODE);
        assertThat(served).hasSize(servedBefore + 1);
        // the egress proxy's connection to a pod with ingress L7 rules goes through the ingress proxy
        var c = CompletableFuture.supplyAsync(() -> upstream(ProxySteering.upstreamMark(false, 300)));
        try (TransparentSocket conn = ingressListener.accept(5000)) {
            assertThat(conn).as("on the ingress listener; the upstream says: " + (c.isDone() ? c.get() : "(waiting)")).isNotNull();
            assertThat(conn.local()).hasToString(B + ":8080");
            assertThat(Ip.format(conn.peer().ip())).isEqualTo(NODE);
            conn.write("proxied");
        }
        assertThat(c.get(10, TimeUnit.SECONDS)).isEqualTo("proxied");
        assertThat(served).hasSize(servedBefore + 1);
    }

    EndpointInfo endpointB(int flags) {
        int lxcb = Netns.inNetns(ns(node), () -> Netns.ifindex("lxcb"));
        return new EndpointInfo(lxcb, 301, 12, flags, BM, LXCB_MAC);
    }

    // ---------------------------------------------------------------- measurement

    /**
     * A measurement, not a test (off unless {@code -Dbench.steering=true}): what the steering costs
     * on real packets. The same FFM echo loop answers on B:8081 inside pod B (plain L4 allow, veth
     * to veth by bpf_redirect) and on the egress listener in the node's namespace (an egress
     * REDIRECT for B:8082: bpf_sk_assign, policy routing, local delivery). Pod A measures, per
     * round and path, the round trip of 64-byte messages on one connection and whole connections
     * (connect, one byte each way, close); medians of interleaved rounds. See docs/benchmarks.md.
     */
    @Test
    @org.junit.jupiter.api.condition.EnabledIfSystemProperty(named = "bench.steering", matches = "true")
    void measureSteeringCost() throws Exception {
        int rounds = Integer.getInteger("bench.rounds", 7), pings = 5000, conns = 500;
        TransparentSocket direct = Netns.inNetns(ns(podB), () -> TransparentSocket.tcpListener(new TransparentSocket.Addr(Ip.parse(B), 8081)));
        extra.add(direct);
        rule(11, PolicyMaps.EGRESS, 301, TCP, 8082, PolicyMaps.REDIRECT, PolicyMaps.L7_HTTP);
        var stop = new java.util.concurrent.atomic.AtomicBoolean();
        List<Thread> servers = new ArrayList<>();
        for (TransparentSocket l : List.of(direct, egressListener))
            servers.add(Thread.ofPlatform().daemon().start(() -> {
                while (!stop.get()) {
                    TransparentSocket c = l.accept(200);
                    if (c == null) continue;
                    Thread.ofPlatform().daemon().start(() -> {
                        try (c) {
                            for (String in; (in = c.read(10_000)) != null && !in.isEmpty(); ) c.write(in);
                        } catch (RuntimeException e) {
                            // the client went away
                        }
                    });
                }
            }));
        Map<String, List<double[]>> results = new java.util.TreeMap<>();
        try {
            for (int round = 0; round < rounds; round++)
                for (int port : new int[] {8081, 8082}) {
                    double[] m = CompletableFuture.supplyAsync(() -> Netns.inNetns(ns(podA), () -> measure(port, pings, conns))).get(120, TimeUnit.SECONDS);
                    results.computeIfAbsent(port == 8081 ? "direct " : "steered", k -> new ArrayList<>()).add(m);
                }
        } finally {
            stop.set(true);
            for (Thread t : servers) t.join(2000);
        }
        for (var e : results.entrySet()) {
            double[] rttP50 = e.getValue().stream().mapToDouble(m -> m[0]).sorted().toArray(), rttP99 = e.getValue().stream().mapToDouble(m -> m[1]).sorted().toArray(),
                    connP50 = e.getValue().stream().mapToDouble(m -> m[2]).sorted().toArray(), connP99 = e.getValue().stream().mapToDouble(m -> m[3]).sorted().toArray(),
                    rate = e.getValue().stream().mapToDouble(m -> m[4]).sorted().toArray();
            System.out.printf("steering bench %s: round trip p50 %.1f us p99 %.1f us; connection p50 %.1f us p99 %.1f us; %.0f connections/s (medians of %d rounds)%n",
                    e.getKey(), rttP50[rounds / 2], rttP99[rounds / 2], connP50[rounds / 2], connP99[rounds / 2], rate[rounds / 2], rounds);
        }
    }

    /** {round trip p50, p99, connection p50, p99 (microseconds), connections per second} from pod A to B:port. */
    static double[] measure(int port, int pings, int conns) throws IOException {
        long[] rtt = new long[pings], conn = new long[conns];
        byte[] msg = new byte[64], buf = new byte[64];
        java.util.Arrays.fill(msg, (byte) 'x');
        try (Socket s = new Socket()) {
            s.setTcpNoDelay(true);
            s.connect(new InetSocketAddress(B, port), 3000);
            s.setSoTimeout(5000);
            var in = s.getInputStream();
            var out = s.getOutputStream();
            for (int i = 0; i < pings; i++) {
                long t0 = System.nanoTime();
                out.write(msg);
                for (int got = 0; got < 64; ) {
                    int n = in.read(buf, got, 64 - got);
                    if (n < 0) throw new IOException("eof after " + i + " round trips");
                    got += n;
                }
                rtt[i] = System.nanoTime() - t0;
            }
        }
        long start = System.nanoTime();
        for (int i = 0; i < conns; i++) {
            long t0 = System.nanoTime();
            try (Socket s = new Socket()) {
                s.setTcpNoDelay(true);
                s.connect(new InetSocketAddress(B, port), 3000);
                s.setSoTimeout(5000);
                s.getOutputStream().write('x');
                if (s.getInputStream().read() != 'x') throw new IOException("no echo on connection " + i);
            }
            conn[i] = System.nanoTime() - t0;
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        java.util.Arrays.sort(rtt);
        java.util.Arrays.sort(conn);
        return new double[] {rtt[pings / 2] / 1e3, rtt[pings * 99 / 100] / 1e3, conn[conns / 2] / 1e3, conn[conns * 99 / 100] / 1e3, conns / seconds};
    }

    // ---------------------------------------------------------------- helpers

    static String ip(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("ip"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) throw new IllegalStateException(String.join(" ", cmd) + ": " + out);
        return out;
    }

    static void sysctl(String netns, String key, String value) throws Exception {
        ip("netns", "exec", netns, "sysctl", "-q", "-w", key + "=" + value);
    }
}
