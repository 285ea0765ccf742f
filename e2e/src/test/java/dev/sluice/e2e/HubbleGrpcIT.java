package dev.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.hubble.Transport;
import dev.sluice.hubble.api.flow.DropReason;
import dev.sluice.hubble.api.flow.FlowFilter;
import dev.sluice.hubble.api.flow.Verdict;
import dev.sluice.hubble.api.observer.GetAgentEventsRequest;
import dev.sluice.hubble.api.observer.GetFlowsRequest;
import dev.sluice.hubble.api.observer.GetFlowsResponse;
import dev.sluice.hubble.api.observer.GetNodesRequest;
import dev.sluice.hubble.api.observer.ObserverGrpc;
import dev.sluice.hubble.api.observer.ServerStatusRequest;
import dev.sluice.lab.LabEnv;
import dev.sluice.lab.LabNames;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Hubble's Observer API of a lab, read by a gRPC client generated from our declared protos (as the
 * hubble CLI would): an agent's {@code hubble.sock}, the relay's {@code hubble-relay.sock}, and TCP
 * :4244 and :4245 from inside the lab; filters, follow, ServerStatus and GetNodes; a connection
 * default deny refuses shows as DROPPED, POLICY_DENIED, naming the isolating NetworkPolicy.
 *
 * <p>Lab {@code grpcit}: two nodes, hubble.relay.enabled; the client on node1, the server on node2.
 */
@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: network namespaces, BPF, netlink")
class HubbleGrpcIT {
    static final String LAB = "grpcit";
    static final Path ROOT = Path.of("/run/sluice/labs", LAB);
    static final String PODS = """
            apiVersion: v1
            kind: Pod
            metadata: {name: client, namespace: gr, labels: {app: client}}
            spec: {nodeName: node1, containers: [{name: c, ports: [{containerPort: 80}]}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: server, namespace: gr, labels: {app: server}}
            spec: {nodeName: node2, containers: [{name: c, ports: [{containerPort: 80}, {containerPort: 8080}]}]}
            """;
    static final String POLICIES = """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: server-in, namespace: gr}
            spec:
              podSelector: {matchLabels: {app: server}}
              ingress:
              - ports: [{protocol: TCP, port: 80}]
            """;
    static Path dir;
    static Map<String, String> ips;
    static ManagedChannel node2, relay;

    @BeforeAll static void setUp() throws IOException {
        Cli.requireRoot();
        Cli.down(LAB);
        dir = Files.createTempDirectory("sluice-grpc-it");
        Files.writeString(dir.resolve("pods.yaml"), PODS);
        Files.writeString(dir.resolve("values.yaml"), "hubble:\n  relay:\n    enabled: true\n");
        Cli.sluice("lab", "up", "--name", LAB, "--nodes", "2", "--values", dir.resolve("values.yaml").toString(),
                "-f", dir.resolve("pods.yaml").toString()).ok();
        PolicyLab.apply(LAB, dir, "policies", POLICIES);
        ips = SecurityIT.podIps(LAB);
        node2 = Transport.channel("node2", "unix://" + ROOT.resolve("nodes/node2/hubble.sock"));
        relay = Transport.channel("relay", "unix://" + ROOT.resolve("hubble-relay.sock"));
    }

    @AfterAll static void tearDown() {
        if (node2 != null) node2.shutdownNow();
        if (relay != null) relay.shutdownNow();
        Cli.down(LAB);
    }

    static final FlowFilter DENIED_TO_SERVER = FlowFilter.newBuilder().addDestinationPod("gr/server").addVerdict(Verdict.DROPPED)
            .addDestinationPort("8080").build();

    static List<GetFlowsResponse> flows(ManagedChannel ch, GetFlowsRequest req) {
        List<GetFlowsResponse> out = new ArrayList<>();
        ObserverGrpc.newBlockingStub(ch).withDeadlineAfter(30, TimeUnit.SECONDS).getFlows(req).forEachRemaining(r -> {
            if (r.hasFlow()) out.add(r);
        });
        return out;
    }

