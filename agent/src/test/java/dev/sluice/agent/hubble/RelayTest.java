package dev.sluice.agent.hubble;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.agent.flow.Enricher;
import dev.sluice.agent.flow.FlowObserver;
import dev.sluice.agent.flow.PolicySource;
import dev.sluice.hubble.Transport;
import dev.sluice.hubble.api.flow.FlowFilter;
import dev.sluice.hubble.api.observer.GetFlowsRequest;
import dev.sluice.hubble.api.observer.GetFlowsResponse;
import dev.sluice.hubble.api.observer.GetNodesRequest;
import dev.sluice.hubble.api.observer.ObserverGrpc;
import dev.sluice.hubble.api.observer.ServerStatusRequest;
import dev.sluice.hubble.relay.Relay;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The relay over two agents' Observers on Unix sockets, and a third node that is not there. */
class RelayTest {
    @TempDir Path dir;
    final List<FlowObserver> nodes = new ArrayList<>();
    final List<Transport.Servers> servers = new ArrayList<>();
    Relay relay;
    ManagedChannel channel;
    ObserverGrpc.ObserverBlockingStub stub;

    @BeforeEach
    void start() throws Exception {
        Map<String, String> peers = new LinkedHashMap<>();
        for (String n : List.of("node-1", "node-2")) {
            var obs = new FlowObserver(new Enricher(n, ObserverServiceTest.NONE, PolicySource.NONE, k -> Instant.EPOCH), 1023, () -> 0);
            nodes.add(obs);
            String sock = "unix://" + dir.resolve(n + ".sock");
            servers.add(Transport.serve(List.of(sock), List.of(new ObserverService(obs, n, sock, 64))));
            peers.put(n, sock);
        }
        peers.put("node-3", "unix://" + dir.resolve("node-3.sock"));
        relay = new Relay(peers);
        String sock = "unix://" + dir.resolve("relay.sock");
        servers.add(Transport.serve(List.of(sock), List.of(relay)));
        channel = Transport.channel("relay", sock);
        stub = ObserverGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    @AfterEach
    void stop() throws Exception {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        relay.close();
        for (var s : servers) s.close();
    }

    static List<GetFlowsResponse> flowsOf(java.util.Iterator<GetFlowsResponse> it) {
        List<GetFlowsResponse> out = new ArrayList<>();
        it.forEachRemaining(r -> {
            if (r.hasFlow()) out.add(r);
        });
        return out;
    }

    /** Random times on two nodes: the relay's answer is every node's flows in time order, the last (or first) number of them. */
    @RepeatedTest(5)
    void mergesNodesInTimeOrderWithNumberAcrossNodes() {
        long seed = new SplittableRandom().nextLong();
        System.out.println("RelayTest seed " + seed);
        var r = new SplittableRandom(seed);
        List<Long> times = new ArrayList<>();
        for (int node = 0; node < 2; node++) {
            int at = 0;
            for (int i = 0; i < 50; i++) {
                at += 1 + r.nextInt(20);
                times.add((long) at);
                nodes.get(node).ring().add(Flows.forwarded(at, "node-" + (node + 1), 53));
            }
        }
        times.sort(null);
        var all = flowsOf(stub.getFlows(GetFlowsRequest.newBuilder().build()));
        assertThat(all).as("seed %d", seed).hasSize(100);
        assertThat(all).extracting(x -> ProtoFlows.instant(x.getTime())).isSorted();
        var last = flowsOf(stub.getFlows(GetFlowsRequest.newBuilder().setNumber(10).build()));
        assertThat(last).extracting(x -> ProtoFlows.instant(x.getTime())).isEqualTo(all.subList(90, 100).stream().map(x -> ProtoFlows.instant(x.getTime())).toList());
        var first = flowsOf(stub.getFlows(GetFlowsRequest.newBuilder().setNumber(10).setFirst(true).build()));
        assertThat(first).extracting(x -> ProtoFlows.instant(x.getTime())).isEqualTo(all.subList(0, 10).stream().map(x -> ProtoFlows.instant(x.getTime())).toList());
    }

    /** The proxies' L7 flows of two nodes through the relay as the nodes sent them, Hubble's L7 filters applied by each node. */
    @Test
    void l7FlowsComeThroughTheRelayAsTheNodesSentThem() {
        nodes.get(0).ring().add(Flows.httpResponse(1));
        nodes.get(1).ring().add(Flows.dnsDenied(2));
        nodes.get(1).ring().add(Flows.denied(3));
        var l7 = flowsOf(stub.getFlows(GetFlowsRequest.newBuilder().addWhitelist(FlowFilter.newBuilder()
                .addEventType(dev.sluice.hubble.api.flow.EventTypeFilter.newBuilder().setType(129))).build()));
        assertThat(l7).extracting(r -> r.getFlow().getUuid()).containsExactly("l7-1", "dns-2");
        assertThat(l7.get(0).getFlow()).isEqualTo(ProtoFlows.toProto(Flows.httpResponse(1)));
        assertThat(l7.get(1).getFlow()).isEqualTo(ProtoFlows.toProto(Flows.dnsDenied(2)));
        var dns = flowsOf(stub.getFlows(GetFlowsRequest.newBuilder().addWhitelist(FlowFilter.newBuilder().addDnsQuery("^evil\\.")).build()));
        assertThat(dns).singleElement().extracting(r -> r.getFlow().getL7().getDns().getQuery()).isEqualTo("evil.example.com.");
        assertThatThrownBy(() -> stub.getFlows(GetFlowsRequest.newBuilder().addWhitelist(FlowFilter.newBuilder().addHttpStatusCode("2xx")).build())
                .hasNext()).isInstanceOf(StatusRuntimeException.class).hasMessageStartingWith("INVALID_ARGUMENT: whitelist[0].http_status_code: 2xx");
    }

    @Test
    void tellsWhichNodesAreUnavailableAndPassesBadFiltersBack() {
        List<GetFlowsResponse> all = new ArrayList<>();
        stub.getFlows(GetFlowsRequest.getDefaultInstance()).forEachRemaining(all::add);
        assertThat(all).filteredOn(GetFlowsResponse::hasNodeStatus).extracting(x -> x.getNodeStatus().getStateChange().name() + " " + x.getNodeStatus().getNodeNamesList())
                .containsExactly("NODE_CONNECTED [node-1, node-2]", "NODE_UNAVAILABLE [node-3]");
        assertThatThrownBy(() -> stub.getFlows(GetFlowsRequest.newBuilder().addWhitelist(FlowFilter.newBuilder().addSourcePort("x")).build()).hasNext())
                .isInstanceOf(StatusRuntimeException.class).hasMessageStartingWith("INVALID_ARGUMENT: whitelist[0].source_port: x");
    }

    @Test
    void serverStatusSumsTheNodesAndGetNodesListsThem() {
        nodes.get(0).ring().add(Flows.denied(1));
        nodes.get(1).ring().add(Flows.denied(2));
        nodes.get(1).ring().add(Flows.denied(3));
        var s = stub.serverStatus(ServerStatusRequest.getDefaultInstance());
        assertThat(s.getNumFlows()).isEqualTo(3);
        assertThat(s.getMaxFlows()).isEqualTo(2046);
        assertThat(s.getSeenFlows()).isEqualTo(3);
        assertThat(s.getNumConnectedNodes().getValue()).isEqualTo(2);
        assertThat(s.getNumUnavailableNodes().getValue()).isEqualTo(1);
        assertThat(s.getUnavailableNodesList()).containsExactly("node-3");
        assertThat(stub.getNodes(GetNodesRequest.getDefaultInstance()).getNodesList()).extracting(n -> n.getName() + " " + n.getState() + " " + n.getNumFlows())
                .containsExactly("node-1 NODE_CONNECTED 1", "node-2 NODE_CONNECTED 2", "node-3 NODE_UNAVAILABLE 0");
    }

    @Test
    void followMergesNewFlowsOfEveryNode() throws Exception {
        var ctx = Context.current().withCancellation();
        List<String> got = new CopyOnWriteArrayList<>();
        Thread reader = Thread.ofVirtual().start(() -> ctx.run(() -> {
            try {
                stub.getFlows(GetFlowsRequest.newBuilder().setFollow(true).build()).forEachRemaining(r -> {
                    if (r.hasFlow()) got.add(r.getFlow().getUuid());
                });
            } catch (StatusRuntimeException e) {
                // cancelled below
            }
        }));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while ((nodes.get(0).followers() == 0 || nodes.get(1).followers() == 0) && System.nanoTime() < deadline) Thread.sleep(5);
        nodes.get(1).publish(Flows.forwarded(2, "node-2", 53));
        nodes.get(0).publish(Flows.forwarded(1, "node-1", 53));
        while (got.size() < 2 && System.nanoTime() < deadline) Thread.sleep(5);
        assertThat(got).as("in time order, though node-2's came first").containsExactly("f-node-1-1", "f-node-2-2");
        ctx.cancel(null);
        reader.join(5000);
        while ((nodes.get(0).followers() > 0 || nodes.get(1).followers() > 0) && System.nanoTime() < deadline) Thread.sleep(5);
        assertThat(nodes.get(0).followers() + nodes.get(1).followers()).as("the relay's calls to the nodes end with the client's").isZero();
    }

    // ------------------------------------------------------------------ following with number, peers from Peer.Notify

    /** Reads a following call on a thread of its own into {@code got} (flows as uuids, node statuses as "STATE [names]"). */
    static Thread follow(ObserverGrpc.ObserverBlockingStub stub, GetFlowsRequest req, Context.CancellableContext ctx, List<String> got) {
        return Thread.ofVirtual().start(() -> ctx.run(() -> {
            try {
                stub.getFlows(req).forEachRemaining(r -> {
                    if (r.hasFlow()) got.add(r.getFlow().getUuid());
                    else if (r.hasNodeStatus()) got.add(r.getNodeStatus().getStateChange().name() + " " + r.getNodeStatus().getNodeNamesList());
                });
            } catch (StatusRuntimeException e) {
                // cancelled
            }
        }));
    }

    static void await(java.util.function.BooleanSupplier done, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("not within 20 s: " + what);
            Thread.sleep(5);
        }
    }

