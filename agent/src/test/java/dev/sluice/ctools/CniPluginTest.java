package dev.sluice.ctools;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** Runs build/bin/sluice-cni against a fake agent on a Unix socket. */
@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: network namespaces, BPF, netlink")
class CniPluginTest {
    static final JsonMapper JSON = JsonMapper.builder().build();

    @TempDir Path dir;
    Path socket;
    ServerSocketChannel server;

    record Result(int exit, String stdout, String stderr) {
        JsonNode json() {
            return JSON.readTree(stdout);
        }
    }

    static Path binary(String name) {
        String home = System.getProperty("sluice.home", ".");
        Path p = Path.of(home, "build", "bin", name);
        if (!Files.isExecutable(p)) fail(p + " is missing: run `make cbins` first");
        return p;
    }

    @BeforeEach
    void listen() throws IOException {
        socket = dir.resolve("agent.sock");
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
    }

    @AfterEach
    void close() throws IOException {
        server.close();
    }

    /** Accepts one connection, records the request line and sends the reply bytes. */
    CompletableFuture<String> agent(String reply) {
        return CompletableFuture.supplyAsync(() -> {
            try (SocketChannel ch = server.accept()) {
                ByteArrayOutputStream line = new ByteArrayOutputStream();
                ByteBuffer bb = ByteBuffer.allocate(65536);
                read:
                while (ch.read(bb.clear()) >= 0) {
                    for (int i = 0; i < bb.position(); i++) {
                        if (bb.get(i) == '\n') break read;
                        line.write(bb.get(i));
                    }
                }
                ch.write(ByteBuffer.wrap(reply.getBytes(StandardCharsets.UTF_8)));
                return line.toString(StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
    }

    String config(String version) {
        return "{\n  \"cniVersion\": \"" + version + "\",\n  \"name\": \"sluice\",\n  \"type\": \"sluice-cni\",\n"
                + "  \"agentSocket\": \"" + socket + "\",\n  \"ipam\": {\"ranges\": [[{\"subnet\": \"10.0.1.0/24\"}]]}\n}\n";
    }

    static Result run(Map<String, String> env, String stdin) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(binary("sluice-cni").toString());
        pb.environment().clear();
        pb.environment().putAll(env);
        Process p = pb.start();
        CompletableFuture<byte[]> err = CompletableFuture.supplyAsync(() -> {
            try {
                return p.getErrorStream().readAllBytes();
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        try (var in = p.getOutputStream()) {
            if (stdin != null) in.write(stdin.getBytes(StandardCharsets.UTF_8));
        } catch (IOException ignored) {
            // the plugin may exit before reading stdin (VERSION)
        }
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("sluice-cni did not exit");
        }
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8),
                new String(err.get(10, TimeUnit.SECONDS), StandardCharsets.UTF_8));
    }

    static Map<String, String> env(String... kv) {
        Map<String, String> m = new HashMap<>();
        for (int i = 0; i < kv.length; i += 2) m.put(kv[i], kv[i + 1]);
        return m;
    }

    static Map<String, String> addEnv(String command) {
        return env("CNI_COMMAND", command, "CNI_CONTAINERID", "c0ffee\"1", "CNI_NETNS", "/var/run/netns/pod-a",
                "CNI_IFNAME", "eth0", "CNI_ARGS", "K8S_POD_NAMESPACE=x;K8S_POD_NAME=a", "CNI_PATH", "/opt/cni/bin");
    }

    @Test
    void addIsForwardedAndTheAgentAnswerPrinted() throws Exception {
        String result = "{\"cniVersion\":\"1.1.0\",\"ips\":[{\"address\":\"10.0.1.5/24\"}]}\n";
        CompletableFuture<String> req = agent("0\n" + result);
        Result r = run(addEnv("ADD"), config("1.1.0"));

        assertThat(r.exit()).as(r.stderr()).isZero();
        assertThat(r.stdout()).isEqualTo(result);
        String line = req.get(10, TimeUnit.SECONDS);
        assertThat(line).doesNotContain("\n");
        JsonNode n = JSON.readTree(line);
        assertThat(n.get("method").asString()).isEqualTo("cni");
        JsonNode p = n.get("params");
        assertThat(p.get("command").asString()).isEqualTo("ADD");
        assertThat(p.get("containerID").asString()).isEqualTo("c0ffee\"1");
        assertThat(p.get("netns").asString()).isEqualTo("/var/run/netns/pod-a");
        assertThat(p.get("ifname").asString()).isEqualTo("eth0");
        assertThat(p.get("args").asString()).isEqualTo("K8S_POD_NAMESPACE=x;K8S_POD_NAME=a");
        assertThat(p.get("path").asString()).isEqualTo("/opt/cni/bin");
        assertThat(p.get("config")).isEqualTo(JSON.readTree(config("1.1.0")));
    }

    @Test
    void delWithoutNetnsIsForwarded() throws Exception {
        CompletableFuture<String> req = agent("0\n");
        Map<String, String> env = addEnv("DEL");
        env.remove("CNI_NETNS");
        Result r = run(env, config("0.4.0"));

        assertThat(r.exit()).as(r.stderr()).isZero();
        assertThat(r.stdout()).isEmpty();
        JsonNode p = JSON.readTree(req.get(10, TimeUnit.SECONDS)).get("params");
        assertThat(p.get("command").asString()).isEqualTo("DEL");
        assertThat(p.get("netns").asString()).isEmpty();
    }

    @Test
    void statusAndGcNeedNoContainer() throws Exception {
        CompletableFuture<String> req = agent("0\n");
        Result r = run(env("CNI_COMMAND", "STATUS"), config("1.1.0"));
        assertThat(r.exit()).as(r.stderr()).isZero();
        assertThat(JSON.readTree(req.get(10, TimeUnit.SECONDS)).get("params").get("command").asString())
                .isEqualTo("STATUS");

        req = agent("0\n");
        r = run(env("CNI_COMMAND", "GC", "CNI_PATH", "/opt/cni/bin"), config("1.1.0"));
        assertThat(r.exit()).as(r.stderr()).isZero();
        assertThat(JSON.readTree(req.get(10, TimeUnit.SECONDS)).get("params").get("path").asString())
                .isEqualTo("/opt/cni/bin");

        r = run(env("CNI_COMMAND", "GC"), config("1.1.0"));
        assertThat(r.exit()).isNotZero();
        assertThat(r.json().get("code").asInt()).isEqualTo(4);
        assertThat(r.json().get("msg").asString()).contains("CNI_PATH");
    }

    @Test
    void agentErrorIsPassedThrough() throws Exception {
        String error = "{\"cniVersion\":\"1.1.0\",\"code\":3,\"msg\":\"container unknown\"}\n";
        CompletableFuture<String> req = agent("3\n" + error);
        Result r = run(addEnv("CHECK"), config("1.1.0"));

        assertThat(r.exit()).isEqualTo(3);
        assertThat(r.stdout()).isEqualTo(error);
        assertThat(req.get(10, TimeUnit.SECONDS)).contains("\"command\":\"CHECK\"");
    }

    @Test
    void versionIsAnsweredLocally() throws Exception {
        Result r = run(env("CNI_COMMAND", "VERSION"), "{\"cniVersion\":\"1.1.0\"}");

        assertThat(r.exit()).isZero();
        JsonNode n = r.json();
        assertThat(n.get("cniVersion").asString()).isEqualTo("1.1.0");
        assertThat(n.get("supportedVersions").values().stream().map(JsonNode::asString).toList())
                .containsExactly("0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0");
    }

    @Test
    void missingContainerIdIsCode4NamingIt() throws Exception {
        Map<String, String> env = addEnv("ADD");
        env.remove("CNI_CONTAINERID");
        Result r = run(env, config("1.1.0"));

        assertThat(r.exit()).isNotZero();
        JsonNode n = r.json();
        assertThat(n.get("code").asInt()).isEqualTo(4);
        assertThat(n.get("msg").asString()).isEqualTo("CNI_CONTAINERID is not set");
        assertThat(n.get("details").asString()).contains("container ID").contains("ADD");
        assertThat(n.get("cniVersion").asString()).isEqualTo("1.1.0");
    }

    @Test
    void missingNetnsOnAddIsCode4() throws Exception {
        Map<String, String> env = addEnv("ADD");
        env.remove("CNI_NETNS");
        Result r = run(env, config("1.0.0"));

        assertThat(r.json().get("code").asInt()).isEqualTo(4);
        assertThat(r.json().get("msg").asString()).contains("CNI_NETNS");
        assertThat(r.json().get("cniVersion").asString()).isEqualTo("1.0.0");
    }

    @Test
    void badStdinIsCode6() throws Exception {
        for (String bad : new String[] {"", "not json", "[1,2]", "{\"cniVersion\":\"1.1.0\",}", "{\"a\":1} trailing",
                "[".repeat(100_000), "{\"a\":".repeat(100_000)}) {
            Result r = run(addEnv("ADD"), bad);
            assertThat(r.exit()).as(bad).isNotZero();
            assertThat(r.json().get("code").asInt()).as(bad).isEqualTo(6);
        }
    }

    @Test
    void unsupportedVersionIsCode1() throws Exception {
        Result r = run(addEnv("ADD"), config("0.2.0"));

        assertThat(r.exit()).isNotZero();
        assertThat(r.json().get("code").asInt()).isEqualTo(1);
        assertThat(r.json().get("msg").asString()).contains("0.2.0");
    }

    @Test
    void largeConfigIsForwardedWhole() throws Exception {
        StringBuilder big = new StringBuilder("{\"cniVersion\":\"1.1.0\",\"agentSocket\":\"" + socket + "\",\"list\":[");
        for (int i = 0; i < 20_000; i++) big.append(i == 0 ? "" : ", ").append("\"item-").append(i).append("\"");
        big.append("]}");
        CompletableFuture<String> req = agent("0\n{}\n");
        Result r = run(addEnv("ADD"), big.toString());

        assertThat(r.exit()).as(r.stderr()).isZero();
        JsonNode cfg = JSON.readTree(req.get(10, TimeUnit.SECONDS)).get("params").get("config");
        assertThat(cfg.get("list").size()).isEqualTo(20_000);
    }

    @Test
    void unreachableAgentIsCode11AndCode50ForStatus() throws Exception {
        server.close();
        Files.deleteIfExists(socket);

        Result r = run(addEnv("ADD"), config("1.1.0"));
        assertThat(r.exit()).isNotZero();
        assertThat(r.json().get("code").asInt()).isEqualTo(11);
        assertThat(r.json().get("msg").asString()).contains(socket.toString()).contains("No such file");

        r = run(env("CNI_COMMAND", "STATUS"), config("1.1.0"));
        assertThat(r.exit()).isNotZero();
        assertThat(r.json().get("code").asInt()).isEqualTo(50);
    }

    @Test
    void hungAgentTimesOutWithCode11() throws Exception {
        String cfg = "{\"cniVersion\":\"1.1.0\",\"agentSocket\":\"" + socket + "\",\"agentTimeoutMs\":300}";
        CompletableFuture<SocketChannel> held = CompletableFuture.supplyAsync(() -> {
            try {
                return server.accept();
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        Result r = run(addEnv("ADD"), cfg);
        held.get(10, TimeUnit.SECONDS).close();

        assertThat(r.exit()).isNotZero();
        assertThat(r.json().get("code").asInt()).isEqualTo(11);
        assertThat(r.json().get("msg").asString()).contains("timed out");
    }

    @Test
    void malformedAgentReplyIsCode5() throws Exception {
        agent("hello\n");
        Result r = run(addEnv("ADD"), config("1.1.0"));
        assertThat(r.json().get("code").asInt()).isEqualTo(5);
    }
}
