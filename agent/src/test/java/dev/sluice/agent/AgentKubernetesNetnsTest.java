package dev.sluice.agent;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.agent.source.ClusterSource;
import dev.sluice.agent.source.MockApi;
import dev.sluice.bpf.Netns;
import dev.sluice.netlink.IpRoute;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A whole agent with {@code --api kubernetes} against fabric8's mock API server. The agent runs in a
 * private namespace {@code sl-wiretest-<random>} (its uplink a veth made there, addressed as the
 * Node's InternalIP) with its maps under a private bpffs directory, and the mock API listens on that
 * namespace's loopback; namespace and maps are removed after the test,
 * also on failure. The root namespace is never changed. Every wait has a deadline.
 */
@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: network namespaces, BPF, netlink")
class AgentKubernetesNetnsTest {
    static final Duration DEADLINE = Duration.ofSeconds(30);
    private final String id = UUID.randomUUID().toString().substring(0, 6);
    private final String netns = "sl-wiretest-" + id;
    private final Path pins = Path.of("/sys/fs/bpf", "sl-wiretest-" + id);
    private Path dir;
    private MockApi api;
    private KubernetesClient client;
    private Agent agent;

    static final String NODE = "{apiVersion: v1, kind: Node, metadata: {name: n1}, spec: {podCIDRs: [10.77.0.0/24]},"
            + " status: {addresses: [{type: InternalIP, address: 192.168.77.1}]}}";
    static final String NAMESPACE = "{apiVersion: v1, kind: Namespace, metadata: {name: x}}";
    static final String POLICY = "{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: deny, namespace: x},"
            + " spec: {podSelector: {}, policyTypes: [Ingress]}}";

    static String pod(String app) {
        return "{apiVersion: v1, kind: Pod, metadata: {name: a, namespace: x, labels: {app: " + app + "}},"
                + " spec: {nodeName: n1, containers: [{name: c, ports: [{containerPort: 80}]}]}, status: {podIP: 10.77.0.5}}";
    }

    @BeforeEach void setUp() throws IOException {
        dir = Files.createTempDirectory("sl-wiretest");
        IpRoute.local().ip("netns", "add", netns);
        IpRoute.local().ip("-n", netns, "link", "add", "up0", "type", "veth", "peer", "name", "up1");
        IpRoute.local().ip("-n", netns, "addr", "add", "192.168.77.1/24", "dev", "up0");
        IpRoute.local().ip("-n", netns, "link", "set", "up0", "up");
        IpRoute.local().ip("-n", netns, "link", "set", "up1", "up");
        IpRoute.local().ip("-n", netns, "link", "set", "lo", "up");
        // A socket lives in the namespace of the thread that opens it, and the agent's client opens
        // its own from threads started in the agent's namespace: the mock API and the test's client
        // live there too, so nothing reaches across namespaces.
        api = Netns.inNetns(nsPath(), MockApi::new);
        client = Netns.inNetns(nsPath(), api::client);
        Files.writeString(dir.resolve("kubeconfig"), """
                apiVersion: v1
                kind: Config
                clusters: [{name: mock, cluster: {server: "%s"}}]
                users: [{name: agent, user: {}}]
                contexts: [{name: mock, context: {cluster: mock, user: agent}}]
                current-context: mock
                """.formatted(api.url()));
        Files.writeString(dir.resolve("values.yaml"), "healthAddress: \"\"\n");
    }

    @AfterEach void tearDown() throws IOException {
        List<String> failures = new ArrayList<>();
        if (agent != null) Netns.run(nsPath(), agent::close);
        client.close();
        api.close();
        try {
            IpRoute.local().ip("netns", "del", netns);
        } catch (RuntimeException e) {
            failures.add(e.getMessage());
        }
        for (Path root : new Path[] {pins, dir})
            if (Files.exists(root))
                try (Stream<Path> s = Files.walk(root)) {
                    for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
                }
        assertThat(failures).as("namespace removed").isEmpty();
    }

    private Path nsPath() { return Path.of("/var/run/netns", netns); }

    HasMetadata parse(String yaml) { return client.getKubernetesSerialization().unmarshal("---\n" + yaml, HasMetadata.class); }

    void create(String yaml) { Netns.run(nsPath(), () -> client.resource(parse(yaml)).create()); }

    void update(String yaml) { Netns.run(nsPath(), () -> client.resource(parse(yaml)).update()); }

    static void await(String what, BooleanSupplier done) throws InterruptedException {
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError(what + ": not within " + DEADLINE);
            Thread.sleep(50);
        }
    }

    long generation() { return agent.status().programmedGeneration(); }

    boolean hasIdentityOf(String labels) {
        return agent.identityList().stream().anyMatch(i -> i.labels().contains(labels) && i.pods().contains("x/a"));
    }

    @Test void comesUpFromTheApiAndFollowsItsChanges() throws Exception {
        create(NODE);
        create(NAMESPACE);
        create(pod("web"));
        create(POLICY);
        var cfg = new AgentConfig("n1", null, dir.resolve("state"), dir.resolve("agent.sock"), pins, Optional.of(dir.resolve("values.yaml")),
                Optional.of("native"), "up0", Path.of(System.getProperty("sluice.home"), "build/bpf"), Optional.empty(),
                Optional.of(new AgentConfig.Kubernetes(Optional.of(dir.resolve("kubeconfig")), DEADLINE)));
        agent = new Agent(cfg);
        Netns.run(nsPath(), () -> {
            try {
                agent.start();
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });

        var status = agent.status();
        assertThat(status.nodeIP()).isEqualTo("192.168.77.1");
        assertThat(status.podCIDR()).isEqualTo("10.77.0.0/24");
        await("source synced", () -> agent.status().source().synced());
        ClusterSource.Status source = agent.status().source();
        assertThat(source.kind()).isEqualTo("kubernetes");
        assertThat(source.from()).startsWith(api.url());
        assertThat(source.kinds()).allSatisfy(h -> assertThat(h.synced()).as(h.kind()).isTrue());
        assertThat(hasIdentityOf("app=web")).as("identity of x/a from the API: " + agent.identityList()).isTrue();

        long before = generation();
        update(pod("db"));
        await("the label change programmed", () -> generation() > before && hasIdentityOf("app=db"));
        assertThat(hasIdentityOf("app=web")).isFalse();
        assertThat(agent.status().health()).as("errors: " + agent.status().errors()).isEqualTo("ok");
    }
}
