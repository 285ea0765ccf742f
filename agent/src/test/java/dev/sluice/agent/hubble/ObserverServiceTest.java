package dev.sluice.agent.hubble;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.agent.flow.Enricher;
import dev.sluice.agent.flow.Flow;
import dev.sluice.agent.flow.FlowObserver;
import dev.sluice.agent.flow.PolicySource;
import dev.sluice.hubble.Transport;
import dev.sluice.hubble.api.flow.FlowFilter;
import dev.sluice.hubble.api.flow.Verdict;
import dev.sluice.hubble.api.observer.GetFlowsRequest;
import dev.sluice.hubble.api.observer.GetFlowsResponse;
import dev.sluice.hubble.api.observer.GetNodesRequest;
import dev.sluice.hubble.api.observer.ObserverGrpc;
import dev.sluice.hubble.api.observer.ServerStatusRequest;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.Context;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The agent's Observer over a real Unix socket, fed flows as the data path's reader feeds them. */
class ObserverServiceTest {
    static final Enricher.Cluster NONE = new Enricher.Cluster() {
        public Optional<Enricher.PodInfo> podByIp(int ip) { return Optional.empty(); }
        public Optional<String> endpointPod(int id) { return Optional.empty(); }
        public Optional<String> serviceOf(int revNatId) { return Optional.empty(); }
    };

    @TempDir Path dir;
    FlowObserver flows;
    Transport.Servers servers;
    ManagedChannel channel;
    ObserverGrpc.ObserverBlockingStub stub;

