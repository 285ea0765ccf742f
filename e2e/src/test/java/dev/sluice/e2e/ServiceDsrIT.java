package dev.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import tools.jackson.databind.JsonNode;

/**
 * loadBalancer.mode dsr on a 2-node lab in native routing: the world reaches node1's NodePort,
 * whose only backend is on node2. The backend sees the world client's own address, and its replies
 * never reach node1: a packet socket on node1's uplink (it taps before tc, so it also sees what the
 * data path redirects) counts no packet from the backend while the client's own packets do pass
 * there; node1 keeps no SNAT entry.
 */
@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: network namespaces, BPF, netlink")
class ServiceDsrIT {
    static final String LAB = "svcdsr", N1 = "172.30.0.11", WORLD = "172.30.0.200";
    static final String MANIFESTS = """
            apiVersion: v1
            kind: Pod
            metadata: {name: web, namespace: svc, labels: {app: web}}
            spec: {nodeName: node2, containers: [{name: c, ports: [{containerPort: 80}]}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: web, namespace: svc}
            spec:
              type: NodePort
              selector: {app: web}
              ports:
              - {name: http, port: 80, nodePort: 30080}
              - {name: dns, port: 80, protocol: UDP, nodePort: 30081}
            """;
    static String pod, webIp;

    @BeforeAll static void setUp() throws IOException {
        Cli.requireRoot();
        Cli.down(LAB);
        Path dir = Files.createTempDirectory("sluice-dsr-it");
        Files.writeString(dir.resolve("values.yaml"), "routingMode: native\nloadBalancer: {mode: dsr}\n");
        Files.writeString(dir.resolve("m.yaml"), MANIFESTS);
        pod = Cli.home().resolve("build/bin/sluice-pod").toString();
        Cli.sluice("lab", "up", "--name", LAB, "--nodes", "2", "--values", dir.resolve("values.yaml").toString(),
                "-f", dir.resolve("m.yaml").toString()).ok();
        for (JsonNode p : Cli.sluice("lab", "get", "pods", "--name", LAB, "-o", "json").ok().json().path("items"))
            if (p.path("metadata").path("name").asString().equals("web")) webIp = p.path("status").path("podIP").asString();
    }

    @AfterAll static void tearDown() { Cli.down(LAB); }

    /** sluice-pod sniff in a lab namespace, started in the background; its last line is the summary. */
    static Process sniff(String target, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-Dsluice.home=" + Cli.home(), "-jar",
                dev.sluice.lab.LabEnv.detect().jar().toString(), "lab", "exec", "--name", LAB, target, "--", pod, "sniff"));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    }

    static long matched(Process p) throws Exception {
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        List<String> lines = new String(p.getInputStream().readAllBytes()).lines().toList();
        assertThat(lines).as("sniff output").isNotEmpty();
        return Cli.JSON.readTree(lines.getLast()).path("matched").asLong();
    }

    @Test
    void theBackendSeesTheWorldClientAndItsRepliesSkipTheEntryNode() throws Exception {
        Process fromWeb = sniff("node1", "--link", "eth0", "--proto", "tcp", "--from", webIp, "--timeout-ms", "4000");
        Process fromWorld = sniff("node1", "--link", "eth0", "--proto", "tcp", "--from", WORLD, "--timeout-ms", "4000");
        Thread.sleep(1000);   // both sockets open before the first request
        for (int i = 0; i < 5; i++) {
            Cli.Run r = Cli.exec(LAB, "world", pod, "http", "--to", N1 + ":30080", "--timeout-ms", "3000");
            assertThat(r.exit()).as("world -> node1:30080: %s", r.err()).isZero();
            assertThat(r.json().path("pod").asString()).isEqualTo("svc/web");
            assertThat(r.json().path("client").asString()).as("the backend sees the world client").startsWith(WORLD + ":");
        }
        assertThat(matched(fromWorld)).as("the client's packets pass node1's uplink (the capture works)").isGreaterThan(0);
        assertThat(matched(fromWeb)).as("packets from the backend at node1's uplink").isZero();
        String nat = Cli.sluice("bpf", "nat", "list", "--name", LAB, "--node", "node1", "-o", "json").ok().out();
        assertThat(nat).doesNotContain(webIp);
    }

    /**
     * DSR does not bypass the backend's policy: the backend's node delivers the DSR packet through
     * the pod's own ingress check, with the real client address, so a policy that admits only pods
     * shuts the world out of the NodePort; deleting it lets the world in again.
     */
    @Test
    void theBackendsPolicyStillDecides() throws Exception {
        Path deny = Files.createTempFile("dsr-policy", ".yaml");
        Files.writeString(deny, """
                apiVersion: networking.k8s.io/v1
                kind: NetworkPolicy
                metadata: {name: web-from-pods-only, namespace: svc}
                spec:
                  podSelector: {matchLabels: {app: web}}
                  policyTypes: [Ingress]
                  ingress: [{from: [{podSelector: {}}]}]
                """);
        Cli.sluice("lab", "apply", "--name", LAB, "-f", deny.toString()).ok();
        Cli.Run r = Cli.exec(LAB, "world", pod, "http", "--to", N1 + ":30080", "--timeout-ms", "1500");
        assertThat(r.exit()).as("world -> node1:30080 under a policy admitting pods only: %s", r.out()).isNotZero();
        Cli.sluice("lab", "delete", "--name", LAB, "-f", deny.toString()).ok();
        Cli.Run ok = Cli.exec(LAB, "world", pod, "http", "--to", N1 + ":30080", "--timeout-ms", "3000");
        assertThat(ok.exit()).as("without the policy: %s", ok.err()).isZero();
        Files.deleteIfExists(deny);
    }

    /** UDP in dsr mode: the option on every datagram, the answer straight from node2. */
    @Test
    void udpAnswersComeStraightFromTheBackendsNode() throws Exception {
        Process fromWeb = sniff("node1", "--link", "eth0", "--proto", "udp", "--from", webIp, "--timeout-ms", "3000");
        Thread.sleep(800);
        for (int i = 0; i < 3; i++) {
            Cli.Run r = Cli.exec(LAB, "world", pod, "probe", "--proto", "udp", "--timeout-ms", "2000", N1 + ":30081");
            assertThat(r.exit()).as("world -> node1:30081/udp: %s %s", r.out(), r.err()).isZero();
        }
        assertThat(matched(fromWeb)).as("UDP from the backend at node1's uplink").isZero();
    }
}
