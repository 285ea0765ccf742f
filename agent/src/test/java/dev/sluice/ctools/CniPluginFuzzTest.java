package dev.sluice.ctools;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.sluice.agent.fuzz.Fuzz;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Runs build/bin/sluice-cni a few hundred times with mutated CNI_* variables (including bytes that
 * are not UTF-8) and mutated, truncated, huge or binary stdin, against a fake agent that answers,
 * fails, sends garbage, hangs up, or is not there. Every run must exit within the bound and not by
 * a signal; a failure prints exactly one CNI error object (cniVersion, code, msg) on stdout; whatever
 * reached the agent is one JSON line it can read.
 */
class CniPluginFuzzTest {
    static final long BOUND_SECONDS = 20;
    static final String VERSION = "{\"cniVersion\":\"1.1.0\",\"supportedVersions\":[\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]}\n";
    static final List<String> COMMANDS = List.of("ADD", "DEL", "CHECK", "GC", "STATUS", "VERSION");

    /** What the fake agent does with the next connection. */
    enum Agent { ANSWER, FAIL, FAIL_SILENT, GARBAGE, HANG_UP, ABSENT }
    static final String ANSWER = "{\"cniVersion\":\"1.1.0\",\"ips\":[]}\n";
    static final String FAILURE = "{\"cniVersion\":\"1.1.0\",\"code\":3,\"msg\":\"container unknown\"}\n";

    @TempDir static Path dir;
    static Path socket;
    static ServerSocketChannel server;
    static volatile byte[] reply;
    static volatile String request;

    @BeforeAll
    static void agent() throws IOException {
        socket = dir.resolve("agent.sock");
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        Thread.ofVirtual().start(() -> {
            while (server.isOpen()) {
                try (SocketChannel ch = server.accept()) {
                    request = readLine(ch);
                    ByteBuffer b = ByteBuffer.wrap(reply);
                    while (b.hasRemaining()) ch.write(b);
                } catch (IOException e) {
                    // the plugin went away, or the test is over
                }
            }
        });
    }

    @AfterAll
    static void stop() throws IOException { server.close(); }

    static String readLine(SocketChannel ch) throws IOException {
        var line = new ByteArrayOutputStream();
        ByteBuffer bb = ByteBuffer.allocate(65536);
        while (ch.read(bb.clear()) >= 0) {
            for (int i = 0; i < bb.position(); i++) {
                if (bb.get(i) == '\n') return line.toString(StandardCharsets.UTF_8);
                line.write(bb.get(i));
            }
        }
        return line.toString(StandardCharsets.UTF_8);
    }

    static ObjectNode config(Path sock) {
        ObjectNode c = Fuzz.JSON.createObjectNode().put("cniVersion", "1.1.0").put("name", "sluice").put("type", "sluice-cni")
                .put("agentSocket", sock.toString()).put("agentTimeoutMs", 5000);
        c.putObject("ipam").putArray("ranges").addArray().addObject().put("subnet", "10.0.1.0/24");
        return c;
    }

    static Map<String, byte[]> env(String command) {
        Map<String, byte[]> m = new HashMap<>();
        CniPluginTest.addEnv(command).forEach((k, v) -> m.put(k, v.getBytes(StandardCharsets.UTF_8)));
        return m;
    }

    static Stream<Long> seeds() { return Fuzz.seeds(300); }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void mutatedRuns(long seed) throws Exception {
        Fuzz f = new Fuzz(seed);
        Agent agent = f.pick(List.of(Agent.values()));
        Map<String, byte[]> env = env(f.chance(0.95) ? f.pick(COMMANDS) : f.string());
        for (int i = f.below(3); i > 0; i--) {
            String var = f.pick(List.of("CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_ARGS", "CNI_PATH"));
            switch (f.below(5)) {
                case 0 -> env.remove(var);
                case 1 -> env.put(var, new byte[0]);
                case 2 -> { byte[] b = new byte[1 + f.below(64)]; f.r.nextBytes(b); env.put(var, b); }
                default -> env.put(var, f.string().replace("\0", "").getBytes(StandardCharsets.UTF_8));
            }
        }
        ObjectNode cfg = config(agent == Agent.ABSENT ? dir.resolve("absent.sock") : socket);
        byte[] bytes = Fuzz.bytes(cfg);
        byte[] stdin = switch (f.below(10)) {
            case 0, 1, 2, 3 -> Fuzz.bytes(f.mutate(cfg));
            case 4, 5, 6 -> f.mutateBytes(bytes);
            case 7 -> { byte[] b = new byte[f.below(4000)]; f.r.nextBytes(b); yield b; }
            case 8 -> java.util.Arrays.copyOf(bytes, f.below(bytes.length));
            default -> bytes;
        };
        byte[] garbage = new byte[1 + f.below(200)];
        f.r.nextBytes(garbage);
        garbage[0] = 'x'; // never an exit code line
        check(seed, agent, env, stdin, garbage);
    }

