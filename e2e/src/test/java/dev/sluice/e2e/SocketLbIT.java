package dev.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.bpf.Cgroup;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import tools.jackson.databind.JsonNode;

/**
 * Socket-level load balancing end to end on a 2-node lab (default values: kubeProxyReplacement, so
 * socketLB on): the node's own namespace reaches ClusterIPs and NodePorts (also through loopback),
 * keeps session affinity, gets UDP answers from the ClusterIP, is refused at connect by a Service
 * without backends; pods take the socket path (no service translation in conntrack, the counter
 * grows) and policy still applies to the backend; the programs sit on the lab's node cgroups alone,
 * a process outside them is untouched; a restarted agent with socketLB.hostNamespaceOnly leaves its
 * pods to the per-packet path; `lab down` removes the cgroups and the links.
 */
@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: network namespaces, BPF, cgroups")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SocketLbIT {
    static final String LAB = "sockit", N1 = "172.30.0.11", N2 = "172.30.0.12";
    static final String MANIFESTS = """
            apiVersion: v1
            kind: Pod
            metadata: {name: web-1, namespace: sk, labels: {app: web}}
            spec: {nodeName: node1, containers: [{name: c, ports: [{containerPort: 80}, {containerPort: 53, protocol: UDP}]}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: web-2, namespace: sk, labels: {app: web}}
            spec: {nodeName: node2, containers: [{name: c, ports: [{containerPort: 80}, {containerPort: 53, protocol: UDP}]}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: guarded-1, namespace: sk, labels: {app: guarded}}
            spec: {nodeName: node2, containers: [{name: c, ports: [{containerPort: 80}, {containerPort: 53, protocol: UDP}]}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: client-1, namespace: sk, labels: {role: client}}
            spec: {nodeName: node1, containers: [{name: c}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: client-2, namespace: sk, labels: {role: client}}
            spec: {nodeName: node2, containers: [{name: c}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: intruder, namespace: sk, labels: {role: intruder}}
            spec: {nodeName: node1, containers: [{name: c}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: web, namespace: sk}
            spec: {selector: {app: web}, ports: [{name: http, port: 80}, {name: dns, port: 53, protocol: UDP}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: web-np, namespace: sk}
            spec: {type: NodePort, selector: {app: web}, ports: [{port: 80, nodePort: 30090}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: web-aff, namespace: sk}
            spec: {selector: {app: web}, sessionAffinity: ClientIP, ports: [{port: 8081, targetPort: 80}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: web-local, namespace: sk}
            spec: {selector: {app: web}, internalTrafficPolicy: Local, ports: [{port: 8082, targetPort: 80}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: guarded, namespace: sk}
            spec: {selector: {app: guarded}, ports: [{name: http, port: 80}, {name: dns, port: 53, protocol: UDP}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: empty, namespace: sk}
            spec: {selector: {app: nothing}, ports: [{port: 80}]}
            ---
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: guarded-from-clients, namespace: sk}
            spec:
              podSelector: {matchLabels: {app: guarded}}
              policyTypes: [Ingress]
              ingress: [{from: [{podSelector: {matchLabels: {role: client}}}]}]
            """;
    static Path dir;
    static String pod;
    static final Map<String, String> cip = new HashMap<>();

    @BeforeAll static void setUp() throws IOException {
        Cli.requireRoot();
        Cli.down(LAB);
        dir = Files.createTempDirectory("sluice-socklb-it");
        Files.writeString(dir.resolve("m.yaml"), MANIFESTS);
        pod = Cli.home().resolve("build/bin/sluice-pod").toString();
        Cli.sluice("lab", "up", "--name", LAB, "--nodes", "2", "-f", dir.resolve("m.yaml").toString()).ok();
        for (JsonNode s : Cli.sluice("service", "list", "--name", LAB, "-o", "json").ok().json())
            cip.put(s.path("service").asString(), s.path("clusterIP").asString());
    }

    @AfterAll static void tearDown() { Cli.down(LAB); }

    static JsonNode probe(String from, String... args) {
        List<String> cmd = new ArrayList<>(List.of(pod, "probe", "--timeout-ms", "1500"));
        cmd.addAll(List.of(args));
        Cli.Run r = Cli.exec(LAB, from, cmd.toArray(String[]::new));
        assertThat(r.exit()).as("%s: probe %s: %s", from, List.of(args), r.err()).isZero();
        return Cli.JSON.readTree(r.out().lines().findFirst().orElseThrow());
    }

    static JsonNode socketLb(String node) {
        return Cli.sluice("status", "--name", LAB, "--node", node, "-o", "json").ok().json().path("nodes").path(0).path("socketLB");
    }

    static String web() { return cip.get("sk/web"); }

    @Test @Order(1)
    void theNodesOwnNamespaceReachesClusterIpsAndNodePorts() {
        for (String node : List.of("node1", "node2")) {
            JsonNode c = probe(node, "--proto", "tcp", web() + ":80");
            assertThat(c.path("ok").asBoolean()).as(node + " -> ClusterIP: " + c).isTrue();
            assertThat(c.path("peer").asString()).isEqualTo(web() + ":80");
            JsonNode v6 = probe(node, "--proto", "tcp", "--v4mapped", web() + ":80");
            assertThat(v6.path("ok").asBoolean()).as(node + " -> ::ffff:ClusterIP: " + v6).isTrue();
            assertThat(v6.path("peer").asString()).isEqualTo(web() + ":80");
            for (String np : List.of("127.0.0.1:30090", (node.equals("node1") ? N1 : N2) + ":30090")) {
                JsonNode r = probe(node, "--proto", "tcp", np);
                assertThat(r.path("ok").asBoolean()).as(node + " -> NodePort " + np + ": " + r).isTrue();
                assertThat(r.path("pod").asString()).startsWith("sk/web-");
            }
        }
        assertThat(socketLb("node1").path("state").asString()).isEqualTo("on");
        assertThat(socketLb("node1").path("counters").path("connect").asLong()).isPositive();
    }

    /** What a kubelet probe or an operator's shell does: curl, a client of its own, from the node's namespace. */
    @Test @Order(1)
    void curlFromTheNodesNamespaceReachesAClusterIpAndNodePortsWithAffinity() {
        for (String node : List.of("node1", "node2")) {
            for (String url : List.of("http://" + web() + "/", "http://127.0.0.1:30090/", "http://" + (node.equals("node1") ? N1 : N2) + ":30090/")) {
                Cli.Run r = Cli.exec(LAB, node, "curl", "-sS", "-m", "5", url);
                assertThat(r.exit()).as("%s: curl %s: %s", node, url, r.err()).isZero();
                assertThat(r.out()).as("%s: curl %s", node, url).contains("\"pod\":\"sk/web-");
            }
        }
        java.util.Set<String> answered = new java.util.HashSet<>();
        for (int i = 0; i < 6; i++) {
            String out = Cli.exec(LAB, "node2", "curl", "-sS", "-m", "5", "http://" + cip.get("sk/web-aff") + ":8081/").ok().out();
            var m = java.util.regex.Pattern.compile("\"pod\":\"(sk/web-[12])\"").matcher(out);
            assertThat(m.find()).as(out).isTrue();
            answered.add(m.group(1));
        }
        assertThat(answered).as("sessionAffinity ClientIP: one backend for every curl").hasSize(1);
    }

    @Test @Order(2)
    void sessionAffinityHoldsForTheNodesSockets() {
        List<String> pods = new ArrayList<>();
        for (int i = 0; i < 8; i++) pods.add(probe("node1", "--proto", "tcp", cip.get("sk/web-aff") + ":8081").path("pod").asString());
        assertThat(pods).as("every answer from one backend").containsOnly(pods.getFirst());
        assertThat(pods.getFirst()).startsWith("sk/web-");
    }

    /** internalTrafficPolicy Local: each node's own sockets get that node's backend only, as its pods' packets do. */
    @Test @Order(2)
    void internalTrafficPolicyLocalKeepsTheNodesSocketsOnItsOwnBackend() {
        for (String node : List.of("node1", "node2"))
            for (int i = 0; i < 4; i++)
                assertThat(probe(node, "--proto", "tcp", cip.get("sk/web-local") + ":8082").path("pod").asString())
                        .as(node).isEqualTo(node.equals("node1") ? "sk/web-1" : "sk/web-2");
    }

    @Test @Order(3)
    void aUdpAnswerComesFromTheClusterIp() {
        for (JsonNode r : List.of(probe("node1", "--proto", "udp", "--unconnected", web() + ":53"), probe("node1", "--proto", "udp", web() + ":53"))) {
            assertThat(r.path("ok").asBoolean()).as(r.toString()).isTrue();
            assertThat(r.path("peer").asString()).as("the answer's source").isEqualTo(web() + ":53");
        }
        assertThat(socketLb("node1").path("counters").path("sendmsg").asLong()).isPositive();
    }

    @Test @Order(4)
    void aServiceWithoutBackendsIsRefusedAtConnect() {
        long before = socketLb("node1").path("counters").path("noBackend").asLong();
        JsonNode r = probe("node1", "--proto", "tcp", cip.get("sk/empty") + ":80");
        assertThat(r.path("ok").asBoolean()).isFalse();
        assertThat(r.path("error").asString()).isEqualTo("refused");
        assertThat(r.path("ms").isMissingNode()).isTrue();
        assertThat(socketLb("node1").path("counters").path("noBackend").asLong()).isEqualTo(before + 1);
    }

    /** The pod's flow in conntrack is to the backend, with no service translation (revNatId 0) and none to the ClusterIP. */
    @Test @Order(5)
    void podsConnectThroughTheSocketPath() {
        long before = socketLb("node1").path("counters").path("connect").asLong();
        JsonNode r = probe("sk/client-1", "--proto", "tcp", web() + ":80");
        assertThat(r.path("ok").asBoolean()).as(r.toString()).isTrue();
        assertThat(r.path("peer").asString()).isEqualTo(web() + ":80");
        String client = r.path("client").asString();
        String clientIp = client.substring(0, client.indexOf(':'));
        assertThat(socketLb("node1").path("counters").path("connect").asLong()).isGreaterThan(before);
        List<JsonNode> flows = new ArrayList<>();
        for (JsonNode e : Cli.sluice("bpf", "ct", "list", "--name", LAB, "-o", "json").ok().json().path("nodes").path(0).path("result"))
            if (e.path("src").asString().equals(client)) flows.add(e);
        assertThat(flows).as("conntrack of " + client).isNotEmpty();
        assertThat(flows).allSatisfy(e -> {
            assertThat(e.path("dst").asString()).doesNotStartWith(web() + ":");
            assertThat(e.path("revNatId").asInt()).isZero();
        });
        assertThat(clientIp).startsWith("10.");
    }

    /**
     * The attacker's side: a pod the backends' policy does not admit gets nothing through the
     * ClusterIP (socket path: translated, then dropped at the backend for its own identity), nor by
     * connecting to a backend directly, nor by UDP sendmsg to the ClusterIP.
     */
    @Test @Order(6)
    void policyStillAppliesToTheBackendWhateverTheIntruderConnectsTo() {
        String guarded = cip.get("sk/guarded");
        long before = socketLb("node1").path("counters").path("connect").asLong();
        assertThat(probe("sk/intruder", "--proto", "tcp", guarded + ":80").path("ok").asBoolean()).as("via ClusterIP").isFalse();
        assertThat(socketLb("node1").path("counters").path("connect").asLong()).as("translated at connect").isGreaterThan(before);
        for (JsonNode p : Cli.sluice("lab", "get", "pods", "--name", LAB, "-o", "json").ok().json().path("items"))
            if (p.path("metadata").path("labels").path("app").asString().equals("guarded")) {
                String ip = p.path("status").path("podIP").asString();
                assertThat(probe("sk/intruder", "--proto", "tcp", ip + ":80").path("ok").asBoolean()).as("direct to " + ip).isFalse();
            }
        assertThat(probe("sk/intruder", "--proto", "udp", "--unconnected", guarded + ":53").path("ok").asBoolean()).as("UDP sendmsg").isFalse();
        assertThat(probe("sk/intruder", "--proto", "udp", guarded + ":53").path("ok").asBoolean()).as("connected UDP").isFalse();
        // the admitted client, through the same path
        assertThat(probe("sk/client-1", "--proto", "tcp", guarded + ":80").path("ok").asBoolean()).isTrue();
        assertThat(probe("sk/client-1", "--proto", "udp", "--unconnected", guarded + ":53").path("ok").asBoolean()).isTrue();
        JsonNode drops = Cli.sluice("bpf", "metrics", "list", "--name", LAB, "-o", "json").ok().json();
        assertThat(drops.toString()).contains("Policy denied");
    }

    /** Outside the node's cgroup nothing is translated; the programs are on the lab's node cgroups and nowhere above. */
    @Test @Order(7)
    void processesOutsideTheNodesCgroupAreUntouched() throws Exception {
        // a process in node1's namespace that did not join its cgroup
        var p = new ProcessBuilder("nsenter", "--net=/var/run/netns/sl-" + LAB + "-node1", "--", pod, "probe", "--timeout-ms", "500", "--proto", "tcp",
                web() + ":80").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).isZero();
        assertThat(out).as("outside the cgroup").contains("\"ok\":false");
        Path root = Cgroup.cgroup2Mount().orElseThrow();
        for (String node : List.of("node1", "node2")) {
            JsonNode s = socketLb(node);
            Path cg = Path.of(s.path("cgroup").asString());
            assertThat(cg).isEqualTo(root.resolve("sluice-" + LAB + "-" + node));
            for (JsonNode prog : s.path("programs")) {
                String[] kv = prog.asString().split("=");
                var type = Cgroup.AttachType.valueOf(kv[0]);
                int id = Integer.parseInt(kv[1]);
                assertThat(Cgroup.attachedProgramIds(cg, type)).containsExactly(id);
                assertThat(Cgroup.attachedProgramIds(root, type)).doesNotContain(id);
            }
            assertThat(s.path("programs")).hasSize(7);
        }
        // this JVM (the root namespace's) is in none of the lab's cgroups
        String own = Files.readAllLines(Path.of("/proc/self/cgroup")).stream().filter(l -> l.startsWith("0::")).findFirst().orElse("");
        assertThat(own).doesNotContain("sluice-" + LAB);
    }

    /** A restarted agent keeps its links (no second attachment); with hostNamespaceOnly its pods go back to per-packet NAT. */
    @Test @Order(8)
    void aRestartedAgentWithHostNamespaceOnlyLeavesPodsToThePerPacketPath() throws Exception {
        Path values = Path.of("/run/sluice/labs", LAB, "values.yaml");
        Files.writeString(values, Files.readString(values) + "\nsocketLB:\n  hostNamespaceOnly: true\n");
        Cli.restartAgent(LAB, "node2");
        JsonNode s = socketLb("node2");
        assertThat(s.path("state").asString()).isEqualTo("on");
        assertThat(s.path("hostNamespaceOnly").asBoolean()).isTrue();
        assertThat(s.path("namespaces").asInt()).as("the node's own namespace only").isEqualTo(1);
        Path cg = Path.of(s.path("cgroup").asString());
        assertThat(Cgroup.attachedProgramIds(cg, Cgroup.AttachType.INET4_CONNECT)).hasSize(1);
        // the node's own sockets still translated; a pod's go through per-packet NAT
        assertThat(probe("node2", "--proto", "tcp", web() + ":80").path("ok").asBoolean()).isTrue();
        JsonNode r = probe("sk/client-2", "--proto", "tcp", web() + ":80");
        assertThat(r.path("ok").asBoolean()).as(r.toString()).isTrue();
        String client = r.path("client").asString();
        boolean translated = false;
        List<String> seen = new ArrayList<>();
        for (JsonNode n : Cli.sluice("bpf", "ct", "list", "--name", LAB, "-o", "json").ok().json().path("nodes"))
            for (JsonNode e : n.path("result"))
                if (e.path("src").asString().equals(client)) {
                    seen.add(n.path("node").asString() + " " + e);
                    if (e.path("revNatId").asInt() != 0) translated = true;
                }
        assertThat(translated).as("a service-translated conntrack entry for " + client + " in " + seen + "; node2 " + s).isTrue();
    }

    @Test @Order(9)
    void labDownRemovesTheNodeCgroupsAndTheirLinks() {
        Path root = Cgroup.cgroup2Mount().orElseThrow();
        assertThat(root.resolve("sluice-" + LAB + "-node1")).isDirectory();
        Cli.sluice("lab", "down", "--name", LAB).ok();
        assertThat(root.resolve("sluice-" + LAB + "-node1")).doesNotExist();
        assertThat(root.resolve("sluice-" + LAB + "-node2")).doesNotExist();
        assertThat(Path.of("/sys/fs/bpf/sluice", LAB)).doesNotExist();
    }
}