    @BeforeEach
    void start() throws Exception {
        flows = new FlowObserver(new Enricher("node-1", NONE, PolicySource.NONE, k -> Instant.EPOCH), 1023, () -> 0);
        Path sock = dir.resolve("hubble.sock");
        servers = Transport.serve(List.of("unix://" + sock), List.of(new ObserverService(flows, "node-1", "unix://" + sock, 64)));
        channel = Transport.channel("server", "unix://" + sock);
        stub = ObserverGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS);
    }

    @AfterEach
    void stop() throws Exception {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        servers.close();
    }

    void add(Flow f) { flows.ring().add(f); }

    /** As the data path's reader does: into the ring and every follower's queue. */
    void publish(Flow f) { flows.publish(f); }

    static List<String> uuids(Iterator<GetFlowsResponse> it) {
        List<String> out = new ArrayList<>();
        it.forEachRemaining(r -> out.add(r.getFlow().getUuid()));
        return out;
    }

    @Test
    void numberFirstSinceUntilAndFilters() {
        for (int i = 0; i < 10; i++) add(i % 2 == 0 ? Flows.denied(i) : Flows.forwarded(i, "node-1", 53));
        assertThat(uuids(stub.getFlows(GetFlowsRequest.newBuilder().setNumber(3).build()))).containsExactly("f-node-1-7", "uuid-8", "f-node-1-9");
        assertThat(uuids(stub.getFlows(GetFlowsRequest.newBuilder().setNumber(2).setFirst(true).build()))).containsExactly("uuid-0", "f-node-1-1");
        assertThat(uuids(stub.getFlows(GetFlowsRequest.newBuilder().setSince(ProtoFlows.timestamp(Flows.T0.plusMillis(3)))
                .setUntil(ProtoFlows.timestamp(Flows.T0.plusMillis(5))).build()))).containsExactly("f-node-1-3", "uuid-4", "f-node-1-5");
        assertThat(uuids(stub.getFlows(GetFlowsRequest.newBuilder().setNumber(2)
                .addWhitelist(FlowFilter.newBuilder().addVerdict(Verdict.DROPPED)).build()))).containsExactly("uuid-6", "uuid-8");
        assertThat(uuids(stub.getFlows(GetFlowsRequest.newBuilder()
                .addBlacklist(FlowFilter.newBuilder().addVerdict(Verdict.DROPPED)).build()))).hasSize(5).allMatch(u -> u.startsWith("f-"));
        var denied = stub.getFlows(GetFlowsRequest.newBuilder().setNumber(1).addWhitelist(FlowFilter.newBuilder().addVerdict(Verdict.DROPPED)).build()).next();
        assertThat(denied.getFlow().getDropReasonDesc().name()).isEqualTo("POLICY_DENIED");
        assertThat(denied.getFlow().getIngressDeniedBy(0).getName()).isEqualTo("deny-all");
        assertThat(denied.getNodeName()).isEqualTo("node-2");
    }

    @Test
    void badRequestsAreInvalidArgumentNamingTheField() {
        assertThatThrownBy(() -> stub.getFlows(GetFlowsRequest.newBuilder().addWhitelist(FlowFilter.newBuilder().addSourceIp("nope")).build()).hasNext())
                .isInstanceOf(StatusRuntimeException.class).hasMessageStartingWith("INVALID_ARGUMENT: whitelist[0].source_ip: nope");
        assertThatThrownBy(() -> stub.getFlows(GetFlowsRequest.newBuilder().setFirst(true).setFollow(true).build()).hasNext())
                .hasMessageStartingWith("INVALID_ARGUMENT: first: true (expected: false with follow");
        assertThatThrownBy(() -> stub.getFlows(GetFlowsRequest.newBuilder().setSince(ProtoFlows.timestamp(Flows.T0))
                .setUntil(ProtoFlows.timestamp(Flows.T0.minusSeconds(1))).build()).hasNext()).hasMessageContaining("until: ");
    }

    /** A Hubble client gets the proxies' flows, with Hubble's L7 filters, as they come through the flow pipeline's sink. */
    @Test
    void aHubbleClientGetsL7FlowsFromTheSink() throws Exception {
        var t = Instant.parse("2026-12-03T08:00:00Z");
        var sink = flows.l7Sink();
        sink.observe(new dev.sluice.agent.flow.L7Observation.Http(t, false, dev.sluice.agent.flow.L7Observation.Type.REQUEST, "10.0.0.5", 40000, 300,
                "10.0.1.6", 80, 301, dev.sluice.agent.flow.L7Observation.Verdict.FORWARDED, "HTTP/1.1", "GET", "http://backend/api/v1/data", 0, 0,
                List.of(), ""));
        sink.observe(new dev.sluice.agent.flow.L7Observation.Http(t, false, dev.sluice.agent.flow.L7Observation.Type.REQUEST, "10.0.0.5", 40001, 300,
                "10.0.1.6", 80, 301, dev.sluice.agent.flow.L7Observation.Verdict.DENIED, "HTTP/1.1", "POST", "http://backend/api/v1/data", 0, 0,
                List.of(), "no rule allows it"));
        sink.observe(new dev.sluice.agent.flow.L7Observation.Dns(t, false, dev.sluice.agent.flow.L7Observation.Type.RESPONSE, "10.0.0.5", 51000, 300,
                "10.96.0.10", 53, 0, dev.sluice.agent.flow.L7Observation.Verdict.FORWARDED, "backend.x.svc.cluster.local.", List.of("A"),
                List.of("10.96.0.20"), 30, List.of(), 0, List.of("A"), 1_000_000, ""));
        add(Flows.denied(9));
        var posts = new ArrayList<GetFlowsResponse>();
        stub.getFlows(GetFlowsRequest.newBuilder().setNumber(10).addWhitelist(FlowFilter.newBuilder()
                .addEventType(dev.sluice.hubble.api.flow.EventTypeFilter.newBuilder().setType(129)).addHttpMethod("POST")).build())
                .forEachRemaining(posts::add);
        assertThat(posts).hasSize(1);
        var f = posts.getFirst().getFlow();
        assertThat(f.getType()).isEqualTo(dev.sluice.hubble.api.flow.FlowType.L7);
        assertThat(f.getVerdict()).isEqualTo(Verdict.DROPPED);
        assertThat(f.getL7().getType()).isEqualTo(dev.sluice.hubble.api.flow.L7FlowType.REQUEST);
        assertThat(f.getL7().getHttp().getMethod()).isEqualTo("POST");
        assertThat(f.getL7().getHttp().getUrl()).isEqualTo("http://backend/api/v1/data");
        assertThat(f.getL4().getTCP().getSourcePort()).isEqualTo(40001);
        assertThat(f.getSummary()).isEqualTo("HTTP/1.1 POST http://backend/api/v1/data");
        assertThat(posts.getFirst().getNodeName()).isEqualTo("node-1");
        var dns = new ArrayList<GetFlowsResponse>();
        stub.getFlows(GetFlowsRequest.newBuilder().setNumber(10).addWhitelist(FlowFilter.newBuilder().addDnsQuery("svc\\.cluster\\.local\\.$"))
                .build()).forEachRemaining(dns::add);
        assertThat(dns).hasSize(1);
        assertThat(dns.getFirst().getFlow().getL7().getDns().getIpsList()).containsExactly("10.96.0.20");
        assertThat(dns.getFirst().getFlow().getL7().getDns().getTtl()).isEqualTo(30);
        assertThat(dns.getFirst().getFlow().getIsReply().getValue()).isTrue();
        var l7 = new ArrayList<GetFlowsResponse>();
        stub.getFlows(GetFlowsRequest.newBuilder().setNumber(10).addWhitelist(FlowFilter.newBuilder().addProtocol("http")).build())
                .forEachRemaining(l7::add);
        assertThat(l7).extracting(r -> r.getFlow().getL7().getHttp().getMethod()).containsExactly("GET", "POST");
    }

    @Test
    void followStreamsNewFlowsAndAClientThatLeavesFreesItsQueue() throws Exception {
        add(Flows.denied(0));
        var ctx = Context.current().withCancellation();
        List<String> got = new java.util.concurrent.CopyOnWriteArrayList<>();
        Thread reader = Thread.ofVirtual().start(() -> ctx.run(() -> {
            try {
                stub.withDeadlineAfter(30, TimeUnit.SECONDS).getFlows(GetFlowsRequest.newBuilder().setNumber(1).setFollow(true).build())
                        .forEachRemaining(r -> got.add(r.getFlow().getUuid()));
            } catch (StatusRuntimeException e) {
                // cancelled below
            }
        }));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (got.isEmpty() && System.nanoTime() < deadline) Thread.sleep(5);
        publish(Flows.denied(1));
        publish(Flows.forwarded(2, "node-1", 53));
        while (got.size() < 3 && System.nanoTime() < deadline) Thread.sleep(5);
        assertThat(got).containsExactly("uuid-0", "uuid-1", "f-node-1-2");
        ctx.cancel(null);
        reader.join(5000);
        while (flows.followers() > 0 && System.nanoTime() < deadline) Thread.sleep(5);
        assertThat(flows.followers()).as("the cancelled call's queue is gone").isZero();
    }

    @Test
    void aClientThatDoesNotReadNeverHoldsUpTheReaderAndIsToldWhatItLost() throws Exception {
        var ctx = Context.current().withCancellation();
        var it = ctx.call(() -> stub.getFlows(GetFlowsRequest.newBuilder().setFollow(true).build()));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (flows.followers() == 0 && System.nanoTime() < deadline) Thread.sleep(5);
        long t0 = System.nanoTime();
        for (int i = 0; i < 50_000; i++) publish(Flows.denied(i));
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertThat(ms).as("50,000 flows published while the client reads nothing").isLessThan(10_000);
        long lost = 0;
        int flowsSeen = 0;
        while (lost == 0 && it.hasNext()) {
            var r = it.next();
            if (r.hasLostEvents()) lost += r.getLostEvents().getNumEventsLost();
            else flowsSeen++;
        }
        assertThat(lost).as("flows the bounded queue had no room for are reported").isPositive();
        assertThat(flowsSeen).isLessThan(50_000);
        ctx.cancel(null);
        while (flows.followers() > 0 && System.nanoTime() < deadline + TimeUnit.SECONDS.toNanos(5)) Thread.sleep(5);
        assertThat(flows.followers()).isZero();
    }

    @Test
    void serverStatusAndNodes() {
        for (int i = 0; i < 5; i++) add(Flows.denied(i));
        var s = stub.serverStatus(ServerStatusRequest.getDefaultInstance());
        assertThat(s.getNumFlows()).isEqualTo(5);
        assertThat(s.getMaxFlows()).isEqualTo(1023);
        assertThat(s.getSeenFlows()).isEqualTo(5);
        assertThat(s.getUptimeNs()).isPositive();
        assertThat(s.getNumConnectedNodes().getValue()).isEqualTo(1);
        var n = stub.getNodes(GetNodesRequest.getDefaultInstance());
        assertThat(n.getNodesList()).singleElement().satisfies(x -> {
            assertThat(x.getName()).isEqualTo("node-1");
            assertThat(x.getState().name()).isEqualTo("NODE_CONNECTED");
            assertThat(x.getNumFlows()).isEqualTo(5);
        });
        assertThat(Files.exists(dir.resolve("hubble.sock"))).isTrue();
    }
}