    /** Inputs built to hurt, and the code each must get. */
    static Stream<Arguments> hostile() {
        ObjectNode cfg = config(socket);
        String good = cfg.toString();
        String open = good.substring(0, good.length() - 1);
        return Stream.of(
                Arguments.of("huge config", open + ",\"x\":\"" + "a".repeat(2 << 20) + "\"}", 7),
                Arguments.of("deep config", open + ",\"x\":" + "[".repeat(300) + "]".repeat(300) + "}", 6),
                Arguments.of("not UTF-8 in a string", open + ",\"x\":\"\u00ff\u00fe\"}", 0),
                Arguments.of("number longer than the agent reads", open + ",\"x\":" + "1".repeat(5000) + "}", 6),
                Arguments.of("key longer than the agent reads", open + ",\"" + "k".repeat(60_000) + "\":1}", 6),
                Arguments.of("nul byte", open + ",\"x\":\"a\u0000b\"}", 6),
                Arguments.of("half a surrogate pair in a key (seed 5457)", open + ",\"\\uD800\":1}", 6),
                Arguments.of("half a surrogate pair in a value", open + ",\"x\":\"\\uDC00\\uD800\"}", 6),
                Arguments.of("a whole surrogate pair", open + ",\"\\uD83D\\uDE00\":\"\\ud83d\\ude00\"}", 0),
                Arguments.of("agentSocket with a newline", good.replace(socket.toString(), dir.resolve("a\\nb").toString()), 11),
                Arguments.of("cniVersion not a string", good.replace("\"1.1.0\"", "1.1"), 7),
                Arguments.of("empty", "", 6));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("hostile")
    void hostileStdin(String name, String stdin, int code) throws Exception {
        // the one non-UTF-8 case goes in as ISO-8859-1 so its \u00ff\u00fe become the bytes ff fe
        byte[] bytes = stdin.getBytes(name.contains("UTF-8") ? StandardCharsets.ISO_8859_1 : StandardCharsets.UTF_8);
        assertThat(check(0, Agent.ANSWER, env("ADD"), bytes, new byte[0])).isEqualTo(code);
    }

    /** An API error line from the agent (a request it could not read) was reported without its text. */
    @Test
    void agentApiErrorIsShown() throws Exception {
        byte[] apiError = "{\"ok\":false,\"error\":\"request is not JSON\"}\n".getBytes(StandardCharsets.UTF_8);
        Map<String, byte[]> env = env("ADD");
        assertThat(check(0, Agent.GARBAGE, env, Fuzz.bytes(config(socket)), apiError)).isEqualTo(5);
        Result r = run(env, Fuzz.bytes(config(socket)));
        assertThat(Fuzz.JSON.readTree(r.stdout()).path("details").asString()).contains("request is not JSON");
    }

    /** Runs the plugin once and checks its answer; returns the CNI error code, or 0 on success. */
    static int check(long seed, Agent agent, Map<String, byte[]> env, byte[] stdin, byte[] garbage) throws Exception {
        reply = switch (agent) {
            case ANSWER -> ("0\n" + ANSWER).getBytes(StandardCharsets.UTF_8);
            case FAIL -> ("3\n" + FAILURE).getBytes(StandardCharsets.UTF_8);
            case FAIL_SILENT -> "7\n".getBytes(StandardCharsets.UTF_8);
            case GARBAGE -> garbage;
            case HANG_UP, ABSENT -> new byte[0];
        };
        request = null;
        String input = "seed " + seed + ", agent " + agent + ", env " + show(env) + ", stdin " + Fuzz.show(stdin);
        Result r = run(env, stdin);
        try {
            assertThat(r.exit()).as("exit code (128+ is a signal)").isBetween(0, 127);
            assertThat(r.stderr().lines().count()).as("stderr lines").isLessThanOrEqualTo(1);
            if (request != null) {
                JsonNode req = Fuzz.JSON.readTree(request);
                assertThat(req.path("params").path("config").isObject()).as("config forwarded as an object").isTrue();
            }
            if (r.exit() == 0) {
                assertThat(r.stdout()).isIn(VERSION, ANSWER);
                return 0;
            }
            if (r.exit() == 3 && agent == Agent.FAIL) {
                assertThat(r.stdout()).isEqualTo(FAILURE);
                return 3;
            }
            assertThat(r.exit()).isEqualTo(agent == Agent.FAIL_SILENT && request != null ? 7 : 1);
            assertThat(r.stdout()).endsWith("\n");
            assertThat(r.stdout().lines().count()).as("one line").isEqualTo(1);
            JsonNode e = Fuzz.JSON.readTree(r.stdout());
            assertThat(e.path("cniVersion").isString()).as("cniVersion").isTrue();
            assertThat(e.path("msg").asString("")).as("msg").isNotBlank();
            assertThat(e.path("details").isMissingNode() || e.path("details").isString()).as("details").isTrue();
            assertThat(e.path("code").isInt()).as("code").isTrue();
            return e.path("code").asInt();
        } catch (AssertionError | RuntimeException x) {
            throw new AssertionError(input + "\nexit " + r.exit() + ", stdout " + r.stdout() + ", stderr " + r.stderr(), x);
        }
    }

    record Result(int exit, String stdout, String stderr) {}

    /**
     * Runs the plugin with exactly this environment. Values that are not UTF-8 cannot go through
     * ProcessBuilder, so then a shell sets them from octal escapes and execs the plugin.
     */
    static Result run(Map<String, byte[]> env, byte[] stdin) throws Exception {
        String plugin = CniPluginTest.binary("sluice-cni").toString();
        List<String> cmd = new ArrayList<>();
        Map<String, String> plain = new HashMap<>();
        StringBuilder script = new StringBuilder();
        env.forEach((k, v) -> {
            String s = new String(v, StandardCharsets.UTF_8);
            if (java.util.Arrays.equals(s.getBytes(StandardCharsets.UTF_8), v) && s.indexOf('\0') < 0) plain.put(k, s);
            else {
                script.append(k).append("=\"$(printf '");
                for (byte b : v) if (b != 0) script.append(String.format("\\%03o", b & 0xff));
                script.append("_')\"; export ").append(k).append("=\"${").append(k).append("%_}\"; ");
            }
        });
        if (script.isEmpty()) cmd.add(plugin);
        else cmd.addAll(List.of("/bin/sh", "-c", script + "exec \"$0\"", plugin));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().clear();
        pb.environment().putAll(plain);
        Process p = pb.start();
        CompletableFuture<byte[]> out = drain(p.getInputStream()), err = drain(p.getErrorStream());
        Thread.ofVirtual().start(() -> {
            try (OutputStream in = p.getOutputStream()) {
                in.write(stdin);
            } catch (IOException e) {
                // the plugin exited before reading everything (VERSION, an early error): allowed
            }
        });
        if (!p.waitFor(BOUND_SECONDS, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("sluice-cni did not exit within " + BOUND_SECONDS + " s");
        }
        return new Result(p.exitValue(), new String(out.get(10, TimeUnit.SECONDS), StandardCharsets.UTF_8),
                new String(err.get(10, TimeUnit.SECONDS), StandardCharsets.UTF_8));
    }

    static CompletableFuture<byte[]> drain(java.io.InputStream in) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return in.readAllBytes();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
    }

    static String show(Map<String, byte[]> env) {
        Map<String, String> m = new java.util.TreeMap<>();
        env.forEach((k, v) -> m.put(k, java.util.HexFormat.of().formatHex(v, 0, Math.min(v.length, 80))));
        return m.toString();
    }
}
