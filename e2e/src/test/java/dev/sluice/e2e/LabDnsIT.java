package dev.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.bpf.Netns;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;
import tools.jackson.databind.JsonNode;

/**
 * The lab's cluster DNS with real packets: pods resolve Services (short name through the search
 * list, FQDN), a headless Service's pods, a {@code lab dns set} name, over UDP and TCP, through the
 * kube-dns ClusterIP and the data path (the flow shows it); an egress policy to kube-dns by labels
 * admits DNS under default deny, and without it DNS is dropped (the CoreDNS-egress pitfall).
 */
@org.junit.jupiter.api.TestMethodOrder(org.junit.jupiter.api.MethodOrderer.OrderAnnotation.class)
class LabDnsIT {
    static final String LAB = "dnit";
    static final String MANIFESTS_LAB = "dnitm";
    /** a on node2 (the DNS pod is on node1: its queries cross the overlay), b and c on node1. */
    static final String PODS = """
            apiVersion: v1
            kind: Pod
            metadata: {name: a, namespace: x, labels: {app: a}}
            spec: {nodeName: node2, containers: [{name: c, ports: [{containerPort: 80}]}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: b, namespace: x, labels: {app: b}}
            spec: {nodeName: node1, hostname: b0, subdomain: hb, containers: [{name: c, ports: [{containerPort: 80, name: http}]}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: c, namespace: y, labels: {app: c}}
            spec: {nodeName: node1, containers: [{name: c, ports: [{containerPort: 80}]}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: b, namespace: x}
            spec: {selector: {app: b}, ports: [{name: http, port: 80}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: hb, namespace: x}
            spec: {clusterIP: None, selector: {app: b}, ports: [{name: http, port: 80}]}
            """;
    /** a may only reach kube-dns (by labels, as written for real clusters) and x; c has default-deny egress. */
    static final String POLICIES = """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: a-out, namespace: x}
            spec:
              podSelector: {matchLabels: {app: a}}
              policyTypes: [Egress]
              egress:
              - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}, podSelector: {matchLabels: {k8s-app: kube-dns}}}]
                ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]
              - to: [{podSelector: {}}]
            ---
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: c-out, namespace: y}
            spec:
              podSelector: {matchLabels: {app: c}}
              policyTypes: [Egress]
            """;
    static Path dir;

    @BeforeAll static void setUp() throws IOException {
        Cli.requireRoot();
        Cli.down(LAB);
        Cli.down(MANIFESTS_LAB);
        dir = Files.createTempDirectory("sluice-labdns-it");
        Files.writeString(dir.resolve("pods.yaml"), PODS);
        Files.writeString(dir.resolve("values.yaml"), "dns:\n  ndots: 3\n");
        Cli.sluice("lab", "up", "--name", LAB, "--nodes", "2", "--values", dir.resolve("values.yaml").toString(), "-f", dir.resolve("pods.yaml").toString()).ok();
    }

    @AfterAll static void tearDown() {
        Cli.down(LAB);
        Cli.down(MANIFESTS_LAB);
    }

    /** {@code getent ahostsv4 NAME} in a pod: its addresses (empty when it does not resolve). */
    static List<String> resolve(String pod, String name) {
        var r = Cli.sluice("lab", "exec", "--name", LAB, pod, "--", "getent", "ahostsv4", name);
        if (r.exit() != 0) return List.of();
        return r.out().lines().filter(l -> l.contains("STREAM")).map(l -> l.split("\\s+")[0]).distinct().sorted().toList();
    }

    static String clusterIp(String service) {
        for (JsonNode s : Cli.sluice("service", "list", "--name", LAB, "-o", "json").ok().json())
            if (s.path("service").asString().equals(service)) return s.path("clusterIP").asString();
        throw new AssertionError("no service " + service);
    }