    @Test
    void followWithNumberSendsTheLastNumberAcrossAllNodesThenNewFlowsOnce() throws Exception {
        for (int i = 1; i <= 10; i++) {
            nodes.get(0).ring().add(Flows.forwarded(2 * i, "node-1", 53));       // 2, 4, ... 20
            nodes.get(1).ring().add(Flows.forwarded(2 * i + 1, "node-2", 53));   // 3, 5, ... 21
        }
        var ctx = Context.current().withCancellation();
        List<String> got = new CopyOnWriteArrayList<>();
        Thread reader = follow(stub, GetFlowsRequest.newBuilder().setFollow(true).setNumber(4).build(), ctx, got);
        await(() -> got.stream().filter(x -> x.startsWith("f-")).count() >= 4, "the history");
        await(() -> nodes.get(0).followers() == 1 && nodes.get(1).followers() == 1, "both nodes followed");
        nodes.get(1).publish(Flows.forwarded(23, "node-2", 53));
        await(() -> got.contains("f-node-2-23"), "a new flow");
        ctx.cancel(null);
        reader.join(5000);
        assertThat(got.stream().filter(x -> x.startsWith("f-")).toList()).as("4 in all, not 4 per node, in time order; then the new one")
                .containsExactly("f-node-1-18", "f-node-2-19", "f-node-1-20", "f-node-2-21", "f-node-2-23");
        assertThat(got.stream().filter(x -> x.startsWith("NODE_")).toList()).as("node-3, which is not there, named once")
                .containsExactly("NODE_CONNECTED [node-1, node-2]", "NODE_UNAVAILABLE [node-3]");
    }

