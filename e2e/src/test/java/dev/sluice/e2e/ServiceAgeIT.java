package dev.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import tools.jackson.databind.JsonNode;

/**
 * Cluster-wide claims go to the older Service, as at the API server: a Service created later that
 * asks for the nodePort of an existing one and sorts before it by name does not take it, on any
 * node. The newcomer selects nothing, so had it won, the port would refuse connections.
 */
@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: network namespaces, BPF, netlink")
class ServiceAgeIT {
    static final String LAB = "svcage", N1 = "172.30.0.11", N2 = "172.30.0.12";
    static final String OLD = """
            apiVersion: v1
            kind: Pod
            metadata: {name: web, namespace: svc, labels: {app: web}}
            spec: {nodeName: node2, containers: [{name: c, ports: [{containerPort: 80}]}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: z-old, namespace: svc}
            spec: {type: NodePort, selector: {app: web}, ports: [{port: 80, nodePort: 30080}]}
            """;
    static final String YOUNG = """
            apiVersion: v1
            kind: Service
            metadata: {name: a-young, namespace: svc}
            spec: {type: NodePort, selector: {app: nothing}, ports: [{port: 80, nodePort: 30080}]}
            """;
    static Path dir;
    static String pod;

    @BeforeAll static void setUp() throws IOException {
        Cli.requireRoot();
        Cli.down(LAB);
        dir = Files.createTempDirectory("sluice-age-it");
        Files.writeString(dir.resolve("old.yaml"), OLD);
        Files.writeString(dir.resolve("young.yaml"), YOUNG);
        pod = Cli.home().resolve("build/bin/sluice-pod").toString();
        Cli.sluice("lab", "up", "--name", LAB, "--nodes", "2", "-f", dir.resolve("old.yaml").toString()).ok();
    }

    @AfterAll static void tearDown() { Cli.down(LAB); }

    @Test
    void theOlderServiceKeepsTheNodePortWhateverTheNames() throws Exception {
        // creationTimestamp has one-second resolution: make sure the newcomer is younger, not a tie
        // (a tie would go to a-young by name, which is what this test must tell apart)
        Thread.sleep(1100);
        Cli.sluice("lab", "apply", "--name", LAB, "-f", dir.resolve("young.yaml").toString()).ok();
        Map<String, String> created = new HashMap<>();
        for (JsonNode sv : Cli.sluice("lab", "get", "services", "--name", LAB, "-o", "json").ok().json().path("items"))
            created.put(sv.path("metadata").path("name").asString(), sv.path("metadata").path("creationTimestamp").asString());
        assertThat(created.get("a-young")).as("the API server sets creationTimestamp").isNotEmpty()
                .isGreaterThan(created.get("z-old")); // RFC 3339 in UTC sorts as text
        Map<String, JsonNode> by = new HashMap<>();
        for (JsonNode s : Cli.sluice("service", "list", "--name", LAB, "-o", "json").ok().json()) by.put(s.path("service").asString(), s);
        assertThat(ServicesIT.reasons(by.get("svc/a-young"))).contains("NodePortInUse");
        assertThat(by.get("svc/a-young").toString()).contains("already in use by Service svc/z-old");
        assertThat(ServicesIT.reasons(by.get("svc/z-old"))).doesNotContain("NodePortInUse");
        for (String node : List.of(N1, N2)) {
            Cli.Run r = Cli.exec(LAB, "world", pod, "http", "--to", node + ":30080", "--timeout-ms", "3000");
            assertThat(r.exit()).as("world -> %s:30080: %s", node, r.err()).isZero();
            assertThat(r.json().path("pod").asString()).isEqualTo("svc/web");
        }
    }
}