    @Test @Order(1)
    void theClusterHasKubeDnsAtTheTenthServiceAddress() {
        assertThat(clusterIp("kube-system/kube-dns")).isEqualTo("10.96.0.10");
        var pods = Cli.sluice("lab", "get", "pods", "--name", LAB, "-o", "json").ok().json().path("items");
        boolean found = false;
        for (JsonNode p : pods)
            if (p.path("metadata").path("name").asString().equals("coredns-lab")) {
                found = true;
                assertThat(p.path("metadata").path("namespace").asString()).isEqualTo("kube-system");
                assertThat(p.path("metadata").path("labels").path("k8s-app").asString()).isEqualTo("kube-dns");
                assertThat(p.path("spec").path("nodeName").asString()).isEqualTo("node1");
            }
        assertThat(found).as("pod kube-system/coredns-lab").isTrue();
    }

    @Test @Order(2)
    void everyProcessInAPodSeesTheClusterResolvConf() {
        var r = Cli.sluice("lab", "exec", "--name", LAB, "x/a", "--", "cat", "/etc/resolv.conf").ok();
        assertThat(r.out()).contains("nameserver 10.96.0.10").contains("search x.svc.cluster.local svc.cluster.local cluster.local")
                .contains("options ndots:3");
        // the node's own processes keep the host's
        assertThat(Cli.sluice("lab", "exec", "--name", LAB, "node1", "--", "cat", "/etc/resolv.conf").ok().out()).doesNotContain("10.96.0.10");
    }

    @Test @Order(3)
    void aPodResolvesAServiceByShortNameAndFqdn() {
        String ip = clusterIp("x/b");
        assertThat(resolve("x/a", "b")).containsExactly(ip);
        assertThat(resolve("x/a", "b.x")).containsExactly(ip);
        assertThat(resolve("x/a", "b.x.svc.cluster.local")).containsExactly(ip);
        // another namespace's short name is not this one's
        assertThat(resolve("y/c", "b")).isEmpty();
        assertThat(resolve("x/a", "nosuch")).isEmpty();
    }

    @Test @Order(4)
    void aHeadlessServiceAnswersItsPods() {
        String b = PolicyLabIps.ip(LAB, "x/b");
        assertThat(resolve("x/a", "hb.x.svc.cluster.local")).containsExactly(b);
        assertThat(resolve("x/a", "b0.hb.x.svc.cluster.local")).containsExactly(b);
        assertThat(resolve("x/a", b.replace('.', '-') + ".x.pod.cluster.local")).containsExactly(b);
    }

    @Test @Order(5)
    void anExternalNameIsSeenAtOnceAndGoesWithDelete() {
        Cli.sluice("lab", "dns", "set", "--name", LAB, "api.example.com", "172.30.0.200", "--ttl", "60").ok();
        assertThat(resolve("x/a", "api.example.com")).containsExactly("172.30.0.200");
        var list = Cli.sluice("lab", "dns", "list", "--name", LAB, "-o", "json").ok().json();
        assertThat(list).hasSize(1);
        assertThat(list.get(0).path("ttl").asInt()).isEqualTo(60);
        Cli.sluice("lab", "dns", "delete", "--name", LAB, "api.example.com").ok();
        assertThat(resolve("x/a", "api.example.com")).isEmpty();
        var bad = Cli.sluice("lab", "dns", "set", "--name", LAB, "bad_name", "1.2.3.4");
        assertThat(bad.exit()).isEqualTo(2);
        assertThat(bad.err().strip().lines()).hasSize(1);
    }

