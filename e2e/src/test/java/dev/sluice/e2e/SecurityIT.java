package dev.sluice.e2e;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * Attacks on the data path, performed for real: from a pod or the world namespace, with a real
 * socket or a crafted packet ({@code sluice-pod craft}), observed where they would land
 * ({@code sluice-pod sniff}, a raw socket in the target's namespace). Each test checks that the
 * attack fails, that legitimate traffic on the same path still works, and, where the data path
 * drops the packet, that the drop is counted under its reason in {@code bpf metrics list}.
 * docs/security.md maps each test to the check that stops the attack.
 *
 * <p>Lab {@code sec1}: two nodes, tunnel mode, masquerade, one LoadBalancer pool address. Lab
 * {@code sec2} (native routing) lives only during the test that needs it. Every packet stays inside
 * the labs' namespaces; the routes and devices a test adds (in the world or a pod namespace) are
 * removed in its finally block.
 */
@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: network namespaces, BPF, netlink")
class SecurityIT {
    static final String LAB = "sec1", NATIVE = "sec2";
    static final String N1 = "172.30.0.11", N2 = "172.30.0.12", WORLD = "172.30.0.200", LB_IP = "10.200.0.1";
    /** The service loopback: the source of a pod's hairpin flow to itself through its own Service. */
    static final String SERVICE_LOOPBACK = "169.254.42.1";
    // Drop reasons (bpf/lib/drop.h)
    static final int INVALID_PACKET = 132, TUNNEL_SOURCE = 136, TUNNEL_SPOOF = 137, WIRE_SPOOF = 138, POLICY = 140,
            POLICY_DENY = 141, FRAGMENT = 152;
    static final String VALUES = """
            bpf:
              masquerade: true
            lbExternalIPPool:
              cidr: 10.200.0.1/32
            """;
    /** mallory has no labels: an ordinary workload with no standing in anybody's policy. */
    static final String PODS = """
            apiVersion: v1
            kind: Pod
            metadata: {name: trusted, namespace: sec, labels: {role: trusted}}
            spec: {nodeName: node1, containers: [{name: c, ports: [{containerPort: 80}, {containerPort: 80, protocol: UDP}]}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: mallory, namespace: sec}
            spec: {nodeName: node1, containers: [{name: c, ports: [{containerPort: 80}]}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: web, namespace: sec, labels: {app: web}}
            spec: {nodeName: node1, containers: [{name: c, ports: [{containerPort: 80}, {containerPort: 80, protocol: UDP}]}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: quiet, namespace: sec, labels: {app: quiet}}
            spec: {nodeName: node1, containers: [{name: c, ports: [{containerPort: 80, protocol: UDP}]}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: victim, namespace: sec, labels: {app: victim}}
            spec: {nodeName: node2, containers: [{name: c, ports: [{containerPort: 80}, {containerPort: 80, protocol: UDP}]}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: peer, namespace: sec, labels: {app: peer}}
            spec: {nodeName: node2, containers: [{name: c, ports: [{containerPort: 80}, {containerPort: 80, protocol: UDP}]}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: sctp, namespace: sec, labels: {app: sctp}}
            spec: {nodeName: node2, containers: [{name: c, ports: [{containerPort: 80}]}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: web-np, namespace: sec}
            spec: {type: NodePort, selector: {app: web}, ports: [{port: 80, nodePort: 30080}]}
            """;
    static Path dir;
    static Map<String, String> ips;

    @BeforeAll static void setUp() throws IOException {
        Cli.requireRoot();
        Cli.down(LAB);
        Cli.down(NATIVE);
        dir = Files.createTempDirectory("sluice-security-it");
        Files.writeString(dir.resolve("values.yaml"), VALUES);
        Files.writeString(dir.resolve("pods.yaml"), PODS);
        Cli.sluice("lab", "up", "--name", LAB, "--nodes", "2", "--values", dir.resolve("values.yaml").toString(),
                "-f", dir.resolve("pods.yaml").toString()).ok();
        ips = podIps(LAB);
    }

    @AfterAll static void tearDown() {
        Cli.down(LAB);
        Cli.down(NATIVE);
    }

    // ---------------------------------------------------------------- a. forged VXLAN

    static final String VICTIM_IN = np("victim-in", """
            podSelector: {matchLabels: {app: victim}}
            ingress: [{from: [{podSelector: {matchLabels: {role: trusted}}}]}]""");

    /**
     * mallory makes its own VXLAN device (VNI = trusted's identity) to node2's tunnel port and
     * connects to victim, which admits only trusted: refused at node2, whose drop says the outer
     * source is no node (TUNNEL_SOURCE). The same with victim's own identity and the service
     * loopback as inner source (the hairpin exemption from policy). trusted keeps connecting.
     */
    @Test
    void forgedVxlanFromPod() throws Exception {
        SoftAssertions soft = new SoftAssertions();
        apply(LAB, "victim-in", VICTIM_IN);
        String victim = ip("sec/victim"), trusted = ip("sec/trusted"), m = netns(LAB, "sec/mallory");
        assertThat(connects(LAB, "sec/trusted", victim + ":80")).as("trusted -> victim before the attack (admitted)").isTrue();
        assertThat(connects(LAB, "sec/mallory", victim + ":80")).as("mallory -> victim before the attack (not admitted)").isFalse();
        long before = drops(LAB, "node2", TUNNEL_SOURCE);
        try {
            vxlan(m, identity(LAB, "sec/trusted"), N2, victim);
            JsonNode r = probe(LAB, "sec/mallory", victim + ":80");
            soft.assertThat(r.path("ok").asBoolean()).as("mallory -> victim:80 through its own VXLAN device claiming trusted's identity: %s", r)
                    .isFalse();
            soft.assertThat(connects(LAB, "sec/trusted", victim + ":80")).as("trusted -> victim during the attack").isTrue();

            sh("ip", "-n", m, "link", "del", "vxsl");
            vxlan(m, identity(LAB, "sec/victim"), N2, victim);
            Sniffed s = sniff(LAB, "sec/victim", List.of("--proto", "udp", "--port", "80"), () -> {
                craft(LAB, "sec/mallory", "--src", SERVICE_LOOPBACK, "--dst", victim, "--proto", "udp", "--sport", "40001", "--dport", "80",
                        "--payload", "hairpin from a pod");
                craft(LAB, "sec/trusted", "--dst", victim, "--proto", "udp", "--sport", "40002", "--dport", "80", "--payload", "legit");
            }, from(trusted, 40002));
            soft.assertThat(s.saw(from(trusted, 40002))).as("trusted's datagram reaches victim: %s", s).isTrue();
            soft.assertThat(s.saw(from(SERVICE_LOOPBACK, 40001)))
                    .as("mallory's VXLAN datagram from %s with victim's identity (the hairpin exemption) reaches victim: %s", SERVICE_LOOPBACK, s)
                    .isFalse();
        } finally {
            PolicyLab.run("ip", "-n", m, "link", "del", "vxsl");
        }
        soft.assertThat(drops(LAB, "node2", TUNNEL_SOURCE) - before).as("drops TUNNEL_SOURCE (%d) counted on node2", TUNNEL_SOURCE).isPositive();
        soft.assertAll();
    }

    /**
     * VXLAN crafted in the world namespace to node2's tunnel port: with the world's own outer
     * source (TUNNEL_SOURCE); with node1's address as outer source, refused on node2's uplink before
     * it is decapsulated, since the world's MAC is not node1's (WIRE_SPOOF). And node1 itself, as a
     * compromised node would, sending inner sources it cannot have (the service loopback with
     * victim's identity; a pod of node2): TUNNEL_SPOOF.
     */
    @Test
    void forgedVxlanFromWorld() throws Exception {
        SoftAssertions soft = new SoftAssertions();
        apply(LAB, "victim-in", VICTIM_IN);
        String victim = ip("sec/victim"), trusted = ip("sec/trusted"), peer = ip("sec/peer");
        String trustedId = Long.toString(identity(LAB, "sec/trusted")), victimId = Long.toString(identity(LAB, "sec/victim"));
        long source = drops(LAB, "node2", TUNNEL_SOURCE), spoof = drops(LAB, "node2", TUNNEL_SPOOF), wire = drops(LAB, "node2", WIRE_SPOOF);
        Sniffed s = sniff(LAB, "sec/victim", List.of("--proto", "udp", "--port", "80"), () -> {
            craft(LAB, "world", "--vxlan", trustedId, "--outer-dst", N2, "--src", trusted, "--dst", victim, "--proto", "udp",
                    "--sport", "40003", "--dport", "80", "--payload", "world as trusted");
            craft(LAB, "world", "--vxlan", victimId, "--outer-src", N1, "--outer-dst", N2, "--src", SERVICE_LOOPBACK, "--dst", victim,
                    "--proto", "udp", "--sport", "40004", "--dport", "80", "--payload", "world as node1, hairpin");
            craft(LAB, "world", "--vxlan", trustedId, "--outer-src", N1, "--outer-dst", N2, "--src", peer, "--dst", victim,
                    "--proto", "udp", "--sport", "40005", "--dport", "80", "--payload", "world as node1, a node2 pod inside");
            craft(LAB, "node1", "--vxlan", victimId, "--outer-dst", N2, "--src", SERVICE_LOOPBACK, "--dst", victim,
                    "--proto", "udp", "--sport", "40007", "--dport", "80", "--payload", "node1, hairpin");
            craft(LAB, "node1", "--vxlan", trustedId, "--outer-dst", N2, "--src", peer, "--dst", victim,
                    "--proto", "udp", "--sport", "40008", "--dport", "80", "--payload", "node1, a node2 pod inside");
            craft(LAB, "sec/trusted", "--dst", victim, "--proto", "udp", "--sport", "40006", "--dport", "80", "--payload", "legit");
        }, from(trusted, 40006));
        soft.assertThat(s.saw(from(trusted, 40006))).as("trusted's datagram reaches victim: %s", s).isTrue();
        soft.assertThat(s.saw(from(trusted, 40003))).as("world's VXLAN (outer source the world) claiming trusted reaches victim: %s", s).isFalse();
        soft.assertThat(s.saw(from(SERVICE_LOOPBACK, 40004))).as("world's VXLAN (outer source node1) with the hairpin source reaches victim: %s", s)
                .isFalse();
        soft.assertThat(s.saw(from(peer, 40005))).as("world's VXLAN (outer source node1) with node2's pod as source reaches victim: %s", s)
                .isFalse();
        soft.assertThat(s.saw(from(SERVICE_LOOPBACK, 40007))).as("node1's VXLAN with the hairpin source reaches victim: %s", s).isFalse();
        soft.assertThat(s.saw(from(peer, 40008))).as("node1's VXLAN with node2's pod as source reaches victim: %s", s).isFalse();
        soft.assertThat(drops(LAB, "node2", WIRE_SPOOF) - wire).as("drops WIRE_SPOOF (%d) counted on node2", WIRE_SPOOF).isPositive();
        soft.assertThat(drops(LAB, "node2", TUNNEL_SOURCE) - source).as("drops TUNNEL_SOURCE (%d) counted on node2", TUNNEL_SOURCE).isPositive();
        soft.assertThat(drops(LAB, "node2", TUNNEL_SPOOF) - spoof).as("drops TUNNEL_SPOOF (%d) counted on node2", TUNNEL_SPOOF).isPositive();
        soft.assertAll();
    }

    // ---------------------------------------------------------------- b. spoofed sources on the uplink

    /**
     * Tunnel mode: the world sends to web (node1) with node1's own address as source (would be
     * host, always allowed) and with trusted's (admitted by web's policy), UDP and TCP, through a
     * route to web via node1 added in the world namespace only. Neither arrives (WIRE_SPOOF), nor
     * does the world's own datagram: in tunnel mode nothing reaches a pod unencapsulated but through
     * a frontend. trusted's own datagrams and the world's NodePort connection to web still do.
     */
    @Test
    void spoofedSourceOnUplink() throws Exception {
        SoftAssertions soft = new SoftAssertions();
        apply(LAB, "web-in", cnp("web-in", """
                endpointSelector: {matchLabels: {app: web}}
                ingress: [{fromEntities: [world]}, {fromEndpoints: [{matchLabels: {role: trusted}}]}]"""));
        String web = ip("sec/web"), trusted = ip("sec/trusted"), world = "sl-" + LAB + "-world";
        long before = drops(LAB, "node1", WIRE_SPOOF);
        sh("ip", "-n", world, "route", "add", web + "/32", "via", N1);
        try {
            Sniffed u = sniff(LAB, "sec/web", List.of("--proto", "udp", "--port", "80"), () -> {
                craft(LAB, "world", "--src", N1, "--dst", web, "--proto", "udp", "--sport", "40010", "--dport", "80", "--payload", "as node1");
                craft(LAB, "world", "--src", trusted, "--dst", web, "--proto", "udp", "--sport", "40011", "--dport", "80", "--payload", "as trusted");
                craft(LAB, "world", "--dst", web, "--proto", "udp", "--sport", "40012", "--dport", "80", "--payload", "the world itself");
                craft(LAB, "sec/trusted", "--dst", web, "--proto", "udp", "--sport", "40016", "--dport", "80", "--payload", "legit");
            }, from(trusted, 40016));
            soft.assertThat(u.saw(from(trusted, 40016))).as("trusted's own datagram reaches web: %s", u).isTrue();
            soft.assertThat(u.saw(from(WORLD, 40012))).as("the world's own datagram, unencapsulated, reaches web: %s", u).isFalse();
            soft.assertThat(u.saw(from(N1, 40010))).as("a UDP datagram from the world with node1's address as source reaches web: %s", u).isFalse();
            soft.assertThat(u.saw(from(trusted, 40011))).as("a UDP datagram from the world with trusted's address reaches web: %s", u).isFalse();
            Sniffed t = sniff(LAB, "sec/web", List.of("--proto", "tcp", "--port", "80"), () -> {
                craft(LAB, "world", "--src", N1, "--dst", web, "--proto", "tcp", "--sport", "40013", "--dport", "80");
                craft(LAB, "world", "--src", trusted, "--dst", web, "--proto", "tcp", "--sport", "40014", "--dport", "80");
                craft(LAB, "sec/trusted", "--dst", web, "--proto", "tcp", "--sport", "40015", "--dport", "80");
            }, from(trusted, 40015));
            soft.assertThat(t.saw(from(trusted, 40015))).as("trusted's own SYN reaches web: %s", t).isTrue();
            soft.assertThat(t.saw(from(N1, 40013))).as("a SYN from the world with node1's address as source reaches web: %s", t).isFalse();
            soft.assertThat(t.saw(from(trusted, 40014))).as("a SYN from the world with trusted's address reaches web: %s", t).isFalse();
        } finally {
            PolicyLab.run("ip", "-n", world, "route", "del", web + "/32", "via", N1);
        }
        JsonNode np = probe(LAB, "world", N1 + ":30080");
        soft.assertThat(np.path("pod").asString()).as("world -> NodePort of web: %s", np).isEqualTo("sec/web");
        soft.assertThat(drops(LAB, "node1", WIRE_SPOOF) - before).as("drops WIRE_SPOOF (%d) counted on node1", WIRE_SPOOF).isPositive();
        soft.assertAll();
    }

    /**
     * Native routing (lab sec2): the world sends to a (node1) with b's address (node2's pod, admitted
     * by a's policy) and with node2's address as source: neither arrives (WIRE_SPOOF), while b
     * itself, routed through node2, still reaches a.
     */
    @Test
    void spoofedSourceOnUplinkNative() throws Exception {
        SoftAssertions soft = new SoftAssertions();
        String world = "sl-" + NATIVE + "-world", route = null;
        try {
            Files.writeString(dir.resolve("native.yaml"), """
                    apiVersion: v1
                    kind: Pod
                    metadata: {name: a, namespace: sec, labels: {app: a}}
                    spec: {nodeName: node1, containers: [{name: c, ports: [{containerPort: 80}, {containerPort: 80, protocol: UDP}]}]}
                    ---
                    apiVersion: v1
                    kind: Pod
                    metadata: {name: b, namespace: sec, labels: {app: b}}
                    spec: {nodeName: node2, containers: [{name: c, ports: [{containerPort: 80}, {containerPort: 80, protocol: UDP}]}]}
                    ---
                    apiVersion: networking.k8s.io/v1
                    kind: NetworkPolicy
                    metadata: {name: a-in, namespace: sec}
                    spec:
                      podSelector: {matchLabels: {app: a}}
                      ingress: [{from: [{podSelector: {matchLabels: {app: b}}}]}]
                    """);
            Cli.sluice("lab", "up", "--name", NATIVE, "--nodes", "2", "--routing", "native", "-f", dir.resolve("native.yaml").toString()).ok();
            Map<String, String> nip = podIps(NATIVE);
            String a = nip.get("sec/a"), b = nip.get("sec/b");
            assertThat(connects(NATIVE, "sec/b", a + ":80")).as("b -> a before the attack (admitted)").isTrue();
            long before = drops(NATIVE, "node1", WIRE_SPOOF);
            sh("ip", "-n", world, "route", "add", a + "/32", "via", N1);
            route = a + "/32";
            Sniffed s = sniff(NATIVE, "sec/a", List.of("--proto", "udp", "--port", "80"), () -> {
                craft(NATIVE, "world", "--src", b, "--dst", a, "--proto", "udp", "--sport", "40020", "--dport", "80", "--payload", "as b");
                craft(NATIVE, "world", "--src", N2, "--dst", a, "--proto", "udp", "--sport", "40021", "--dport", "80", "--payload", "as node2");
                craft(NATIVE, "sec/b", "--dst", a, "--proto", "udp", "--sport", "40022", "--dport", "80", "--payload", "b itself");
            }, from(b, 40022));
            soft.assertThat(s.saw(from(b, 40022))).as("b's own datagram reaches a: %s", s).isTrue();
            soft.assertThat(s.saw(from(b, 40020))).as("a datagram from the world with b's address reaches a: %s", s).isFalse();
            soft.assertThat(s.saw(from(N2, 40021))).as("a datagram from the world with node2's address reaches a: %s", s).isFalse();
            soft.assertThat(connects(NATIVE, "sec/b", a + ":80")).as("b -> a after the attack").isTrue();
            soft.assertThat(drops(NATIVE, "node1", WIRE_SPOOF) - before).as("drops WIRE_SPOOF (%d) counted on node1", WIRE_SPOOF).isPositive();
        } finally {
            if (route != null) PolicyLab.run("ip", "-n", world, "route", "del", route, "via", N1);
            Cli.down(NATIVE);
        }
        soft.assertAll();
    }

    // ---------------------------------------------------------------- c. ICMP error smuggling

    /**
     * quiet may send nothing (egress default deny). It sends peer a destination-unreachable whose
     * embedded tuple is a live flow of the node (peer -> trusted): that error is no answer to
     * anything quiet received and must not leave. A real error from quiet (peer's UDP probe to a
     * closed port of quiet gets its port-unreachable) still reaches peer.
     */
    @Test
    void icmpErrorSmuggling() throws Exception {
        SoftAssertions soft = new SoftAssertions();
        apply(LAB, "quiet-egress", np("quiet-egress", """
                podSelector: {matchLabels: {app: quiet}}
                policyTypes: [Egress]"""));
        String quiet = ip("sec/quiet"), peer = ip("sec/peer"), trusted = ip("sec/trusted");
        assertThat(connects(LAB, "sec/quiet", peer + ":80", "udp")).as("quiet -> peer (egress default deny)").isFalse();
        long before = drops(LAB, "node1", "sec/quiet", 0);
        JsonNode[] legit = new JsonNode[1];
        Sniffed s = sniff(LAB, "sec/peer", List.of("--proto", "icmp", "--from", quiet), () -> {
            // the flow the forged error names: peer:40100 -> trusted:80, tracked on node1 as delivered into trusted
            craft(LAB, "sec/peer", "--dst", trusted, "--proto", "udp", "--sport", "40100", "--dport", "80", "--payload", "a flow");
            craft(LAB, "sec/quiet", "--dst", peer, "--proto", "icmp", "--icmp-type", "3", "--icmp-code", "3", "--inner-src", peer,
                    "--inner-dst", trusted, "--inner-proto", "udp", "--inner-sport", "40100", "--inner-dport", "80");
            legit[0] = probe(LAB, "sec/peer", "--proto", "udp", quiet + ":9999");
        }, p -> p.path("inner").path("dport").asInt() == 9999);
        soft.assertThat(legit[0].path("error").asString()).as("peer -> closed UDP port of quiet: the port-unreachable comes back: %s", legit[0])
                .isEqualTo("refused");
        soft.assertThat(s.saw(p -> p.path("inner").path("dport").asInt() == 9999)).as("quiet's real port-unreachable reaches peer: %s", s).isTrue();
        soft.assertThat(s.saw(p -> p.path("inner").path("sport").asInt() == 40100))
                .as("quiet's forged destination-unreachable about peer -> trusted reaches peer: %s", s).isFalse();
        soft.assertThat(drops(LAB, "node1", "sec/quiet", 0) - before).as("drops counted for quiet's egress on node1").isPositive();
        soft.assertAll();
    }

    // ---------------------------------------------------------------- d. SCTP port rules

    /**
     * A policy allowing SCTP port 5000 only: an SCTP INIT to 5000 arrives, to 5001 does not
     * (POLICY). Then an ingressDeny of SCTP 5001 under an allow of every port: 5000 arrives, 5001
     * does not (POLICY_DENY).
     */
    @Test
    void sctpPortRules() throws Exception {
        SoftAssertions soft = new SoftAssertions();
        String sctp = ip("sec/sctp");
        apply(LAB, "sctp-in", np("sctp-in", """
                podSelector: {matchLabels: {app: sctp}}
                ingress: [{ports: [{protocol: SCTP, port: 5000}]}]"""));
        long policy = drops(LAB, "node2", POLICY);
        Sniffed only = sniffSctp(sctp);
        soft.assertThat(only.saw(p -> p.path("dport").asInt() == 5000)).as("SCTP to 5000 with 5000 allowed: %s", only).isTrue();
        soft.assertThat(only.saw(p -> p.path("dport").asInt() == 5001)).as("SCTP to 5001 with only 5000 allowed: %s", only).isFalse();
        soft.assertThat(drops(LAB, "node2", POLICY) - policy).as("drops POLICY (%d) counted on node2", POLICY).isPositive();

        PolicyLab.delete(LAB, dir, LAB + "-sctp-in");
        apply(LAB, "sctp-deny", cnp("sctp-deny", """
                endpointSelector: {matchLabels: {app: sctp}}
                ingress: [{fromEndpoints: [{}]}]
                ingressDeny: [{fromEndpoints: [{}], toPorts: [{ports: [{port: "5001", protocol: SCTP}]}]}]"""));
        long deny = drops(LAB, "node2", POLICY_DENY);
        Sniffed denied = sniffSctp(sctp);
        soft.assertThat(denied.saw(p -> p.path("dport").asInt() == 5000)).as("SCTP to 5000 under an allow of every port: %s", denied).isTrue();
        soft.assertThat(denied.saw(p -> p.path("dport").asInt() == 5001)).as("SCTP to 5001 denied by ingressDeny: %s", denied).isFalse();
        soft.assertThat(drops(LAB, "node2", POLICY_DENY) - deny).as("drops POLICY_DENY (%d) counted on node2", POLICY_DENY).isPositive();
        soft.assertAll();
    }

    /** trusted sends an SCTP INIT to 5001, then to 5000, as seen in the sctp pod. */
    static Sniffed sniffSctp(String sctp) throws Exception {
        return sniff(LAB, "sec/sctp", List.of("--proto", "sctp"), () -> {
            craft(LAB, "sec/trusted", "--dst", sctp, "--proto", "sctp", "--sport", "40200", "--dport", "5001");
            craft(LAB, "sec/trusted", "--dst", sctp, "--proto", "sctp", "--sport", "40201", "--dport", "5000");
        }, p -> p.path("dport").asInt() == 5000);
    }

    // ---------------------------------------------------------------- e. LoadBalancer status MITM

    /**
     * A Service of another load balancer class whose status names the world host's address: a pod
     * connecting to that address reaches the world host, not the Service's backend. A Service with
     * an address from Sluice's pool still answers from its backend.
     */
    @Test
    void loadBalancerStatusMitm() throws Exception {
        SoftAssertions soft = new SoftAssertions();
        apply(LAB, "lb", """
                apiVersion: v1
                kind: Service
                metadata: {name: lb-other, namespace: sec}
                spec: {type: LoadBalancer, loadBalancerClass: example.com/other, selector: {app: peer}, ports: [{port: 80}]}
                status: {loadBalancer: {ingress: [{ip: 172.30.0.200}]}}
                ---
                apiVersion: v1
                kind: Service
                metadata: {name: lb-own, namespace: sec}
                spec: {type: LoadBalancer, selector: {app: peer}, ports: [{port: 80}]}
                """);
        JsonNode w = http(LAB, "sec/trusted", WORLD + ":80");
        soft.assertThat(w.path("pod").asString()).as("trusted -> %s:80, the address another class's Service claims: %s", WORLD, w)
                .isEqualTo("world");
        JsonNode own = http(LAB, "sec/trusted", LB_IP + ":80");
        soft.assertThat(own.path("pod").asString()).as("trusted -> %s:80 from Sluice's pool: %s", LB_IP, own).isEqualTo("sec/peer");
        soft.assertAll();
    }

    // ---------------------------------------------------------------- f. conntrack outliving a pod

    /**
     * A pod with flows in and out is deleted: no conntrack entry on any node keeps its address (a
     * pod that gets the address next would inherit them: its packets would pass as replies of the
     * old flows, past policy). The pod applied again, quite likely at the same address, is reachable.
     */
    @Test
    void conntrackOutlivingPod() throws Exception {
        SoftAssertions soft = new SoftAssertions();
        String yaml = """
                apiVersion: v1
                kind: Pod
                metadata: {name: doomed, namespace: sec, labels: {app: doomed}}
                spec: {nodeName: node1, containers: [{name: c, ports: [{containerPort: 80}, {containerPort: 80, protocol: UDP}]}]}
                """;
        apply(LAB, "doomed", yaml);
        String doomed = podIps(LAB).get("sec/doomed"), peer = ip("sec/peer");
        assertThat(connects(LAB, "sec/trusted", doomed + ":80")).as("trusted -> doomed").isTrue();
        assertThat(connects(LAB, "sec/peer", doomed + ":80", "udp")).as("peer -> doomed (UDP)").isTrue();
        assertThat(connects(LAB, "sec/doomed", peer + ":80")).as("doomed -> peer").isTrue();
        assertThat(ctEntries(LAB, doomed)).as("conntrack entries of doomed (%s) before the delete", doomed).isNotEmpty();
        PolicyLab.delete(LAB, dir, LAB + "-doomed");
        // The delete returns once every agent has programmed it; a short poll allows an agent that
        // cleans up right after reporting.
        List<String> left = ctEntries(LAB, doomed);
        for (long until = System.currentTimeMillis() + 5_000; !left.isEmpty() && System.currentTimeMillis() < until; left = ctEntries(LAB, doomed))
            TimeUnit.MILLISECONDS.sleep(250);
        soft.assertThat(left).as("conntrack entries with the address of the deleted pod doomed (%s)", doomed).isEmpty();
        apply(LAB, "doomed", yaml);
        String again = podIps(LAB).get("sec/doomed");
        soft.assertThat(connects(LAB, "sec/trusted", again + ":80")).as("trusted -> doomed applied again (%s)", again).isTrue();
        soft.assertAll();
    }

    // ---------------------------------------------------------------- g. fragments under masquerade

    /**
     * Masquerade on: a 3000-byte UDP datagram (fragmented, DF off) to the world host's echo port
     * comes back intact; a non-first fragment sent alone is dropped (FRAGMENT).
     */
    @Test
    void fragmentsUnderMasquerade() throws Exception {
        SoftAssertions soft = new SoftAssertions();
        JsonNode small = probe(LAB, "sec/trusted", "--proto", "udp", "--size", "1000", "--timeout-ms", "2000", WORLD + ":53");
        soft.assertThat(small.path("ok").asBoolean()).as("1000-byte UDP echo from the world (one packet): %s", small).isTrue();
        JsonNode big = probe(LAB, "sec/trusted", "--proto", "udp", "--size", "3000", "--timeout-ms", "2000", WORLD + ":53");
        soft.assertThat(big.path("ok").asBoolean()).as("3000-byte UDP echo from the world (fragments both ways): %s", big).isTrue();
        long before = drops(LAB, "node1", FRAGMENT);
        craft(LAB, "sec/trusted", "--dst", WORLD, "--proto", "udp", "--sport", "40400", "--dport", "53", "--frag-offset", "1480",
                "--size", "200", "--id", "4242");
        soft.assertThat(drops(LAB, "node1", FRAGMENT) - before).as("drops FRAGMENT (%d) on node1 for a lone non-first fragment", FRAGMENT)
                .isPositive();
        soft.assertAll();
    }

    // ---------------------------------------------------------------- h. truncated L4

    /**
     * TCP packets from trusted whose header is cut short (12 bytes: ports but no flags; 3 bytes:
     * not even the ports) are dropped (INVALID_PACKET), not delivered as port 0 or as a flagless
     * segment; a whole SYN and a real connection on the same path still arrive.
     */
    @Test
    void truncatedL4() throws Exception {
        SoftAssertions soft = new SoftAssertions();
        String peer = ip("sec/peer"), trusted = ip("sec/trusted");
        long before = drops(LAB, "node1", INVALID_PACKET);
        Sniffed s = sniff(LAB, "sec/peer", List.of("--proto", "tcp", "--from", trusted), () -> {
            craft(LAB, "sec/trusted", "--dst", peer, "--proto", "tcp", "--sport", "40301", "--dport", "80", "--truncate", "12");
            craft(LAB, "sec/trusted", "--dst", peer, "--proto", "tcp", "--sport", "40302", "--dport", "80", "--truncate", "3");
            craft(LAB, "sec/trusted", "--dst", peer, "--proto", "tcp", "--sport", "40300", "--dport", "80");
        }, from(trusted, 40300));
        soft.assertThat(s.saw(from(trusted, 40300))).as("a whole SYN reaches peer: %s", s).isTrue();
        soft.assertThat(s.saw(p -> p.path("truncated").asBoolean())).as("a truncated TCP header reaches peer: %s", s).isFalse();
        soft.assertThat(drops(LAB, "node1", INVALID_PACKET) - before).as("drops INVALID_PACKET (%d) counted on node1", INVALID_PACKET)
                .isPositive();
        soft.assertThat(connects(LAB, "sec/trusted", peer + ":80")).as("trusted -> peer:80").isTrue();
        soft.assertAll();
    }

    // ---------------------------------------------------------------- helpers

    static String np(String name, String spec) {
        return "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: " + name + ", namespace: sec}\nspec:\n" + spec.indent(2);
    }

    static String cnp(String name, String spec) {
        return "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: " + name + ", namespace: sec}\nspec:\n" + spec.indent(2);
    }

    static void apply(String lab, String name, String yaml) throws IOException { PolicyLab.apply(lab, dir, lab + "-" + name, yaml); }

    static String ip(String pod) {
        String ip = ips.get(pod);
        assertThat(ip).as("address of %s", pod).isNotNull();
        return ip;
    }

    static String tool() { return Cli.home() + "/build/bin/sluice-pod"; }

    static String netns(String lab, String target) throws IOException {
        return target.equals("world") || target.startsWith("node") ? "sl-" + lab + "-" + target : PolicyLab.podNetns(lab, target);
    }

    /** Runs a command in a root-owned process and asserts it succeeded; returns stdout and stderr. */
    static String sh(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as("%s: %s", String.join(" ", cmd), out).isZero();
        return out;
    }

    /** sluice-pod ARGS in the namespace of a pod (ns/name) or the world; its output (stdout and stderr). */
    static String tool(String lab, String from, String... args) throws IOException, InterruptedException {
        List<String> c = new ArrayList<>(List.of("nsenter", "--net=/var/run/netns/" + netns(lab, from), "--", tool()));
        c.addAll(List.of(args));
        return PolicyLab.run(c.toArray(String[]::new));
    }

    static void craft(String lab, String from, String... args) throws IOException, InterruptedException {
        List<String> a = new ArrayList<>(List.of("craft"));
        a.addAll(List.of(args));
        String out = tool(lab, from, a.toArray(String[]::new));
        assertThat(out).as("craft from %s %s", from, List.of(args)).contains("\"packets\":");
    }

    /** One probe line (its JSON) from `sluice-pod probe ARGS`. */
    static JsonNode probe(String lab, String from, String... args) throws IOException, InterruptedException {
        List<String> a = new ArrayList<>(List.of("probe", "--timeout-ms", "1000"));
        a.addAll(List.of(args));
        String out = tool(lab, from, a.toArray(String[]::new));
        String line = out.lines().filter(l -> l.startsWith("{\"target\"")).findFirst()
                .orElseThrow(() -> new AssertionError("probe from " + from + " " + List.of(args) + ": " + out));
        return Cli.JSON.readTree(line);
    }

    static boolean connects(String lab, String from, String target, String proto) throws IOException, InterruptedException {
        return probe(lab, from, "--proto", proto, target).path("ok").asBoolean();
    }

    static boolean connects(String lab, String from, String target) throws IOException, InterruptedException {
        return connects(lab, from, target, "tcp");
    }

    static JsonNode http(String lab, String from, String to) throws IOException, InterruptedException {
        String out = tool(lab, from, "http", "--to", to, "--timeout-ms", "3000");
        String line = out.lines().filter(l -> l.startsWith("{")).findFirst().orElse("{}");
        return Cli.JSON.readTree(line);
    }

    /**
     * A VXLAN device in a pod's namespace, as an attacker in that pod can make: VNI vni to remote's
     * tunnel port, with a route to target through it. The neighbour entry is static: nothing
     * answers ARP at the other end of a tunnel the attacker made up.
     */
    static void vxlan(String netns, long vni, String remote, String target) throws IOException, InterruptedException {
        sh("ip", "-n", netns, "link", "add", "vxsl", "type", "vxlan", "id", Long.toString(vni), "remote", remote, "dstport", "8472", "dev", "eth0");
        sh("ip", "-n", netns, "link", "set", "vxsl", "up");
        sh("ip", "-n", netns, "route", "add", target + "/32", "dev", "vxsl");
        sh("ip", "-n", netns, "neigh", "add", target, "lladdr", "02:00:00:00:00:01", "dev", "vxsl");
    }

    static Map<String, String> podIps(String lab) {
        Map<String, String> out = new HashMap<>();
        for (JsonNode p : PolicyLab.inProcess("lab", "get", "pods", "--name", lab, "-o", "json").ok().json().path("items"))
            out.put(p.path("metadata").path("namespace").asString() + "/" + p.path("metadata").path("name").asString(),
                    p.path("status").path("podIP").asString());
        return out;
    }

    static long identity(String lab, String pod) {
        for (JsonNode node : PolicyLab.inProcess("endpoint", "list", "--name", lab, "-o", "json").ok().json().path("nodes"))
            for (JsonNode ep : node.path("result"))
                if (ep.path("pod").asString().equals(pod)) return ep.path("identity").asLong();
        throw new AssertionError("no endpoint " + pod);
    }

    /** Packets counted on a node under a drop reason, all directions and endpoints. */
    static long drops(String lab, String node, int code) { return drops(lab, node, null, code); }

    /** Packets counted on a node under a drop reason (0: any drop, not audit) for an endpoint (null: any). */
    static long drops(String lab, String node, String endpoint, int code) {
        long n = 0;
        for (JsonNode nd : PolicyLab.inProcess("bpf", "metrics", "list", "--name", lab, "-o", "json").ok().json().path("nodes")) {
            if (!nd.path("node").asString().equals(node)) continue;
            for (JsonNode m : nd.path("result")) {
                int c = m.path("code").asInt();
                boolean reason = code == 0 ? c >= 130 && c != 145 : c == code;
                if (reason && (endpoint == null || endpoint.equals(m.path("endpoint").asString()))) n += m.path("packets").asLong();
            }
        }
        return n;
    }

    /** Conntrack entries (as JSON text) on any node whose source or destination is ip. */
    static List<String> ctEntries(String lab, String ip) {
        List<String> out = new ArrayList<>();
        for (JsonNode nd : PolicyLab.inProcess("bpf", "ct", "list", "--name", lab, "-o", "json").ok().json().path("nodes"))
            for (JsonNode e : nd.path("result"))
                if (e.path("src").asString().startsWith(ip + ":") || e.path("dst").asString().startsWith(ip + ":"))
                    out.add(nd.path("node").asString() + " " + e);
        return out;
    }

    static Predicate<JsonNode> from(String src, int sport) {
        return p -> p.path("src").asString().equals(src) && p.path("sport").asInt() == sport;
    }

    interface Action { void run() throws Exception; }

    /** What a sniffer saw. */
    record Sniffed(List<JsonNode> packets) {
        boolean saw(Predicate<JsonNode> p) { return packets.stream().anyMatch(p); }

        @Override public String toString() { return packets.toString(); }
    }

    /** Time allowed, once the control packet is in, for packets sent before it on a parallel path (the other CPU's backlog). */
    static final long GRACE_MS = 200;

    /**
     * Runs {@code sluice-pod sniff ARGS} in target's namespace (a raw socket: it sees what is
     * delivered there, before any socket lookup) while traffic runs. Traffic sends its attack
     * packets first and a legitimate control packet last, on the same path; the sniffer is stopped
     * once the control is in (or after 5 s without it, which the test reports).
     */
    static Sniffed sniff(String lab, String target, List<String> args, Action traffic, Predicate<JsonNode> control) throws Exception {
        Path out = Files.createTempFile(dir, "sniff", ".out"), err = Files.createTempFile(dir, "sniff", ".err");
        List<String> cmd = new ArrayList<>(List.of("nsenter", "--net=/var/run/netns/" + netns(lab, target), "--", tool(), "sniff",
                "--timeout-ms", "5000"));
        cmd.addAll(args);
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        try {
            long until = System.currentTimeMillis() + 5_000;
            while (!Files.readString(err).contains("listening")) {
                assertThat(p.isAlive()).as("sniff in %s: %s", target, Files.readString(err)).isTrue();
                assertThat(System.currentTimeMillis()).as("sniff in %s listening within 5 s", target).isLessThan(until);
                TimeUnit.MILLISECONDS.sleep(20);
            }
            traffic.run();
            while (p.isAlive() && packets(out).stream().noneMatch(control)) TimeUnit.MILLISECONDS.sleep(20);
            if (p.isAlive()) TimeUnit.MILLISECONDS.sleep(GRACE_MS);
        } finally {
            p.destroy();
            p.waitFor(5, TimeUnit.SECONDS);
        }
        return new Sniffed(packets(out));
    }

    /** The complete packet lines the sniffer wrote so far (not its summary). */
    static List<JsonNode> packets(Path out) throws IOException {
        String s = Files.readString(out);
        List<JsonNode> ps = new ArrayList<>();
        int end = s.lastIndexOf('\n');
        if (end < 0) return ps;
        for (String line : s.substring(0, end).split("\n"))
            if (line.startsWith("{\"src\"")) ps.add(Cli.JSON.readTree(line));
        return ps;
    }
}
