package dev.sluice.hubble.relay;

import com.google.protobuf.Timestamp;
import com.google.protobuf.UInt32Value;
import dev.sluice.hubble.StreamSender;
import dev.sluice.hubble.relay.Peers.Peer;
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
 * Hubble Relay's Observer: one API over every node's ({@link Peers}: given, or learnt from the
 * agents' Peer service). GetFlows asks each node the same question and merges the answers in time
 * order: the last (or first) {@code number} of all nodes' flows together; following, after those,
 * the nodes' new flows wait in a sort window ({@link #WINDOW_MS} after they arrive, at most
 * {@link #WINDOW_MAX} of them) so that their streams interleave in time order, and a node that
 * joins meanwhile is read from then on (NODE_CONNECTED), one that leaves is let go (NODE_GONE).
 * Nodes that do not answer are named in a NODE_UNAVAILABLE node_status and in ServerStatus.
 */
public final class Relay extends ObserverGrpc.ObserverImplBase implements AutoCloseable {
    static final long WINDOW_MS = 300;
    static final int WINDOW_MAX = 10_000;
    static final long CALL_SECONDS = 10;

    private final Peers peers;
    private final long startNanos = System.nanoTime();

    /** @param nodes node name to its Observer address ({@code unix:///...} or {@code host:port}) */
    public Relay(Map<String, String> nodes) { this(Peers.of(nodes)); }

    /** Over these nodes; the relay closes them when it closes. */
    public Relay(Peers peers) { this.peers = peers; }

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

    /** What the nodes answered to one question without follow, merged: flows in time order, trimmed to {@code number}. */
    private record Collected(List<GetFlowsResponse> flows, List<GetFlowsResponse> other, List<String> up, List<String> down, String why) {}

    private Collected collect(GetFlowsRequest req, Context.CancellableContext ctx, List<Peer> nodes) {
        Map<Peer, CompletableFuture<List<GetFlowsResponse>>> answers = new LinkedHashMap<>();
        for (Peer p : nodes)
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
            } catch (InterruptedException x) {
                Thread.currentThread().interrupt();
                throw Status.CANCELLED.asRuntimeException();
            }
        }
        List<GetFlowsResponse> flows = new ArrayList<>(), other = new ArrayList<>();
        for (var r : all) (r.hasFlow() ? flows : other).add(r);
        flows.sort(BY_TIME);
        long n = req.getNumber();
        if (n > 0 && flows.size() > n) flows = req.getFirst() ? flows.subList(0, (int) n) : flows.subList(flows.size() - (int) n, flows.size());
        return new Collected(flows, other, up, down, why);
    }

    /** Sends the node statuses and flows of an answer; false: the client went away. */
    private static boolean send(Collected c, StreamSender<GetFlowsResponse> s, java.util.Set<String> uuids) throws InterruptedException {
        if (!c.up().isEmpty() && !s.send(nodeStatus(NodeState.NODE_CONNECTED, c.up(), ""))) return false;
        if (!c.down().isEmpty() && !s.send(nodeStatus(NodeState.NODE_UNAVAILABLE, c.down(), c.why()))) return false;
        for (var r : c.other()) if (!s.send(r)) return false;
        for (var r : c.flows()) {
            if (!s.send(r)) return false;
            if (uuids != null) uuids.add(r.getFlow().getUuid());
        }
        return true;
    }

    private void once(GetFlowsRequest req, StreamSender<GetFlowsResponse> s, Context.CancellableContext ctx) throws InterruptedException {
        if (send(collect(req, ctx, peers.list()), s, null)) s.complete();
    }

    private record Pending(GetFlowsResponse response, long arrived) {}

    /**
     * Following: the nodes' new flows only ({@code number} 0, no {@code since}), asked before the
     * history so that nothing falls between the two; the history (the last {@code number} across
     * all nodes, or since {@code since}) is asked as one merged question and sent first, and a new
     * flow that was in it is not sent again.
     */
    private void follow(GetFlowsRequest req, StreamSender<GetFlowsResponse> s, Context.CancellableContext ctx) throws InterruptedException {
        PriorityQueue<Pending> window = new PriorityQueue<>(Comparator.comparing(Pending::response, BY_TIME));
        AtomicReference<StatusRuntimeException> invalid = new AtomicReference<>();
        java.util.Queue<GetFlowsResponse> changes = new java.util.concurrent.ConcurrentLinkedQueue<>();
        java.util.Set<Peer> reading = java.util.concurrent.ConcurrentHashMap.newKeySet(), leaving = java.util.concurrent.ConcurrentHashMap.newKeySet();
        GetFlowsRequest live = req.toBuilder().setNumber(0).clearSince().build();
        java.util.function.Consumer<Peer> read = p -> {
            if (!reading.add(p)) return;
            ctx.run(() -> ObserverGrpc.newStub(p.channel()).getFlows(live, new StreamObserver<>() {
                public void onNext(GetFlowsResponse r) {
                    synchronized (window) {
                        window.add(new Pending(r, System.nanoTime()));
                        window.notifyAll();
                    }
                }

                public void onError(Throwable t) {
                    if (t instanceof StatusRuntimeException e && e.getStatus().getCode() == Status.Code.INVALID_ARGUMENT) invalid.set(e);
                    else if (!ctx.isCancelled() && !leaving.contains(p))
                        changes.add(nodeStatus(NodeState.NODE_UNAVAILABLE, List.of(p.name()), p.name() + ": " + t.getMessage()));
                    synchronized (window) {
                        window.notifyAll();
                    }
                }

                public void onCompleted() {}
            }));
        };
        Peers.Listener membership = new Peers.Listener() {
            public void added(Peer p) {
                read.accept(p);
                changes.add(nodeStatus(NodeState.NODE_CONNECTED, List.of(p.name()), ""));
                synchronized (window) {
                    window.notifyAll();
                }
            }

            public void removed(Peer p) {
                leaving.add(p);
                changes.add(nodeStatus(NodeState.NODE_GONE, List.of(p.name()), ""));
                synchronized (window) {
                    window.notifyAll();
                }
            }
        };
        List<Peer> now = peers.listen(membership);
        try {
            for (Peer p : now) read.accept(p);
            java.util.Set<String> sent = new java.util.HashSet<>(), down = new java.util.HashSet<>();
            if (req.getNumber() > 0 || req.hasSince()) {
                Collected history = collect(req.toBuilder().setFollow(false).build(), ctx, now);
                down.addAll(history.down());
                if (!send(history, s, sent)) return;
            } else if (!s.send(nodeStatus(NodeState.NODE_CONNECTED, now.stream().map(Peer::name).toList(), ""))) {
                return;
            }
            while (!ctx.isCancelled()) {
                if (invalid.get() != null) throw invalid.get();
                for (GetFlowsResponse c; (c = changes.poll()) != null; ) {
                    // a node is named unavailable once, until it connects again
                    var ev = c.getNodeStatus();
                    if (ev.getStateChange() == NodeState.NODE_UNAVAILABLE && !down.addAll(ev.getNodeNamesList())) continue;
                    if (ev.getStateChange() != NodeState.NODE_UNAVAILABLE) ev.getNodeNamesList().forEach(down::remove);
                    if (!s.send(c)) return;
                }
                GetFlowsResponse next = null;
                synchronized (window) {
                    Pending head = window.peek();
                    long due = head == null ? 0 : head.arrived() + TimeUnit.MILLISECONDS.toNanos(WINDOW_MS);
                    if (head != null && (System.nanoTime() >= due || window.size() > WINDOW_MAX)) next = window.poll().response();
                    else if (changes.isEmpty() && invalid.get() == null)
                        window.wait(head == null ? 500 : Math.max(1, TimeUnit.NANOSECONDS.toMillis(due - System.nanoTime())));
                }
                if (next == null || next.hasFlow() && !sent.isEmpty() && sent.remove(next.getFlow().getUuid())) continue;
                if (!s.send(next)) return;
            }
        } finally {
            peers.unlisten(membership);
        }
    }

    /** Each node's status, or why it has none. */
    private Map<Peer, Object> statuses() {
        Map<Peer, CompletableFuture<ServerStatusResponse>> fs = new LinkedHashMap<>();
        for (Peer p : peers.list())
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
        int up = 0;
        List<String> down = new ArrayList<>();
        for (var e : statuses().entrySet()) {
            if (e.getValue() instanceof ServerStatusResponse s) {
                up++;
                num += s.getNumFlows();
                max += s.getMaxFlows();
                seen += s.getSeenFlows();
                uptime = Math.max(uptime, s.getUptimeNs());
            } else {
                down.add(e.getKey().name());
            }
        }
        out.onNext(ServerStatusResponse.newBuilder().setNumFlows(num).setMaxFlows(max).setSeenFlows(seen)
                .setUptimeNs(Math.max(uptime, System.nanoTime() - startNanos)).setNumConnectedNodes(UInt32Value.of(up))
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

    @Override public void close() { peers.close(); }
}