    static GetFlowsResponse awaitDenied(ManagedChannel ch) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 15_000;
        while (true) {
            var got = flows(ch, GetFlowsRequest.newBuilder().setNumber(1).addWhitelist(DENIED_TO_SERVER).build());
            if (!got.isEmpty()) return got.getFirst();
            assertThat(System.currentTimeMillis()).as("a denied flow to gr/server:8080 within 15 s").isLessThan(deadline);
            Thread.sleep(300);
        }
    }

    static void assertDenied(GetFlowsResponse r) {
        var f = r.getFlow();
        assertThat(f.getVerdict()).isEqualTo(Verdict.DROPPED);
        assertThat(f.getDropReasonDesc()).isEqualTo(DropReason.POLICY_DENIED);
        assertThat(f.getSource().getPodName()).isEqualTo("client");
        assertThat(f.getDestination().getNamespace()).isEqualTo("gr");
        assertThat(f.getL4().getTCP().getDestinationPort()).isEqualTo(8080);
        assertThat(f.getNodeName()).isEqualTo("node2");
        assertThat(f.getIngressDeniedByList()).extracting(p -> p.getKind() + " " + p.getNamespace() + "/" + p.getName())
                .contains("NetworkPolicy gr/server-in");
        assertThat(r.getNodeName()).isEqualTo("node2");
    }

    @Test
    void aDeniedConnectionThroughTheAgentsSocketAndTheRelay() throws Exception {
        assertThat(SecurityIT.connects(LAB, "gr/client", ips.get("gr/server") + ":8080")).isFalse();
        assertDenied(awaitDenied(node2));
        assertDenied(awaitDenied(relay));
        // each filter selects what it names: the client's SYN left node1 FORWARDED before node2 dropped it
        assertThat(flows(relay, GetFlowsRequest.newBuilder().addWhitelist(DENIED_TO_SERVER.toBuilder().clearVerdict().addVerdict(Verdict.FORWARDED))
                .build())).isNotEmpty().allMatch(r -> r.getFlow().getVerdict() == Verdict.FORWARDED);
        assertThat(flows(relay, GetFlowsRequest.newBuilder().addWhitelist(DENIED_TO_SERVER.toBuilder().addNodeName("node1")).build())).isEmpty();
        assertThat(flows(relay, GetFlowsRequest.newBuilder().addWhitelist(FlowFilter.newBuilder().addDestinationPort("8080"))
                .addBlacklist(FlowFilter.newBuilder().addVerdict(Verdict.DROPPED)).build()))
                .allMatch(r -> r.getFlow().getVerdict() != Verdict.DROPPED);
    }

    @Test
    void followThroughTheRelayStreamsANewFlowWithinSeconds() throws Exception {
        var ctx = Context.current().withCancellation();
        List<GetFlowsResponse> got = new CopyOnWriteArrayList<>();
        Thread reader = Thread.ofVirtual().start(() -> ctx.run(() -> {
            try {
                ObserverGrpc.newBlockingStub(relay).getFlows(GetFlowsRequest.newBuilder().setFollow(true)
                        .addWhitelist(FlowFilter.newBuilder().addSourcePod("gr/client").addDestinationPort("80").addVerdict(Verdict.FORWARDED)).build())
                        .forEachRemaining(r -> {
                            if (r.hasFlow()) got.add(r);
                        });
            } catch (StatusRuntimeException e) {
                // cancelled at the end
            }
        }));
        try {
            Thread.sleep(1000);
            long t0 = System.currentTimeMillis();
            assertThat(SecurityIT.connects(LAB, "gr/client", ips.get("gr/server") + ":80")).isTrue();
            while (got.isEmpty() && System.currentTimeMillis() - t0 < 10_000) Thread.sleep(50);
            assertThat(got).as("followed flows of gr/client to port 80").isNotEmpty();
            assertThat(got.getFirst().getFlow().getVerdict()).isEqualTo(Verdict.FORWARDED);
        } finally {
            ctx.cancel(null);
            reader.join(5000);
        }
    }

    @Test
    void agentEventsNameTheStartTheServersEndpointAndItsPolicy() {
        List<String> got = new ArrayList<>();
        ObserverGrpc.newBlockingStub(node2).withDeadlineAfter(10, TimeUnit.SECONDS).getAgentEvents(GetAgentEventsRequest.getDefaultInstance())
                .forEachRemaining(r -> {
                    var e = r.getAgentEvent();
                    got.add(e.getType() + " " + switch (e.getNotificationCase()) {
                        case ENDPOINT_UPDATE -> e.getEndpointUpdate().getNamespace() + "/" + e.getEndpointUpdate().getPodName();
                        case POLICY_UPDATE -> e.getPolicyUpdate().getLabelsList().toString();
                        default -> "";
                    } + " @" + r.getNodeName());
                });
        assertThat(got).as("node2's agent events").contains("AGENT_STARTED  @node2", "ENDPOINT_CREATED gr/server @node2",
                "POLICY_UPDATED [k8s:io.cilium.k8s.policy.derived-from=NetworkPolicy, k8s:io.cilium.k8s.policy.name=server-in,"
                        + " k8s:io.cilium.k8s.policy.namespace=gr] @node2");
        assertThat(got.getFirst()).startsWith("AGENT_STARTED");
    }

    @Test
    void serverStatusAndNodesOfTheRelay() {
        var s = ObserverGrpc.newBlockingStub(relay).withDeadlineAfter(10, TimeUnit.SECONDS).serverStatus(ServerStatusRequest.getDefaultInstance());
        assertThat(s.getNumConnectedNodes().getValue()).isEqualTo(2);
        assertThat(s.getNumUnavailableNodes().getValue()).isZero();
        assertThat(s.getMaxFlows()).isEqualTo(2 * 4095);
        var nodes = ObserverGrpc.newBlockingStub(relay).withDeadlineAfter(10, TimeUnit.SECONDS).getNodes(GetNodesRequest.getDefaultInstance());
        assertThat(nodes.getNodesList()).extracting(n -> n.getName() + " " + n.getState()).containsExactly("node1 NODE_CONNECTED", "node2 NODE_CONNECTED");
    }

    /** TCP :4244 of a node and :4245 of the relay, from the lab's world namespace, with sluice observe --server. */
    @Test
    void tcpListenersAnswerInsideTheLab() throws Exception {
        assertThat(SecurityIT.connects(LAB, "gr/client", ips.get("gr/server") + ":8080")).isFalse();
        awaitDenied(node2);
        String node2Ip = Cli.JSON.readTree(Files.readString(ROOT.resolve("lab.json"))).path("nodes").path(1).path("ip").asString();
        assertThat(node2Ip).as("node2's InternalIP in lab.json").isNotBlank();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString(), jar = LabEnv.detect().jar().toString();
        for (String server : List.of(node2Ip + ":4244", LabNames.WORLD_IP + ":4245")) {
            var r = Cli.exec(LAB, "world", java, "-XX:TieredStopAtLevel=1", "-jar", jar, "observe", "--server", server,
                    "--to-pod", "gr/server", "--verdict", "DROPPED", "--port", "8080", "--last", "1");
            assertThat(r.exit()).as("observe --server %s: %s", server, r.err()).isZero();
            assertThat(r.out()).as(server).contains("gr/client:").contains("-> gr/server:8080").contains("POLICY_DENIED DROPPED")
                    .contains("NetworkPolicy gr/server-in");
        }
    }

    /**
     * A Node.js client (@grpc/grpc-js, @grpc/proto-loader loading our .proto files) against an
     * agent and the relay, as another language's Hubble client would; skipped without
     * scripts/deps-node-grpc.sh's install.
     */
    @Test
    void aNodeJsClientLoadingOurProtosSeesTheDeniedFlowAndFollows() throws Exception {
        Path modules = Path.of(System.getProperty("sluice.nodeModules", Cli.home().resolve("build/node-grpc/node_modules").toString()));
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(modules.resolve("@grpc/grpc-js")),
                "no @grpc/grpc-js in " + modules + " (run scripts/deps-node-grpc.sh)");
        assertThat(SecurityIT.connects(LAB, "gr/client", ips.get("gr/server") + ":8080")).isFalse();
        awaitDenied(node2);
        String denied = "{\"number\":\"1\",\"whitelist\":[{\"destination_pod\":[\"gr/server\"],\"verdict\":[\"DROPPED\"],\"destination_port\":[\"8080\"]}]}";
        for (Path sock : List.of(ROOT.resolve("nodes/node2/hubble.sock"), ROOT.resolve("hubble-relay.sock"))) {
            var r = node(modules, "unix://" + sock, denied, null);
            assertThat(r.exit()).as("node observe.js %s: %s", sock, r.err()).isZero();
            var flow = r.out().lines().map(Cli.JSON::readTree).filter(j -> j.has("flow")).findFirst().orElseThrow().path("flow");
            assertThat(flow.path("verdict").asString()).isEqualTo("DROPPED");
            assertThat(flow.path("drop_reason_desc").asString()).isEqualTo("POLICY_DENIED");
            assertThat(flow.path("ingress_denied_by").toString()).contains("\"name\":\"server-in\"").contains("\"kind\":\"NetworkPolicy\"");
        }
        String follow = "{\"follow\":true,\"whitelist\":[{\"source_pod\":[\"gr/client\"],\"destination_port\":[\"80\"],\"verdict\":[\"FORWARDED\"]}]}";
        var r = node(modules, "unix://" + ROOT.resolve("hubble-relay.sock"), follow, () -> {
            try {
                Thread.sleep(1500);
                assertThat(SecurityIT.connects(LAB, "gr/client", ips.get("gr/server") + ":80")).isTrue();
            } catch (IOException | InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        assertThat(r.exit()).as("node observe.js follow: %s", r.err()).isZero();
        assertThat(r.out()).contains("\"verdict\":\"FORWARDED\"");
    }

    /** Runs observe.js; {@code meanwhile} runs once it started; the script stops by itself (30 s deadline). */
    static Cli.Run node(Path modules, String address, String request, Runnable meanwhile) throws Exception {
        Path out = Files.createTempFile("grpcit-node", ".out"), err = Files.createTempFile("grpcit-node", ".err");
        try {
            var pb = new ProcessBuilder("node", Cli.home().resolve("e2e/src/test/node/observe.js").toString(),
                    Cli.home().resolve("hubble/src/main/proto").toString(), address, request).redirectOutput(out.toFile()).redirectError(err.toFile());
            pb.environment().put("NODE_PATH", modules.toString());
            Process p = pb.start();
            if (meanwhile != null) meanwhile.run();
            if (!p.waitFor(40, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("observe.js did not finish in 40 s: " + Files.readString(err));
            }
            return new Cli.Run(p.exitValue(), Files.readString(out), Files.readString(err));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    @Test
    void badFiltersAreInvalidArgumentNamingTheField() {
        for (ManagedChannel ch : List.of(node2, relay)) {
            try {
                flows(ch, GetFlowsRequest.newBuilder().addWhitelist(FlowFilter.newBuilder().addSourceIp("10.0.0.999")).build());
                throw new AssertionError("expected INVALID_ARGUMENT");
            } catch (StatusRuntimeException e) {
                assertThat(e.getStatus().getCode().name()).isEqualTo("INVALID_ARGUMENT");
                assertThat(e.getStatus().getDescription()).startsWith("whitelist[0].source_ip: 10.0.0.999");
            }
        }
    }
}
