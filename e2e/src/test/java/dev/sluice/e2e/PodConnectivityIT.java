package dev.sluice.e2e;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import tools.jackson.databind.JsonNode;

/**
 * The walking skeleton end to end on real packets, in both routing modes: TCP and UDP between pods
 * on the same node and across nodes, the pod MTU, anti-spoofing, CNI DEL releasing the address,
 * and an agent killed and restarted while its pods keep talking and no address is handed out twice.
 */
@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: network namespaces, BPF, netlink")
class PodConnectivityIT {
    /** A pod of the test namespace on a given node, serving TCP and UDP port 80. */
    static String pod(String name, String node) {
        return "apiVersion: v1\nkind: Pod\nmetadata: {name: " + name + ", namespace: x, labels: {pod: " + name + "}}\n"
                + "spec:\n  nodeName: " + node + "\n  containers: [{name: c, ports: [{containerPort: 80}, {containerPort: 80, protocol: UDP}]}]\n";
    }

    static final String PODS = "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n---\n"
            + String.join("---\n", pod("a", "node1"), pod("b", "node1"), pod("c", "node2"));

    static Path dir;

    @BeforeAll static void setUp() throws IOException {
        Cli.requireRoot();
        dir = Files.createTempDirectory("sluice-pods-it");
        Files.writeString(dir.resolve("pods.yaml"), PODS);
        Cli.down("pcit");
        Cli.down("pcnt");
    }

    @AfterAll static void tearDown() {
        Cli.down("pcit");
        Cli.down("pcnt");
    }

    @ParameterizedTest(name = "{0} routing")
    @ValueSource(strings = {"tunnel", "native"})
    void podsTalkAcrossNodesAndTheDataPathHoldsItsPromises(String routing) throws Exception {
        String lab = routing.equals("tunnel") ? "pcit" : "pcnt";
        try {
            Cli.sluice("lab", "up", "--name", lab, "--routing", routing, "-f", dir.toString()).ok();
            allAllowed(lab, "TCP");
            allAllowed(lab, "UDP");
            mtu(lab, routing);
            ipcacheHoldsEveryPod(lab);
            spoofedSourceIsDroppedAndCounted(lab);
            cniDelReleasesTheAddress(lab);
            agentRestartKeepsPodsReachableAndAddressesUnique(lab);
            assertThat(Cli.sluice("status", "--name", lab, "-o", "json").ok().json().path("health").asString()).isEqualTo("ok");
        } finally {
            Cli.down(lab);
        }
        assertThat(Cli.sluice("lab", "get", "pods", "--name", lab).exit()).isEqualTo(2);
    }

    static void allAllowed(String lab, String proto) {
        JsonNode m = Cli.sluice("lab", "probe", "--name", lab, "--port", "80", "--protocol", proto, "-o", "json").ok().json();
        List<String> pods = new ArrayList<>();
        m.path("pods").forEach(p -> pods.add(p.asString()));
        assertThat(pods).hasSizeGreaterThanOrEqualTo(2);
        for (String from : pods)
            for (String to : pods)
                assertThat(m.path("matrix").path(from).path(to).asString()).as("%s %s -> %s", proto, from, to).isEqualTo("allow");
    }

    /** The largest don't-fragment ping the pod MTU allows passes across nodes; one byte more fails. */
    static void mtu(String lab, String routing) {
        JsonNode st = Cli.sluice("status", "--name", lab, "-o", "json").ok().json();
        int podMtu = st.path("nodes").get(0).path("mtu").path("pod").asInt();
        assertThat(podMtu).isEqualTo(routing.equals("tunnel") ? 1450 : 1500);
        String c = podIp(lab, "x/c");
        int payload = podMtu - 28; // IPv4 header 20 + ICMP header 8
        assertThat(Cli.exec(lab, "x/a", "ping", "-c1", "-W2", "-M", "do", "-s", Integer.toString(payload), c).exit()).isZero();
        assertThat(Cli.exec(lab, "x/a", "ping", "-c1", "-W2", "-M", "do", "-s", Integer.toString(payload + 1), c).exit()).isNotZero();
    }

    /** Every node's ipcache, read from the kernel, holds each pod with the identity its endpoint has. */
    static void ipcacheHoldsEveryPod(String lab) {
        JsonNode eps = Cli.sluice("endpoint", "list", "--name", lab, "-o", "json").ok().json();
        JsonNode ipc = Cli.sluice("bpf", "ipcache", "list", "--name", lab, "-o", "json").ok().json();
        assertThat(Cli.sluice("bpf", "ipcache", "list", "--name", lab).ok().out()).startsWith("NODE").contains("PREFIX");
        for (JsonNode node : ipc.path("nodes"))
            for (JsonNode nodeEps : eps.path("nodes"))
                for (JsonNode ep : nodeEps.path("result")) {
                    boolean found = false;
                    for (JsonNode e : node.path("result"))
                        found |= e.path("prefix").asString().equals(ep.path("ip").asString() + "/32")
                                && e.path("identity").asLong() == ep.path("identity").asLong();
                    assertThat(found).as("%s: ipcache entry for %s", node.path("node").asString(), ep.path("pod").asString()).isTrue();
                }
    }

    static void spoofedSourceIsDroppedAndCounted(String lab) {
        String b = podIp(lab, "x/b");
        long before = spoofDrops(lab);
        // a second address on the pod's own interface, unknown to Sluice: packets from it are forged
        Cli.exec(lab, "x/a", "ip", "addr", "add", "10.0.0.250/32", "dev", "eth0").ok();
        try {
            assertThat(Cli.exec(lab, "x/a", "ping", "-c2", "-W1", "-I", "10.0.0.250", b).exit()).isNotZero();
        } finally {
            Cli.exec(lab, "x/a", "ip", "addr", "del", "10.0.0.250/32", "dev", "eth0");
        }
        assertThat(spoofDrops(lab) - before).isGreaterThanOrEqualTo(2);
        // the genuine address still works
        assertThat(Cli.exec(lab, "x/a", "ping", "-c1", "-W2", b).exit()).isZero();
    }

