package dev.sluice.agent.fuzz;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.sluice.agent.cni.CniHandler;
import dev.sluice.agent.endpoint.EndpointManager;
import dev.sluice.agent.ipam.IpamStore;
import dev.sluice.net.Cidr;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Fuzzes what the agent does with a CNI request the plugin forwards (env and stdin config as JSON),
 * in-process with a real IPAM store and endpoint manager but no data path. The node reports not
 * ready, so a request that passes every check ends in code 11 before anything is created; every
 * case must answer with exit 0 or one CNI error (code, one-line msg) and leave the IPAM directory
 * and the endpoint list exactly as they were.
 */
class CniFuzzTest {
    static final Duration BOUND = Duration.ofSeconds(20);
    static final String COMMANDS = "ADD DEL CHECK GC STATUS";

    @TempDir static Path dir;
    static IpamStore ipam;
    static EndpointManager endpoints;
    static CniHandler notReady, ready;

    @BeforeAll
    static void node() throws IOException {
        ipam = new IpamStore(dir.resolve("ipam"), Cidr.parse("10.0.1.0/24"));
        ipam.allocate(new IpamStore.Owner("held", "eth0", "x/held")); // an address no case may release
        endpoints = new EndpointManager(dir.resolve("endpoints"), ipam, null, null, null);
        notReady = new CniHandler(endpoints, () -> 1500, () -> "fuzzing");
        ready = new CniHandler(endpoints, () -> 1500, () -> null);
    }

    static ObjectNode request(String command) {
        var config = Fuzz.JSON.createObjectNode().put("cniVersion", "1.1.0").put("name", "sluice").put("type", "sluice-cni");
        config.putArray("cni.dev/valid-attachments").addObject().put("containerID", "c0ffee").put("ifname", "eth0");
        ObjectNode p = Fuzz.JSON.createObjectNode().put("command", command).put("containerID", "c0ffee")
                .put("netns", "/var/run/netns/pod-a").put("ifname", "eth0").put("args", "K8S_POD_NAMESPACE=x;K8S_POD_NAME=a")
                .put("path", "/opt/cni/bin");
        p.set("config", config);
        return p;
    }

    static Stream<Long> seeds() { return Fuzz.seeds(1000); }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void mutatedRequests(long seed) {
        Fuzz f = new Fuzz(seed);
        ObjectNode base = request(f.pick(java.util.List.of(COMMANDS.split(" "))));
        JsonNode req = switch (f.below(10)) {
            case 0 -> f.value(0); // anything at all as params
            case 1, 2 -> base.put(f.pick(java.util.List.of("containerID", "netns", "ifname", "args", "command")), f.string());
            default -> f.mutate(base);
        };
        assertTimeoutPreemptively(BOUND, () -> check(seed, notReady, req), () -> "seed " + seed + ": no answer within " + BOUND);
    }

    /** Inputs the fuzzer or a reading of the code found mishandled, with the CNI code each gets now. */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            GC without the list removed every endpoint | GC  | /config/cni.dev~1valid-attachments |                   | 7
            GC with a list that is not one             | GC  | /config/cni.dev~1valid-attachments | "eth0"            | 7
            GC entry without ifname                    | GC  | /config/cni.dev~1valid-attachments | [{"containerID":"c"}] | 7
            ifname injected an ip batch line           | ADD | /ifname      | "eth0\\nlink del lo"            | 4
            ifname longer than IFNAMSIZ                | ADD | /ifname      | "eth0123456789abc"              | 4
            netns with a space split the ip argument   | ADD | /netns       | "/var/run/netns/a b"            | 4
            relative netns                             | ADD | /netns       | "pod-a"                         | 4
            containerID with a newline split IPAM file | DEL | /containerID | "c0\\nffee"                     | 4
            pod name with a newline split IPAM file    | ADD | /args        | "K8S_POD_NAMESPACE=x;K8S_POD_NAME=a\\nb" | 4
            upper-case namespace                       | ADD | /args        | "K8S_POD_NAMESPACE=X;K8S_POD_NAME=a" | 4
            containerID of another type                | DEL | /containerID | 5                               | 4
            cniVersion object was taken as 1.1.0       | ADD | /config/cniVersion | {}                        | 7
            config that is not an object               | ADD | /config      | "x"                             | 6
            unsupported version                        | DEL | /config/cniVersion | "0.2.0"                   | 1
            """)
    void regressions(String name, String command, String pointer, String value, int code) {
        ObjectNode req = request(command);
        int slash = pointer.lastIndexOf('/');
        ObjectNode parent = (ObjectNode) req.at(pointer.substring(0, slash));
        String field = pointer.substring(slash + 1).replace("~1", "/");
        if (value == null) parent.remove(field);
        else parent.set(field, Fuzz.JSON.readTree(value));
        assertThat(check(0, notReady, req)).isEqualTo(code);
    }

    /**
     * A NUL in CNI_NETNS used to reach EndpointManager.add on a ready node, which claimed an
     * address and then threw InvalidPathException before its rollback: the address leaked. (Only
     * this input runs on a ready node: if a check regressed, it fails before any ip(8) command.)
     */
    @Test
    void readyNodeRejectsBeforeAllocating() {
        assertThat(check(0, ready, request("ADD").put("netns", "/var/run/netns/a\u0000b"))).isEqualTo(4);
    }

    /** Runs one request; checks the answer and that nothing changed; returns the CNI code (0 for success). */
    static int check(long seed, CniHandler handler, JsonNode req) {
        String input = Fuzz.show(Fuzz.bytes(req));
        try {
            Map<String, String> before = state();
            CniHandler.Reply r = handler.handle(req);
            assertThat(state()).as("IPAM and endpoint files").isEqualTo(before);
            assertThat(endpoints.list()).as("endpoints").isEmpty();
            if (r.exitCode() == 0) {
                assertThat(r.stdout()).isEmpty(); // nothing can be added on a node that is not ready
                return 0;
            }
            assertThat(r.exitCode()).isEqualTo(1);
            assertThat(r.stdout()).doesNotContain("\n");
            JsonNode e = Fuzz.JSON.readTree(r.stdout());
            assertThat(e.path("cniVersion").isString()).as("cniVersion").isTrue();
            assertThat(e.path("msg").asString("")).as("msg").isNotBlank();
            assertThat(e.path("details").isMissingNode() || e.path("details").isString()).as("details").isTrue();
            int code = e.path("code").asInt(-1);
            // 5 would be an exception the checks did not foresee; 100 an allocation
            assertThat(code).as("code").isIn(1, 3, 4, 6, 7, 11, 50);
            return code;
        } catch (AssertionError | Exception e) {
            throw new AssertionError("seed " + seed + ": " + e + "\ninput: " + input, e);
        }
    }

    /** Every file under the agent's state directory with its content. */
    static Map<String, String> state() throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) out.put(dir.relativize(p).toString(), Files.readString(p));
        }
        return out;
    }
}
