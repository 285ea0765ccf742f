package dev.sluice.agent.fuzz;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.sluice.agent.api.ApiServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Fuzzes the agent API server on a real Unix socket with a few handlers: random bytes, mutated and
 * truncated requests, deep nesting, unknown methods, wrong types, huge lines, many half-open
 * connections. Each connection gets at most its answer (a failure is one error line, last) or is
 * closed; the server never dies and answers a well-formed request after every case.
 */
class ApiServerFuzzTest {
    static final Duration BOUND = Duration.ofSeconds(30);
    static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(1);
    static final List<String> METHODS = List.of("echo", "null", "stream", "boom", "npe", "nope", "", "ECHO");

    @TempDir static Path dir;
    static ApiServer server;
    static UnixDomainSocketAddress address;

    @BeforeAll
    static void start() throws IOException {
        Path socket = dir.resolve("api.sock");
        server = new ApiServer(socket, REQUEST_TIMEOUT)
                .register("echo", (p, out) -> out.result(p))
                .register("null", (p, out) -> out.result(null))
                .register("stream", (p, out) -> {
                    for (int i = 0; i < 3 && out.result(i); i++) { }
                })
                .register("boom", (p, out) -> { throw new IllegalStateException("boom: " + p.path("why").asString("") + "\nsecond line"); })
                .register("npe", (p, out) -> { throw new NullPointerException(); })
                .register("die", (p, out) -> { throw new StackOverflowError("expected by ApiServerFuzzTest"); });
        server.start();
        address = UnixDomainSocketAddress.of(socket);
    }

    @AfterAll
    static void stop() { server.close(); }

    static Stream<Long> seeds() { return Fuzz.seeds(500); }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void mutatedRequests(long seed) {
        Fuzz f = new Fuzz(seed);
        ObjectNode req = Fuzz.JSON.createObjectNode().put("method", f.pick(METHODS));
        req.set("params", f.chance(0.5) ? f.value(0) : Fuzz.JSON.createObjectNode().put("why", f.string()));
        byte[] bytes = switch (f.below(6)) {
            case 0 -> { byte[] b = new byte[f.below(3000)]; f.r.nextBytes(b); yield b; }
            case 1, 2 -> line(Fuzz.bytes(f.mutate(req)));
            case 3 -> line(Fuzz.bytes(req));
            default -> f.mutateBytes(line(Fuzz.bytes(req)));
        };
        answers(seed, bytes);
        assertServing(seed);
    }

    /** A handler that fails with an Error loses its connection, not the server. */
    @Test
    void handlerErrorClosesTheConnection() {
        assertThat(answers(0, line("{\"method\":\"die\"}".getBytes(StandardCharsets.UTF_8)))).isEmpty();
        assertServing(0);
    }

    @Test
    void hugeLineIsOneErrorLine() {
        byte[] huge = new byte[ApiServer.MAX_REQUEST + 100];
        Arrays.fill(huge, (byte) 'a');
        List<JsonNode> a = answers(0, huge);
        assertThat(a).hasSize(1);
        assertThat(a.getFirst().path("error").asString()).startsWith("request longer than " + ApiServer.MAX_REQUEST + " bytes");
        assertServing(0);
    }

    @Test
    void largeRequestWithinTheLimitIsServed() {
        ObjectNode req = Fuzz.JSON.createObjectNode().put("method", "echo");
        req.putObject("params").put("big", "x".repeat(2 << 20));
        List<JsonNode> a = answers(0, line(Fuzz.bytes(req)));
        assertThat(a).hasSize(1);
        assertThat(a.getFirst().path("result").path("big").asString()).hasSize(2 << 20);
    }

    @Test
    void deepNestingIsNotJson() {
        List<JsonNode> a = answers(0, line(("{\"method\":\"echo\",\"params\":" + "[".repeat(100_000)).getBytes(StandardCharsets.UTF_8)));
        assertThat(a).hasSize(1);
        assertThat(a.getFirst().path("error").asString()).startsWith("request is not JSON");
        assertServing(0);
    }

