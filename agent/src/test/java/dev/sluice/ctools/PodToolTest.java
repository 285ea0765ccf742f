package dev.sluice.ctools;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Runs build/bin/sluice-pod inside a private network namespace. Nothing touches the root namespace:
 * the server listens, and every client connects, inside {@code sl-test-<random>} only.
 */
@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: network namespaces, BPF, netlink")
class PodToolTest {
    static final JsonMapper JSON = JsonMapper.builder().build();
    /** Routed through a veth pair inside the namespace to a MAC nobody owns: packets vanish. */
    static final String SILENT = "10.254.0.9";

    static String ns;
    static Path pod;
    static Process server;

    record Result(int exit, String stdout, String stderr) {
        List<JsonNode> lines() {
            return stdout.lines().map(l -> (JsonNode) JSON.readTree(l)).toList();
        }

        JsonNode json() {
            assertThat(stdout.lines().count()).as(stdout).isEqualTo(1);
            return JSON.readTree(stdout);
        }
    }

    @BeforeAll
    static void setUp() throws Exception {
        pod = Path.of(System.getProperty("sluice.home", "."), "build", "bin", "sluice-pod");
        if (!Files.isExecutable(pod)) fail(pod + " is missing: run `make cbins` first");
        ns = "sl-test-" + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffffL);
        ip("netns", "add", ns);
        ip("-n", ns, "link", "set", "lo", "up");
        ip("-n", ns, "route", "add", "blackhole", "10.255.255.0/24");
        ip("-n", ns, "link", "add", "sl-v0", "type", "veth", "peer", "name", "sl-v1");
        ip("-n", ns, "addr", "add", "10.254.0.1/24", "dev", "sl-v0");
        ip("-n", ns, "link", "set", "sl-v0", "up");
        ip("-n", ns, "link", "set", "sl-v1", "up");
        ip("-n", ns, "neigh", "add", SILENT, "lladdr", "02:00:00:00:00:09", "dev", "sl-v0", "nud", "permanent");

