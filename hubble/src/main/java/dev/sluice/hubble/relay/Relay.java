package dev.sluice.hubble.relay;

import com.google.protobuf.Timestamp;
import com.google.protobuf.UInt32Value;
import dev.sluice.hubble.StreamSender;
import dev.sluice.hubble.Transport;
import dev.sluice.hubble.api.observer.GetFlowsRequest;
import dev.sluice.hubble.api.observer.GetFlowsResponse;
import dev.sluice.hubble.api.observer.GetNodesRequest;
import dev.sluice.hubble.api.observer.GetNodesResponse;
import dev.sluice.hubble.api.observer.Node;
import dev.sluice.hubble.api.observer.ObserverGrpc;
import dev.sluice.hubble.api.observer.ServerStatusRequest;
import dev.sluice.hubble.api.observer.ServerStatusResponse;
import dev.sluice.hubble.api.relay.NodeState;
import dev.sluice.hubble.api.relay.NodeStatusEvent;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Hubble Relay's Observer: one API over every node's. GetFlows asks each node the same question and
 * merges the answers in time order: without follow it takes the last (or first) {@code number} of
 * all nodes' together; following, flows wait in a sort window ({@link #WINDOW_MS} after they
 * arrive, at most {@link #WINDOW_MAX} of them) so that nodes' streams interleave in time order.
 * Nodes that do not answer are named in a NODE_UNAVAILABLE node_status and in ServerStatus.
 */
public final class Relay extends ObserverGrpc.ObserverImplBase implements AutoCloseable {
    static final long WINDOW_MS = 300;
    static final int WINDOW_MAX = 10_000;
    static final long CALL_SECONDS = 10;

    /** One node the relay reads. */
    public record Peer(String name, String address, ManagedChannel channel) {}

    private final List<Peer> peers = new ArrayList<>();
    private final long startNanos = System.nanoTime();

    /** @param nodes node name to its Observer address ({@code unix:///...} or {@code host:port}) */
    public Relay(Map<String, String> nodes) {
        nodes.forEach((n, a) -> peers.add(new Peer(n, a, Transport.channel("node " + n, a))));
    }

    private static final Comparator<GetFlowsResponse> BY_TIME = Comparator.comparingLong((GetFlowsResponse r) -> r.getTime().getSeconds())
            .thenComparingInt(r -> r.getTime().getNanos());

    @Override public void getFlows(GetFlowsRequest req, StreamObserver<GetFlowsResponse> out) {
        if (req.getFirst() && req.getFollow()) {
            out.onError(Status.INVALID_ARGUMENT.withDescription("first: true (expected: false with follow; first reads the oldest flows, follow the newest)")
                    .asRuntimeException());
            return;
        }
        Context.CancellableContext ctx = Context.current().withCancellation();
        var s = new StreamSender<>((ServerCallStreamObserver<GetFlowsResponse>) out, () -> ctx.cancel(null));
        Thread.ofVirtual().name("relay-getflows").start(() -> {
            try {
                if (req.getFollow()) follow(req, s, ctx);
                else once(req, s, ctx);
            } catch (StatusRuntimeException e) {
                s.fail(e);
            } catch (InterruptedException e) {
                // cancelled
            } finally {
                ctx.cancel(null);
            }
        });
    }

    private static GetFlowsResponse nodeStatus(NodeState state, List<String> names, String message) {
        return GetFlowsResponse.newBuilder().setNodeStatus(NodeStatusEvent.newBuilder().setStateChange(state).addAllNodeNames(names)
                .setMessage(message)).setTime(now()).build();
    }

    private static Timestamp now() {
        long ms = System.currentTimeMillis();
        return Timestamp.newBuilder().setSeconds(ms / 1000).setNanos((int) (ms % 1000) * 1_000_000).build();
    }

    private void once(GetFlowsRequest req, StreamSender<GetFlowsResponse> s, Context.CancellableContext ctx) throws InterruptedException {
        Map<Peer, CompletableFuture<List<GetFlowsResponse>>> answers = new LinkedHashMap<>();
        for (Peer p : peers)
            answers.put(p, CompletableFuture.supplyAsync(() -> {
                Context prev = ctx.attach();
                try {
                    List<GetFlowsResponse> got = new ArrayList<>();
                    ObserverGrpc.newBlockingStub(p.channel()).withDeadlineAfter(CALL_SECONDS, TimeUnit.SECONDS).getFlows(req).forEachRemaining(got::add);
                    return got;
                } finally {
                    ctx.detach(prev);
                }
            }, r -> Thread.ofVirtual().start(r)));
        List<GetFlowsResponse> all = new ArrayList<>();
        List<String> up = new ArrayList<>(), down = new ArrayList<>();
        String why = "";
        for (var e : answers.entrySet()) {
            try {
                all.addAll(e.getValue().get());
                up.add(e.getKey().name());
            } catch (java.util.concurrent.ExecutionException x) {
                Throwable c = x.getCause();
                if (c instanceof StatusRuntimeException st && st.getStatus().getCode() == Status.Code.INVALID_ARGUMENT) throw st;
                down.add(e.getKey().name());
                why = e.getKey().name() + ": " + c.getMessage();
            }
        }
        if (!up.isEmpty() && !s.send(nodeStatus(NodeState.NODE_CONNECTED, up, ""))) return;
        if (!down.isEmpty() && !s.send(nodeStatus(NodeState.NODE_UNAVAILABLE, down, why))) return;
        List<GetFlowsResponse> flows = new ArrayList<>(), other = new ArrayList<>();
        for (var r : all) (r.hasFlow() ? flows : other).add(r);
        flows.sort(BY_TIME);
        long n = req.getNumber();
        if (n > 0 && flows.size() > n) flows = req.getFirst() ? flows.subList(0, (int) n) : flows.subList(flows.size() - (int) n, flows.size());
        for (var r : other) if (!s.send(r)) return;
        for (var r : flows) if (!s.send(r)) return;
        s.complete();
    }

    private record Pending(GetFlowsResponse response, long arrived) {}

    private void follow(GetFlowsRequest req, StreamSender<GetFlowsResponse> s, Context.CancellableContext ctx) throws InterruptedException {
        PriorityQueue<Pending> window = new PriorityQueue<>(Comparator.comparing(Pending::response, BY_TIME));
        AtomicReference<StatusRuntimeException> invalid = new AtomicReference<>();
        List<String> down = new java.util.concurrent.CopyOnWriteArrayList<>();
        s.send(nodeStatus(NodeState.NODE_CONNECTED, peers.stream().map(Peer::name).toList(), ""));
        for (Peer p : peers) {
            ctx.run(() -> ObserverGrpc.newStub(p.channel()).getFlows(req, new StreamObserver<>() {
                public void onNext(GetFlowsResponse r) {
                    synchronized (window) {
                        window.add(new Pending(r, System.nanoTime()));
                        window.notifyAll();
                    }
                }

                public void onError(Throwable t) {
                    if (t instanceof StatusRuntimeException e && e.getStatus().getCode() == Status.Code.INVALID_ARGUMENT) invalid.set(e);
                    else if (!ctx.isCancelled()) down.add(p.name() + ": " + t.getMessage());
                    synchronized (window) {
                        window.notifyAll();
                    }
                }

                public void onCompleted() {}
            }));
        }
        int reported = 0;
        while (!ctx.isCancelled()) {
            if (invalid.get() != null) throw invalid.get();
            if (down.size() > reported) {
                List<String> names = down.subList(reported, down.size()).stream().map(x -> x.substring(0, x.indexOf(':'))).toList();
                if (!s.send(nodeStatus(NodeState.NODE_UNAVAILABLE, names, down.get(down.size() - 1)))) return;
                reported = down.size();
            }
            GetFlowsResponse next = null;
            synchronized (window) {
                Pending head = window.peek();
                long due = head == null ? 0 : head.arrived() + TimeUnit.MILLISECONDS.toNanos(WINDOW_MS);
                if (head != null && (System.nanoTime() >= due || window.size() > WINDOW_MAX)) next = window.poll().response();
                else window.wait(head == null ? 500 : Math.max(1, TimeUnit.NANOSECONDS.toMillis(due - System.nanoTime())));
            }
            if (next != null && !s.send(next)) return;
        }
    }

    /** Each node's status, or why it has none. */
    private Map<Peer, Object> statuses() {
        Map<Peer, CompletableFuture<ServerStatusResponse>> fs = new LinkedHashMap<>();
        for (Peer p : peers)
            fs.put(p, CompletableFuture.supplyAsync(() -> ObserverGrpc.newBlockingStub(p.channel()).withDeadlineAfter(5, TimeUnit.SECONDS)
                    .serverStatus(ServerStatusRequest.getDefaultInstance()), r -> Thread.ofVirtual().start(r)));
        Map<Peer, Object> out = new LinkedHashMap<>();
        fs.forEach((p, f) -> {
            try {
                out.put(p, f.join());
            } catch (RuntimeException e) {
                out.put(p, e.getCause() != null ? e.getCause().getMessage() : e.getMessage());
            }
        });
        return out;
    }

    @Override public void serverStatus(ServerStatusRequest request, StreamObserver<ServerStatusResponse> out) {
        long num = 0, max = 0, seen = 0, uptime = 0;
        List<String> down = new ArrayList<>();
        for (var e : statuses().entrySet()) {
            if (e.getValue() instanceof ServerStatusResponse s) {
                num += s.getNumFlows();
                max += s.getMaxFlows();
                seen += s.getSeenFlows();
                uptime = Math.max(uptime, s.getUptimeNs());
            } else {
                down.add(e.getKey().name());
            }
        }
        out.onNext(ServerStatusResponse.newBuilder().setNumFlows(num).setMaxFlows(max).setSeenFlows(seen)
                .setUptimeNs(Math.max(uptime, System.nanoTime() - startNanos)).setNumConnectedNodes(UInt32Value.of(peers.size() - down.size()))
                .setNumUnavailableNodes(UInt32Value.of(down.size())).addAllUnavailableNodes(down).setVersion("sluice-0.1.0").build());
        out.onCompleted();
    }

    @Override public void getNodes(GetNodesRequest request, StreamObserver<GetNodesResponse> out) {
        var b = GetNodesResponse.newBuilder();
        for (var e : statuses().entrySet()) {
            var n = Node.newBuilder().setName(e.getKey().name()).setAddress(e.getKey().address());
            if (e.getValue() instanceof ServerStatusResponse s)
                n.setState(NodeState.NODE_CONNECTED).setVersion(s.getVersion()).setUptimeNs(s.getUptimeNs()).setNumFlows(s.getNumFlows())
                        .setMaxFlows(s.getMaxFlows()).setSeenFlows(s.getSeenFlows());
            else n.setState(NodeState.NODE_UNAVAILABLE);
            b.addNodes(n);
        }
        out.onNext(b.build());
        out.onCompleted();
    }

    @Override public void close() {
        for (Peer p : peers) p.channel().shutdownNow();
    }
}