    static long spoofDrops(String lab) {
        long n = 0;
        JsonNode m = Cli.sluice("bpf", "metrics", "list", "--name", lab, "--node", "node1", "-o", "json").ok().json();
        for (JsonNode row : m.path("nodes").get(0).path("result"))
            if (row.path("code").asInt() == 130 && row.path("endpoint").asString().equals("x/a")) n += row.path("packets").asLong();
        return n;
    }

    static void cniDelReleasesTheAddress(String lab) throws IOException {
        String bIp = podIp(lab, "x/b");
        int usedBefore = ipamUsed(lab, "node1");
        Path del = dir.resolve("b.yaml");
        Files.writeString(del, "apiVersion: v1\nkind: Pod\nmetadata: {name: b, namespace: x}\nspec: {containers: [{name: c}]}\n");
        Cli.sluice("lab", "delete", "--name", lab, "-f", del.toString()).ok();
        assertThat(ipamUsed(lab, "node1")).isEqualTo(usedBefore - 1);
        assertThat(Path.of("/run/sluice/labs", lab, "nodes/node1/ipam", bIp)).doesNotExist();
        JsonNode eps = Cli.sluice("endpoint", "list", "--name", lab, "--node", "node1", "-o", "json").ok().json();
        assertThat(eps.path("nodes").get(0).path("result").findValuesAsString("pod")).doesNotContain("x/b");
        // DEL is idempotent: a runtime may call it again for an attachment that is already gone
        var pb = new ProcessBuilder("nsenter", "--net=/var/run/netns/sl-" + lab + "-node1", "--", Cli.home() + "/build/bin/sluice-cni");
        pb.environment().putAll(java.util.Map.of("CNI_COMMAND", "DEL", "CNI_CONTAINERID", "already-gone", "CNI_IFNAME", "eth0",
                "CNI_PATH", Cli.home() + "/build/bin", "CNI_ARGS", "K8S_POD_NAMESPACE=x;K8S_POD_NAME=b"));
        Process p = pb.redirectErrorStream(true).start();
        p.getOutputStream().write(("{\"cniVersion\":\"1.1.0\",\"name\":\"sluice\",\"type\":\"sluice-cni\",\"agentSocket\":\"/run/sluice/labs/"
                + lab + "/nodes/node1/agent.sock\"}").getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            assertThat(p.waitFor()).as("CNI DEL of an unknown attachment: %s", out).isZero();
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    static void agentRestartKeepsPodsReachableAndAddressesUnique(String lab) throws Exception {
        String sock = "/run/sluice/labs/" + lab + "/nodes/node1/agent.sock";
        long pid = Long.parseLong(run("pgrep", "-f", "--", "--socket " + sock).strip().lines().findFirst().orElseThrow());
        List<String> cmdline = new ArrayList<>(List.of(new String(Files.readAllBytes(Path.of("/proc/" + pid + "/cmdline")),
                StandardCharsets.UTF_8).split("\0")));
        run("kill", "-9", Long.toString(pid));
        // while no agent runs on node1, its pods still reach each other and the other node
        String c = podIp(lab, "x/c");
        assertThat(Cli.exec(lab, "x/a", Cli.home() + "/build/bin/sluice-pod", "probe", "--timeout-ms", "2000",
                c + ":80").ok().out()).contains("\"ok\":true");
        // start it again exactly as the lab did, in the node's namespace
        List<String> cmd = new ArrayList<>(List.of("setsid", "nsenter", "--net=/var/run/netns/sl-" + lab + "-node1", "--"));
        cmd.addAll(cmdline);
        new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.appendTo(Path.of("/run/sluice/labs", lab, "logs/node1.log").toFile()))
                .redirectErrorStream(true).start();
        long deadline = System.currentTimeMillis() + 60_000;
        while (Cli.sluice("status", "--name", lab, "--node", "node1").exit() != 0) {
            assertThat(System.currentTimeMillis()).as("agent back within 60 s").isLessThan(deadline);
            TimeUnit.MILLISECONDS.sleep(300);
        }
        allAllowed(lab, "TCP");
        // a new pod on node1 gets an address no living pod has
        Path d = dir.resolve("d.yaml");
        Files.writeString(d, pod("d", "node1"));
        Cli.sluice("lab", "apply", "--name", lab, "-f", d.toString()).ok();
        Set<String> ips = new HashSet<>();
        for (JsonNode p : Cli.sluice("lab", "get", "pods", "--name", lab, "-o", "json").ok().json().path("items"))
            assertThat(ips.add(p.path("status").path("podIP").asString())).as("address %s handed out twice", p.path("status").path("podIP")).isTrue();
        assertThat(ips).hasSize(4); // x/a, x/c, x/d and the lab's DNS pod kube-system/coredns-lab
        allAllowed(lab, "UDP");
    }

    static int ipamUsed(String lab, String node) {
        return Cli.sluice("status", "--name", lab, "--node", node, "-o", "json").ok().json().path("nodes").get(0).path("ipam").path("used").asInt();
    }

    static String podIp(String lab, String pod) {
        for (JsonNode p : Cli.sluice("lab", "get", "pods", "--name", lab, "-o", "json").ok().json().path("items"))
            if ((p.path("metadata").path("namespace").asString() + "/" + p.path("metadata").path("name").asString()).equals(pod))
                return p.path("status").path("podIP").asString();
        throw new AssertionError("no pod " + pod);
    }

    static String run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        return out;
    }
}
