package dev.sluice.lab;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The lab on this host, as root: topology, coexistence of labs, and that {@code lab down} leaves
 * nothing behind. The CLI runs as a separate process from the packaged jar, as a user runs it.
 * Lab names are test-only (lit1..lit3); every lab is removed in {@link #removeAll} whatever happens.
 */
@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: network namespaces, BPF, netlink")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LabTopologyIT {
    static final String A = "lit1", B = "lit2", PIECES = "lit3", PODS = "lit4";
    static final JsonMapper JSON = JsonMapper.builder().build();
    static Path home, jar;
    static String rootBefore;

    record Run(int exit, String out, String err) {}

    @BeforeAll static void setUp() {
        if (!"root".equals(System.getProperty("user.name"))) throw new IllegalStateException("the lab tests need root (run 'make test' as root)");
        home = Path.of(System.getProperty("sluice.home", "")).toAbsolutePath();
        jar = LabEnv.jar(home);
        removeAll();
        rootBefore = rootNamespace();
    }

    @AfterAll static void removeAll() {
        for (String l : List.of(A, B, PIECES, PODS)) {
            try {
                new Lab(l, LabEnv.detect(), s -> { }).down();
            } catch (RuntimeException e) {
                System.err.println("teardown of lab " + l + ": " + e.getMessage());
            }
        }
    }

    static Run sluice(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-Dsluice.home=" + home, "-jar", jar.toString()));
        cmd.addAll(List.of(args));
        Path out = Files.createTempFile("lab-it", ".out"), err = Files.createTempFile("lab-it", ".err");
        try {
            Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            assertThat(p.waitFor(180, TimeUnit.SECONDS)).as("sluice %s finished", String.join(" ", args)).isTrue();
            return new Run(p.exitValue(), Files.readString(out), Files.readString(err));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** Links, addresses, routes and forwarding of the root namespace: the lab must not change them. */
    static String rootNamespace() {
        return Procs.check(List.of("ip", "-o", "link", "show")).stdout().replaceAll("\\s+", " ").replaceAll("link/\\S+ \\S+ brd \\S+", "")
                .lines().map(l -> l.replaceAll("^\\d+: ", "").split(":")[0]).sorted().toList()
                + Procs.check(List.of("ip", "-o", "addr", "show")).stdout()
                + Procs.check(List.of("ip", "route", "show", "table", "all")).stdout()
                + Procs.check(List.of("sysctl", "net.ipv4.ip_forward", "net.ipv4.conf.all.rp_filter")).stdout();
    }

    /** The packaged jar and the pod tool: built by `make test` before the lab tests run. */
    static void requireBuild() {
        requireFile(jar);
        requireFile(home.resolve("build/bin/sluice-pod"));
    }

    static void requireFile(Path p) {
        if (!Files.isRegularFile(p)) throw new IllegalStateException(p + " is missing (expected: built by 'make test' or 'make build')");
    }

    static boolean ping(String netns, String ip) {
        return LabNet.exec(netns, List.of("ping", "-c1", "-W2", ip), 10_000).ok();
    }

    static void assertGone(String lab) {
        assertThat(LabNet.labNetns(lab)).as("namespaces of %s", lab).isEmpty();
        assertThat(LabDir.of(lab).bpffs()).doesNotExist();
        assertThat(LabDir.of(lab).root()).doesNotExist();
        var ps = Procs.check(List.of("ps", "-eo", "pid,args")).stdout();
        assertThat(ps.lines().filter(l -> l.contains("/labs/" + lab + "/") || l.contains("sl-" + lab + "-")).toList())
                .as("processes of %s", lab).isEmpty();
    }

    @Test @Order(1) void topologyPiecesConnectNodesAndWorldOnly() {
        var lab = new Lab(PIECES, LabEnv.detect(), s -> { });
        try {
            lab.makeTopology(3);
            assertThat(LabNet.labNetns(PIECES)).containsExactly("sl-lit3-fabric", "sl-lit3-node1", "sl-lit3-node2", "sl-lit3-node3", "sl-lit3-world");
            assertThat(ping("sl-lit3-node1", "172.30.0.12")).isTrue();
            assertThat(ping("sl-lit3-node3", "172.30.0.11")).isTrue();
            assertThat(ping("sl-lit3-node2", LabNames.WORLD_IP)).isTrue();
            assertThat(ping("sl-lit3-world", "172.30.0.13")).isTrue();
            // no way out: no default route anywhere, so an outside address is unreachable
            for (String ns : LabNet.labNetns(PIECES))
                assertThat(LabNet.ip(ns, "route", "show", "default").stdout()).as("default route in %s", ns).isBlank();
            assertThat(LabNet.exec("sl-lit3-node1", List.of("sysctl", "-n", "net.ipv4.ip_forward", "net.ipv4.conf.all.rp_filter"), 5000).stdout())
                    .isEqualTo("1\n0\n");
            assertThat(LabNet.ip("sl-lit3-node1", "-o", "link", "show", "eth0").stdout()).contains("mtu 1500");
            assertThat(LabNet.ip("sl-lit3-fabric", "-o", "link", "show", "master", "br0").stdout()).contains("n1@").contains("n2@").contains("n3@").contains("w0@");
            assertThat(rootNamespace()).isEqualTo(rootBefore);
        } finally {
            lab.down();
        }
        assertGone(PIECES);
    }

    @Test @Order(2) void upTwoLabsSideBySideThenDownLeavesNothing() throws Exception {
        requireBuild();
        Run up = sluice("lab", "up", "--name", A, "--nodes", "2");
        assertThat(up.exit()).as("lab up: %s", up.err()).isZero();
        assertThat(up.err()).contains("fabric ready").contains("node1 agent up").contains("node2 agent up");
        Run up2 = sluice("lab", "up", "--name", B, "--nodes", "1", "--routing", "native", "--api", "manifests");
        assertThat(up2.exit()).as("lab up %s: %s", B, up2.err()).isZero();

        assertThat(ping("sl-lit1-node1", "172.30.0.12")).isTrue();
        assertThat(ping("sl-lit1-node2", LabNames.WORLD_IP)).isTrue();
        assertThat(ping("sl-lit2-node1", LabNames.WORLD_IP)).isTrue();
        var probe = LabNet.exec("sl-lit1-node1", List.of(home.resolve("build/bin/sluice-pod").toString(), "probe", "--timeout-ms", "1000",
                LabNames.WORLD_IP + ":80"), 10_000);
        assertThat(probe.stdout()).contains("\"ok\":true").contains("\"pod\":\"world\"");

        Run nodes = sluice("lab", "get", "nodes", "--name", A, "-o", "json");
        assertThat(nodes.exit()).isZero();
        JsonNode list = JSON.readTree(nodes.out());
        assertThat(list.path("kind").asString()).isEqualTo("List");
        assertThat(list.path("items")).hasSize(2);
        assertThat(list.path("items").path(1).path("spec").path("podCIDRs").path(0).asString()).isEqualTo("10.0.1.0/24");
        assertThat(list.path("items").path(0).path("status").path("addresses").path(0).path("address").asString()).isEqualTo("172.30.0.11");
        assertThat(LabDir.of(A).kubeconfig()).content().contains("server: http://172.30.0.200:6443");
        Run kubectl = sluice("lab", "kubectl", "--name", A, "--", "get", "nodes", "-o", "name");
        assertThat(kubectl.exit()).as(kubectl.err()).isZero();
        assertThat(kubectl.out().lines()).containsExactly("node/node1", "node/node2");
        // the other lab keeps its state in a directory its agent watches
        assertThat(Files.readString(LabDir.of(B).manifests().resolve(".generation")).strip()).isEqualTo("1");
        assertThat(sluice("lab", "kubectl", "--name", B, "--", "get", "nodes").err()).contains("not in an API server");
        LabState st = LabState.load(LabDir.of(A).labJson()).orElseThrow();
        assertThat(st.nodes()).extracting(LabState.NodeState::netns).containsExactly("sl-lit1-node1", "sl-lit1-node2");
        assertThat(st.pids()).as("2 agents, the world server, the API server").hasSize(4).allMatch(Procs::alive);

        Run again = sluice("lab", "up", "--name", A);
        assertThat(again.exit()).isEqualTo(2);
        assertThat(again.err()).contains("lab lit1 exists (expected: a new name, or `sluice lab down --name lit1` first)");
        Run exec = sluice("lab", "exec", "--name", A, "node2", "--", "sh", "-c", "exit 7");
        assertThat(exec.exit()).isEqualTo(7);
        Run unknown = sluice("lab", "exec", "--name", A, "node9", "--", "true");
        assertThat(unknown.exit()).isEqualTo(2);
        assertThat(unknown.err()).contains("expected one of: node1, node2, world");

        Run down2 = sluice("lab", "down", "--name", B);
        assertThat(down2.exit()).isZero();
        assertGone(B);
        assertThat(LabNet.labNetns(A)).hasSize(5); // fabric, 2 nodes, world and the lab's DNS pod (kube-system/coredns-lab)
        assertThat(ping("sl-lit1-node1", "172.30.0.12")).isTrue();

        Run down = sluice("lab", "down", "--name", A);
        assertThat(down.exit()).as(down.err()).isZero();
        assertGone(A);
        assertThat(st.pids()).noneMatch(Procs::alive);
        Run downAgain = sluice("lab", "down", "--name", A);
        assertThat(downAgain.exit()).isZero();
        assertThat(downAgain.err()).contains("nothing to remove");
        assertThat(rootNamespace()).isEqualTo(rootBefore);
    }

    @Test @Order(3) void downAfterACrashRemovesEverythingWithoutLabJson() throws Exception {
        var lab = new Lab(PIECES, LabEnv.detect(), s -> { });
        lab.makeTopology(1);
        // a stray process inside a lab namespace and a state directory without lab.json
        long pid = Procs.startDetached(LabNet.inNetns("sl-lit3-node1", List.of("sleep", "300")), null, Files.createTempFile("lab-it", ".log"));
        Files.createDirectories(LabDir.of(PIECES).root());
        Kubelet.sleep(200);
        assertThat(Procs.alive(pid)).isTrue();
        Run down = sluice("lab", "down", "--name", PIECES);
        assertThat(down.exit()).as(down.err()).isZero();
        assertThat(Procs.alive(pid)).isFalse();
        assertGone(PIECES);
    }

    /**
     * Pods end to end: up with manifests, every pod reachable, apply/label/delete return programmed.
     * Uses the real CNI plugin, build/bin/sluice-cni.
     */
    @Test @Order(4) void podsGetAddressesServersAndAProbeMatrix(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        requireBuild();
        requireFile(home.resolve("build/bin/sluice-cni"));
        Path m = tmp.resolve("pods.yaml");
        Files.writeString(m, """
                apiVersion: v1
                kind: Pod
                metadata: {name: a, namespace: x, labels: {app: a}}
                spec: {containers: [{name: c, ports: [{containerPort: 80}, {containerPort: 53, protocol: UDP}]}]}
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: b, namespace: x, labels: {app: b}}
                spec: {containers: [{name: c, ports: [{containerPort: 80}]}]}
                ---
                apiVersion: v1
                kind: Service
                metadata: {name: s-x-a, namespace: x}
                spec: {selector: {app: a}, ports: [{port: 80}]}
                """);
        try {
            Run up = sluice("lab", "up", "--name", PODS, "--nodes", "2", "-f", m.toString());
            assertThat(up.exit()).as("lab up: %s", up.err()).isZero();
            assertThat(up.err()).contains("namespace x created implicitly").contains("pod x/a 10.0.0.").contains("pod x/b 10.0.1.");
            JsonNode all = JSON.readTree(sluice("lab", "get", "pods", "--name", PODS, "-o", "json").out());
            var pods = JSON.createObjectNode();
            var items = pods.putArray("items"); // the manifests' pods; the lab adds kube-system/coredns-lab (its DNS)
            for (JsonNode p : all.path("items")) if (!p.path("metadata").path("namespace").asString().equals("kube-system")) items.add(p);
            assertThat(pods.path("items")).hasSize(2);
            assertThat(pods.path("items").path(0).path("spec").path("nodeName").asString()).isEqualTo("node1");
            assertThat(pods.path("items").path(0).path("status").path("podIP").asString()).startsWith("10.0.0.");
            Run probe = sluice("lab", "probe", "--name", PODS, "-o", "json");
            assertThat(probe.exit()).as(probe.err()).isZero();
            assertThat(JSON.readTree(probe.out()).toString()).isEqualTo("{\"port\":80,\"protocol\":\"TCP\",\"pods\":[\"x/a\",\"x/b\"],"
                    + "\"matrix\":{\"x/a\":{\"x/a\":\"allow\",\"x/b\":\"allow\"},\"x/b\":{\"x/a\":\"allow\",\"x/b\":\"allow\"}}}");
            Run udp = sluice("lab", "probe", "--name", PODS, "--protocol", "UDP", "--port", "53", "--timeout", "300ms");
            assertThat(udp.out()).contains("x/a      .    X").contains("x/b      .    X");
            Run via = sluice("lab", "probe", "--name", PODS, "--via", "service");
            assertThat(via.exit()).isEqualTo(2);
            assertThat(via.err()).contains("no Service selects only x/b");

            Run label = sluice("lab", "label", "--name", PODS, "pod", "x/b", "tier=web");
            assertThat(label.exit()).as(label.err()).isZero();
            Run labels = sluice("lab", "kubectl", "--name", PODS, "--", "get", "pod", "b", "-n", "x", "-o", "jsonpath={.metadata.labels.tier}");
            assertThat(labels.out()).isEqualTo("web");
            long gen = JSON.readTree(sluice("lab", "label", "--name", PODS, "pod", "x/b", "tier=web", "-o", "json").out()).path("resourceVersions").path("Pod").asLong();
            Path c = tmp.resolve("c.yaml");
            Files.writeString(c, """
                    apiVersion: v1
                    kind: Pod
                    metadata: {name: c, namespace: y}
                    spec: {nodeName: node2, containers: [{name: c, ports: [{containerPort: 80}]}]}
                    """);
            Run apply = sluice("lab", "apply", "--name", PODS, "-f", c.toString(), "-o", "json");
            assertThat(apply.exit()).as(apply.err()).isZero();
            assertThat(JSON.readTree(apply.out()).path("resourceVersions").path("Pod").asLong()).isGreaterThan(gen);
            assertThat(sluice("lab", "exec", "--name", PODS, "y/c", "--", "ip", "-o", "addr", "show", "eth0").out()).contains("10.0.1.");
            assertThat(sluice("lab", "probe", "--name", PODS).out()).contains("y/c      .    .    .");
            String cNetns = LabNames.podNetns(PODS, "y/c");
            assertThat(LabNet.labNetns(PODS)).contains(cNetns);
            Run delete = sluice("lab", "delete", "--name", PODS, "-f", c.toString());
            assertThat(delete.exit()).as(delete.err()).isZero();
            assertThat(LabNet.labNetns(PODS)).doesNotContain(cNetns);
            assertThat(sluice("lab", "delete", "--name", PODS, "-f", c.toString()).exit()).isEqualTo(2);
            LabState st = LabState.load(LabDir.of(PODS).labJson()).orElseThrow();
            assertThat(st.pods().keySet().stream().filter(k -> !k.startsWith("kube-system/"))).containsExactly("x/a", "x/b");

            // a pod made with kubectl is scheduled and started by the API server's kubelet loop, and torn down when deleted
            Path kc = tmp.resolve("kc.yaml"); // "y" quoted: kubectl reads YAML 1.1, where a bare y is a boolean
            Files.writeString(kc, Files.readString(c).replace("namespace: y", "namespace: \"y\""));
            Run kapply = sluice("lab", "kubectl", "--name", PODS, "--", "apply", "-f", kc.toString());
            assertThat(kapply.exit()).as(kapply.err()).isZero();
            String ip = "";
            for (long end = System.currentTimeMillis() + 30_000; ip.isEmpty() && System.currentTimeMillis() < end; Thread.sleep(200))
                ip = sluice("lab", "kubectl", "--name", PODS, "--", "get", "pod", "c", "-n", "y", "-o", "jsonpath={.status.podIP}").out().strip();
            assertThat(ip).startsWith("10.0.1.");
            assertThat(sluice("lab", "exec", "--name", PODS, "y/c", "--", "ip", "-o", "addr", "show", "eth0").out()).contains(ip + "/");
            assertThat(sluice("lab", "kubectl", "--name", PODS, "--", "delete", "pod", "c", "-n", "y").exit()).isZero();
            for (long end = System.currentTimeMillis() + 30_000; LabNet.labNetns(PODS).contains(cNetns) && System.currentTimeMillis() < end; )
                Thread.sleep(200);
            assertThat(LabNet.labNetns(PODS)).doesNotContain(cNetns);
            st = LabState.load(LabDir.of(PODS).labJson()).orElseThrow();
            assertThat(st.pods().keySet().stream().filter(k -> !k.startsWith("kube-system/"))).containsExactly("x/a", "x/b");

            Run down = sluice("lab", "down", "--name", PODS);
            assertThat(down.exit()).as(down.err()).isZero();
            assertGone(PODS);
            assertThat(st.pids()).noneMatch(Procs::alive);
        } finally {
            removeAll();
        }
    }
}