    @Test
    void longUnknownMethodIsShortened() {
        List<JsonNode> a = answers(0, line(("{\"method\":\"" + "m".repeat(100_000) + "\"}").getBytes(StandardCharsets.UTF_8)));
        assertThat(a).hasSize(1);
        assertThat(a.getFirst().path("error").asString()).startsWith("unknown method mmm").hasSizeLessThan(300);
    }

    /** Half-open connections used to be held forever; now each is closed after the request timeout. */
    @Test
    void halfOpenConnectionsAreClosedAndOthersServed() throws Exception {
        List<SocketChannel> held = new ArrayList<>();
        try {
            for (int i = 0; i < 300; i++) {
                SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
                ch.connect(address);
                ch.write(ByteBuffer.wrap("{\"method\":\"echo\",\"par".getBytes(StandardCharsets.UTF_8)));
                held.add(ch);
            }
            assertServing(0);
            assertTimeoutPreemptively(BOUND, () -> {
                for (SocketChannel ch : held) assertThat(ch.read(ByteBuffer.allocate(16))).as("closed by the server").isEqualTo(-1);
            });
            assertServing(0);
        } finally {
            for (SocketChannel ch : held) ch.close();
        }
    }

    static byte[] line(byte[] b) {
        byte[] out = Arrays.copyOf(b, b.length + 1);
        out[b.length] = '\n';
        return out;
    }

    /**
     * Sends the bytes, half-closes, reads until the server closes; checks each answer line is a
     * JSON object with a boolean "ok", an error is one non-blank line and the last one.
     */
    static List<JsonNode> answers(long seed, byte[] request) {
        return assertTimeoutPreemptively(BOUND, () -> {
            String text = "";
            try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                ch.connect(address);
                Thread writer = Thread.ofVirtual().start(() -> {
                    try {
                        ByteBuffer b = ByteBuffer.wrap(request);
                        while (b.hasRemaining()) ch.write(b); // a blocking write may still be partial
                        ch.shutdownOutput();
                    } catch (IOException e) {
                        // the server answered and closed before reading everything: that is allowed
                    }
                });
                text = readAll(ch);
                writer.join();
                List<JsonNode> out = new ArrayList<>();
                List<String> lines = text.lines().toList();
                assertThat(text.isEmpty() || text.endsWith("\n")).as("whole lines").isTrue();
                for (int i = 0; i < lines.size(); i++) {
                    JsonNode n = Fuzz.JSON.readTree(lines.get(i));
                    assertThat(n.path("ok").isBoolean()).as("ok").isTrue();
                    if (!n.path("ok").asBoolean()) {
                        assertThat(n.path("error").asString("")).as("error").isNotBlank();
                        assertThat(i).as("an error is the last line").isEqualTo(lines.size() - 1);
                    }
                    out.add(n);
                }
                assertThat(out).hasSizeLessThanOrEqualTo(3);
                return out;
            } catch (AssertionError | Exception e) {
                throw new AssertionError("seed " + seed + ": " + e + "\ninput: " + Fuzz.show(request) + "\nanswer: " + text, e);
            }
        }, () -> "seed " + seed + ": no answer within " + BOUND + "\ninput: " + Fuzz.show(request));
    }

    /** Everything the server sends until it closes (a reset after an early close ends it too). */
    static String readAll(SocketChannel ch) {
        var out = new ByteArrayOutputStream();
        ByteBuffer buf = ByteBuffer.allocate(65536);
        try {
            while (ch.read(buf.clear()) >= 0) out.write(buf.array(), 0, buf.position());
        } catch (IOException e) {
            // connection reset: the server closed with our unread bytes pending
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    static void assertServing(long seed) {
        ObjectNode req = Fuzz.JSON.createObjectNode().put("method", "echo");
        req.putObject("params").put("seed", seed);
        List<JsonNode> a = answers(seed, line(Fuzz.bytes(req)));
        assertThat(a).as("seed " + seed + ": a well-formed request afterwards").hasSize(1);
        assertThat(a.getFirst().path("result").toString()).isEqualTo("{\"seed\":" + seed + "}");
    }
}