        server = new ProcessBuilder(inNs("serve", "--name", "x/a", "--tcp", "8080,8081", "--udp", "5353"))
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8));
        CompletableFuture<String> first = CompletableFuture.supplyAsync(() -> {
            try {
                return out.readLine();
            } catch (IOException e) {
                return null;
            }
        });
        assertThat(first.get(10, TimeUnit.SECONDS)).isEqualTo("ready");
    }

    @AfterAll
    static void tearDown() throws Exception {
        try {
            if (server != null) {
                server.destroy();
                if (!server.waitFor(5, TimeUnit.SECONDS)) server.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } finally {
            if (ns != null) new ProcessBuilder("ip", "netns", "del", ns).inheritIO().start().waitFor(10, TimeUnit.SECONDS);
        }
    }

    static void ip(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("ip"));
        cmd.addAll(Arrays.asList(args));
        Result r = exec(cmd, 10);
        if (r.exit() != 0) fail(String.join(" ", cmd) + " failed: " + r.stderr());
    }

    static List<String> inNs(String... args) {
        List<String> cmd = new ArrayList<>(List.of("nsenter", "--net=/var/run/netns/" + ns, pod.toString()));
        cmd.addAll(Arrays.asList(args));
        return cmd;
    }

    static Result pod(String... args) throws Exception {
        return exec(inNs(args), 30);
    }

    static Result exec(List<String> cmd, int timeoutSeconds) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        CompletableFuture<byte[]> err = CompletableFuture.supplyAsync(() -> {
            try {
                return p.getErrorStream().readAllBytes();
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail(String.join(" ", cmd) + " did not finish");
        }
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8),
                new String(err.get(10, TimeUnit.SECONDS), StandardCharsets.UTF_8));
    }

    @Test
    void tcpProbeReportsPodClientAndErrorsInOrder() throws Exception {
        Result r = pod("probe", "--timeout-ms", "500", "127.0.0.1:8080", "127.0.0.1:9", SILENT + ":80", "127.0.0.1:8081");
        assertThat(r.exit()).as(r.stderr()).isZero();
        List<JsonNode> l = r.lines();
        assertThat(l).hasSize(4);
        assertThat(l.get(0).get("target").asString()).isEqualTo("127.0.0.1:8080");
        assertThat(l.get(0).get("ok").asBoolean()).isTrue();
        assertThat(l.get(0).get("pod").asString()).isEqualTo("x/a");
        assertThat(l.get(0).get("client").asString()).startsWith("127.0.0.1:");
        assertThat(l.get(0).get("ms").asDouble()).isPositive().isLessThan(500);
        assertThat(l.get(1).get("ok").asBoolean()).isFalse();
        assertThat(l.get(1).get("error").asString()).isEqualTo("refused");
        assertThat(l.get(2).get("target").asString()).isEqualTo(SILENT + ":80");
        assertThat(l.get(2).get("error").asString()).isEqualTo("timeout");
        assertThat(l.get(3).get("pod").asString()).isEqualTo("x/a");
    }

    @Test
    void probesToABlackholeRouteFail() throws Exception {
        // A local blackhole route fails the connect() itself (EINVAL), so this is not a timeout.
        JsonNode n = pod("probe", "--timeout-ms", "300", "10.255.255.1:80").json();
        assertThat(n.get("ok").asBoolean()).isFalse();
        assertThat(n.get("error").asString()).isNotEmpty();
    }

    @Test
    void udpProbe() throws Exception {
        Result r = pod("probe", "--proto", "udp", "--timeout-ms", "500", "127.0.0.1:5353", "127.0.0.1:9", SILENT + ":53");
        assertThat(r.exit()).as(r.stderr()).isZero();
        List<JsonNode> l = r.lines();
        assertThat(l).hasSize(3);
        assertThat(l.get(0).get("ok").asBoolean()).isTrue();
        assertThat(l.get(0).get("pod").asString()).isEqualTo("x/a");
        assertThat(l.get(0).get("client").asString()).startsWith("127.0.0.1:");
        assertThat(l.get(1).get("error").asString()).isEqualTo("refused");
        assertThat(l.get(2).get("error").asString()).isEqualTo("timeout");
    }

    @Test
    void httpRequestEchoesMethodPathHostAndClient() throws Exception {
        Result r = pod("http", "--to", "127.0.0.1:8081", "--path", "/p?q=1", "--host", "svc.x:80", "--method", "PUT");
        assertThat(r.exit()).as(r.stderr()).isZero();
        JsonNode n = r.json();
        assertThat(n.get("pod").asString()).isEqualTo("x/a");
        assertThat(n.get("method").asString()).isEqualTo("PUT");
        assertThat(n.get("path").asString()).isEqualTo("/p?q=1");
        assertThat(n.get("host").asString()).isEqualTo("svc.x:80");
        assertThat(n.get("client").asString()).startsWith("127.0.0.1:");

        Result refused = pod("http", "--to", "127.0.0.1:9", "--timeout-ms", "500");
        assertThat(refused.exit()).isEqualTo(1);
        assertThat(refused.stderr()).contains("refused");
    }

    @Test
    void benchTcpRr() throws Exception {
        JsonNode n = bench("--mode", "rr", "--proto", "tcp", "--size", "64", "--conns", "2");
        assertThat(n.get("mode").asString()).isEqualTo("rr");
        assertThat(n.get("conns").asInt()).isEqualTo(2);
        assertThat(n.get("transactions").asLong()).isPositive();
        assertThat(n.get("rate").asDouble()).isPositive();
        assertThat(n.get("p50_us").asDouble()).isPositive();
        assertThat(n.get("p99_us").asDouble()).isGreaterThanOrEqualTo(n.get("p50_us").asDouble());
        assertThat(n.get("errors").asLong()).isZero();
    }

    @Test
    void benchTcpCrr() throws Exception {
        JsonNode n = bench("--mode", "crr", "--proto", "tcp");
        assertThat(n.get("transactions").asLong()).isPositive();
        assertThat(n.get("p50_us").asDouble()).isPositive();
    }

    @Test
    void benchTcpStream() throws Exception {
        JsonNode n = bench("--mode", "stream", "--proto", "tcp");
        assertThat(n.get("bytes").asLong()).isGreaterThan(65536);
        assertThat(n.get("gbps").asDouble()).isPositive();
        assertThat(n.get("errors").asLong()).isZero();
    }

    @Test
    void benchUdpRr() throws Exception {
        JsonNode n = pod("bench", "--mode", "rr", "--proto", "udp", "--to", "127.0.0.1:5353", "--seconds", "1",
                "--size", "100").json();
        assertThat(n.get("proto").asString()).isEqualTo("udp");
        assertThat(n.get("transactions").asLong()).isPositive();
    }

    @Test
    void benchAgainstAClosedPortFails() throws Exception {
        Result r = pod("bench", "--mode", "rr", "--proto", "tcp", "--to", "127.0.0.1:9", "--seconds", "0.3");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.json().get("errors").asLong()).isPositive();
    }

    JsonNode bench(String... args) throws Exception {
        List<String> a = new ArrayList<>(List.of("bench", "--to", "127.0.0.1:8080", "--seconds", "1"));
        a.addAll(Arrays.asList(args));
        Result r = pod(a.toArray(String[]::new));
        assertThat(r.exit()).as(r.stderr()).isZero();
        return r.json();
    }

    @Test
    void holdKeepsOneConnection() throws Exception {
        Result r = pod("hold", "--to", "127.0.0.1:8080", "--seconds", "1", "--interval-ms", "100");
        assertThat(r.exit()).as(r.stdout() + r.stderr()).isZero();
        JsonNode n = r.json();
        assertThat(n.get("sent").asLong()).isBetween(5L, 12L);
        assertThat(n.get("echoed").asLong()).isEqualTo(n.get("sent").asLong());
        assertThat(n.get("reset").asBoolean()).isFalse();
        assertThat(n.get("error").asString()).isEmpty();

        Result broken = pod("hold", "--to", "127.0.0.1:9", "--seconds", "1");
        assertThat(broken.exit()).isEqualTo(1);
        assertThat(broken.json().get("error").asString()).contains("refused");
    }

    @Test
    void usageErrorsExit2WithOneLineNamingTheArgument() throws Exception {
        Result r = pod("probe", "10.0.0.1");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.stderr().lines().count()).isEqualTo(1);
        assertThat(r.stderr()).contains("10.0.0.1").contains("IPv4:PORT");

        r = pod("probe", "--proto", "sctp", "127.0.0.1:80");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.stderr()).contains("--proto");

        r = pod("bench", "--mode", "crr", "--proto", "udp", "--to", "127.0.0.1:5353", "--seconds", "1");
        assertThat(r.exit()).isEqualTo(2);
    }

    @Test
    void bindFailureNamesThePort() throws Exception {
        Result r = pod("serve", "--name", "x/b", "--tcp", "8080");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.stdout()).doesNotContain("ready");
        assertThat(r.stderr().strip().lines().count()).isEqualTo(1);
        assertThat(r.stderr()).contains("8080").contains("Address already in use");
    }
}