    @Test @Order(6)
    void tcpQueriesAnswerThroughTheClusterIp() throws Exception {
        Path netns = Path.of("/var/run/netns", PolicyLab.podNetns(LAB, "x/a"));
        Message q = Message.newQuery(Record.newRecord(Name.fromString("b.x.svc.cluster.local."), Type.A, DClass.IN));
        Message a = Netns.inNetns(netns, () -> {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("10.96.0.10", 53), 3000);
                s.setSoTimeout(3000);
                var out = new DataOutputStream(s.getOutputStream());
                byte[] w = q.toWire();
                out.writeShort(w.length);
                out.write(w);
                out.flush();
                var in = new DataInputStream(s.getInputStream());
                byte[] m = new byte[in.readUnsignedShort()];
                in.readFully(m);
                return new Message(m);
            }
        });
        assertThat(a.getRcode()).isEqualTo(Rcode.NOERROR);
        assertThat(((ARecord) a.getSection(Section.ANSWER).getFirst()).getAddress().getHostAddress()).isEqualTo(clusterIp("x/b"));
    }

    @Test @Order(7)
    void theQueriesCrossTheDataPathAsFlows() throws Exception {
        assertThat(resolve("x/a", "b")).isNotEmpty();
        JsonNode f = FlowsITAccess.awaitFlow(LAB, List.of("--from-pod", "x/a", "--to-pod", "kube-system/coredns-lab", "--port", "53"), x -> true);
        assertThat(f.path("l4").path("UDP").path("destination_port").asInt()).isEqualTo(53);
        assertThat(f.path("destination").path("namespace").asString()).isEqualTo("kube-system");
    }

    @Test @Order(8)
    void anEgressRuleToKubeDnsByLabelsAdmitsDnsUnderDefaultDenyAndNoRuleDropsIt() throws Exception {
        PolicyLab.apply(LAB, dir, "policies", POLICIES);
        assertThat(resolve("x/a", "b")).containsExactly(clusterIp("x/b"));
        assertThat(resolve("y/c", "b.x")).as("y/c has default-deny egress: no DNS").isEmpty();
        JsonNode drop = FlowsITAccess.awaitFlow(LAB, List.of("--from-pod", "y/c", "--verdict", "DROPPED", "--port", "53"), x -> true);
        assertThat(drop.path("drop_reason_desc").asString()).isEqualTo("POLICY_DENIED");
    }

    @Test @Order(9)
    void labDnsNeedsTheApiServer() {
        Cli.sluice("lab", "up", "--name", MANIFESTS_LAB, "--nodes", "1", "--api", "manifests").ok();
        var r = Cli.sluice("lab", "dns", "list", "--name", MANIFESTS_LAB);
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err().strip()).isEqualTo("sluice: lab dns: lab " + MANIFESTS_LAB + " keeps its state in manifests (expected: a lab with the API"
                + " server, `sluice lab up` without --api manifests; the cluster DNS reads the API)");
        assertThat(Files.exists(Path.of("/etc/netns"))
                && listNetnsEtc().stream().anyMatch(n -> n.startsWith("sl-" + MANIFESTS_LAB + "-"))).isFalse();
        Cli.down(MANIFESTS_LAB);
    }

    @Test @Order(10)
    void labDownRemovesThePodsResolvConf() {
        assertThat(listNetnsEtc().stream().filter(n -> n.startsWith("sl-" + LAB + "-"))).isNotEmpty();
        Cli.sluice("lab", "down", "--name", LAB).ok();
        assertThat(listNetnsEtc().stream().filter(n -> n.startsWith("sl-" + LAB + "-"))).isEmpty();
    }

    static List<String> listNetnsEtc() {
        try (var s = Files.list(Path.of("/etc/netns"))) {
            return s.map(p -> p.getFileName().toString()).toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    /** Pod addresses from the lab. */
    static final class PolicyLabIps {
        static String ip(String lab, String pod) {
            for (JsonNode p : Cli.sluice("lab", "get", "pods", "--name", lab, "-o", "json").ok().json().path("items"))
                if ((p.path("metadata").path("namespace").asString() + "/" + p.path("metadata").path("name").asString()).equals(pod))
                    return p.path("status").path("podIP").asString();
            throw new AssertionError("no pod " + pod);
        }
    }

    /** FlowsIT's wait for a flow, for another lab. */
    static final class FlowsITAccess {
        static JsonNode awaitFlow(String lab, List<String> filters, java.util.function.Predicate<JsonNode> want) throws InterruptedException {
            List<String> args = new java.util.ArrayList<>(List.of("observe", "--name", lab, "-o", "json", "--last", "500"));
            args.addAll(filters);
            long deadline = System.currentTimeMillis() + 10_000;
            String last;
            while (true) {
                Cli.Run r = Cli.sluice(args.toArray(String[]::new)).ok();
                last = r.out();
                List<String> lines = last.lines().toList();
                for (int i = lines.size() - 1; i >= 0; i--) {
                    JsonNode f = Cli.JSON.readTree(lines.get(i)).path("flow");
                    if (want.test(f)) return f;
                }
                if (System.currentTimeMillis() > deadline) throw new AssertionError("no flow for " + filters + " within 10 s; observe printed:\n" + last);
                Thread.sleep(250);
            }
        }
    }
}