    /** A node's Observer on its own socket. */
    FlowObserver node(String name, Map<String, String> cluster) throws Exception {
        var obs = new FlowObserver(new Enricher(name, ObserverServiceTest.NONE, PolicySource.NONE, k -> Instant.EPOCH), 1023, () -> 0);
        String sock = "unix://" + dir.resolve(name + ".sock");
        servers.add(Transport.serve(List.of(sock), List.of(new ObserverService(obs, name, sock, 64))));
        cluster.put(name, sock);
        return obs;
    }

    @Test
    void theRelayLearnsNodesFromThePeerServiceAndFollowsThemJoiningAndLeaving() throws Exception {
        // the cluster as an agent's Peer service sees it: node-a and node-b at first
        Map<String, String> cluster = new java.util.concurrent.ConcurrentSkipListMap<>();
        FlowObserver a = node("node-a", cluster), b = node("node-b", cluster);
        String peerSock = "unix://" + dir.resolve("peer.sock");
        servers.add(Transport.serve(List.of(peerSock), List.of(new PeerService(() -> Map.copyOf(cluster)))));
        var peers = dev.sluice.hubble.relay.Peers.discover(List.of("unix://" + dir.resolve("nobody.sock"), peerSock));
        assertThat(peers.awaitNodes(300, 20_000)).isTrue();
        try (Relay learnt = new Relay(peers)) {
            String sock = "unix://" + dir.resolve("learnt.sock");
            servers.add(Transport.serve(List.of(sock), List.of(learnt)));
            ManagedChannel ch = Transport.channel("learnt", sock);
            try {
                var s = ObserverGrpc.newBlockingStub(ch).withDeadlineAfter(60, TimeUnit.SECONDS);
                a.ring().add(Flows.forwarded(1, "node-a", 53));
                b.ring().add(Flows.forwarded(2, "node-b", 53));
                assertThat(flowsOf(s.getFlows(GetFlowsRequest.getDefaultInstance()))).extracting(r -> r.getFlow().getUuid())
                        .containsExactly("f-node-a-1", "f-node-b-2");
                var ctx = Context.current().withCancellation();
                List<String> got = new CopyOnWriteArrayList<>();
                Thread reader = follow(s, GetFlowsRequest.newBuilder().setFollow(true).build(), ctx, got);
                await(() -> a.followers() == 1 && b.followers() == 1, "both nodes followed");
                // node-c joins: the following call reads it from then on
                FlowObserver c = node("node-c", cluster);
                await(() -> got.contains("NODE_CONNECTED [node-c]") && c.followers() == 1, "node-c read");
                c.publish(Flows.forwarded(3, "node-c", 53));
                await(() -> got.contains("f-node-c-3"), "node-c's flow");
                // node-a leaves: let go, and not reported unavailable
                cluster.remove("node-a");
                await(() -> got.contains("NODE_GONE [node-a]") && a.followers() == 0, "node-a let go");
                b.publish(Flows.forwarded(4, "node-b", 53));
                await(() -> got.contains("f-node-b-4"), "node-b's flow");
                ctx.cancel(null);
                reader.join(5000);
                assertThat(got).doesNotContain("NODE_UNAVAILABLE [node-a]");
                assertThat(s.getNodes(GetNodesRequest.getDefaultInstance()).getNodesList()).extracting(n -> n.getName() + " " + n.getState())
                        .containsExactly("node-b NODE_CONNECTED", "node-c NODE_CONNECTED");
            } finally {
                ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        }
    }
}
