package dev.sluice.agent.hubble;

import com.google.protobuf.UInt32Value;
import dev.sluice.BadInputException;
import dev.sluice.agent.flow.AgentEvent;
import dev.sluice.agent.flow.AgentEvents;
import dev.sluice.agent.flow.Flow;
import dev.sluice.agent.flow.FlowObserver;
import dev.sluice.hubble.StreamSender;
import dev.sluice.hubble.api.flow.AgentEventType;
import dev.sluice.hubble.api.flow.EndpointUpdateNotification;
import dev.sluice.hubble.api.flow.LostEvent;
import dev.sluice.hubble.api.flow.LostEventSource;
import dev.sluice.hubble.api.flow.PolicyUpdateNotification;
import dev.sluice.hubble.api.flow.ServiceDeleteNotification;
import dev.sluice.hubble.api.flow.ServiceUpsertNotification;
import dev.sluice.hubble.api.flow.ServiceUpsertNotificationAddr;
import dev.sluice.hubble.api.flow.TimeNotification;
import dev.sluice.hubble.api.observer.GetAgentEventsRequest;
import dev.sluice.hubble.api.observer.GetAgentEventsResponse;
import dev.sluice.hubble.api.observer.GetDebugEventsRequest;
import dev.sluice.hubble.api.observer.GetDebugEventsResponse;
import dev.sluice.hubble.api.observer.GetFlowsRequest;
import dev.sluice.hubble.api.observer.GetFlowsResponse;
import dev.sluice.hubble.api.observer.GetNodesRequest;
import dev.sluice.hubble.api.observer.GetNodesResponse;
import dev.sluice.hubble.api.observer.Node;
import dev.sluice.hubble.api.observer.ObserverGrpc;
import dev.sluice.hubble.api.observer.ServerStatusRequest;
import dev.sluice.hubble.api.observer.ServerStatusResponse;
import dev.sluice.hubble.api.relay.NodeState;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;

/**
 * Hubble's Observer service over one agent's flow ring. GetFlows runs each call on a virtual
 * thread of its own that waits for the client's flow control; following, it reads a bounded queue
 * that the data path's reader fills without waiting (a slow client loses flows, is told how many
 * in a LostEvent, and never holds up the reader or the ring). A call the client cancels or drops
 * closes its queue at once.
 */
public final class ObserverService extends ObserverGrpc.ObserverImplBase {
    /** The version ServerStatus and GetNodes report. */
    public static final String VERSION = "sluice-0.1.0";

    private final FlowObserver flows;
    private final AgentEvents agentEvents;
    private final String node;
    private final String address;
    private final int queueCapacity;
    private final long startNanos = System.nanoTime();

    /**
     * @param address this Observer's address as GetNodes reports it
     * @param queueCapacity flows one following client may have waiting before it loses some
     */
    public ObserverService(FlowObserver flows, String node, String address, int queueCapacity) {
        this(flows, new AgentEvents(1), node, address, queueCapacity);
    }

    /** @param agentEvents what GetAgentEvents reports */
    public ObserverService(FlowObserver flows, AgentEvents agentEvents, String node, String address, int queueCapacity) {
        this.flows = flows;
        this.agentEvents = agentEvents;
        this.node = node;
        this.address = address;
        this.queueCapacity = queueCapacity;
    }

    /** What a request asks, checked: the flows' predicate and the time bounds. */
    record Query(Predicate<Flow> filter, long number, boolean first, boolean follow, Instant since, Instant until) {
        static Query of(GetFlowsRequest r) {
            Predicate<Flow> filter = ProtoFilters.of(r.getWhitelistList(), r.getBlacklistList());
            if (r.getFirst() && r.getFollow()) throw new BadInputException("first: true (expected: false with follow; first reads the oldest flows, follow the newest)");
            Instant since = r.hasSince() ? ProtoFlows.instant(r.getSince()) : null, until = r.hasUntil() ? ProtoFlows.instant(r.getUntil()) : null;
            if (since != null && until != null && until.isBefore(since))
                throw new BadInputException("until: " + until + " (expected: not before since " + since + ")");
            return new Query(filter, r.getNumber(), r.getFirst(), r.getFollow(), since, until);
        }

        boolean inTime(Flow f) { return inTime(f.time()); }

        /** The ring's flows this query answers before following: last (or first) number of those that match, oldest first. */
        List<Flow> select(List<Flow> ring) { return ObserverService.select(ring, f -> inTime(f.time()) && filter.test(f), number, first, follow, since); }

        boolean inTime(Instant t) { return (since == null || !t.isBefore(since)) && (until == null || !t.isAfter(until)); }
    }

    /** The last (or first) {@code number} of a ring's entries that match, oldest first; none when following from now. */
    static <T> List<T> select(List<T> ring, Predicate<T> match, long number, boolean first, boolean follow, Instant since) {
        // following without number or since starts at the end, as Hubble's
        if (follow && number == 0 && since == null) return List.of();
        List<T> out = new ArrayList<>();
        if (first) {
            for (T x : ring) {
                if (number > 0 && out.size() >= number) break;
                if (match.test(x)) out.add(x);
            }
            return out;
        }
        for (int i = ring.size() - 1; i >= 0 && (number == 0 || out.size() < number); i--) {
            T x = ring.get(i);
            if (match.test(x)) out.add(x);
        }
        return out.reversed();
    }

    @Override public void getFlows(GetFlowsRequest request, StreamObserver<GetFlowsResponse> responses) {
        Query q;
        try {
            q = Query.of(request);
        } catch (BadInputException e) {
            responses.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
            return;
        }
        // subscribed before the ring is read: no flow falls between the two
        FlowObserver.Subscription sub = q.follow() ? flows.subscribe(q.filter(), queueCapacity) : null;
        var thread = new AtomicReference<Thread>();
        var sender = new StreamSender<>((ServerCallStreamObserver<GetFlowsResponse>) responses, () -> {
            if (sub != null) sub.close();
            Thread t = thread.get();
            if (t != null) t.interrupt();
        });
        thread.set(Thread.ofVirtual().name("hubble-getflows").start(() -> stream(q, sub, sender)));
    }

    private void stream(Query q, FlowObserver.Subscription sub, StreamSender<GetFlowsResponse> out) {
        try {
            Set<String> sent = new HashSet<>();
            for (Flow f : q.select(flows.ring().snapshot())) {
                if (!out.send(response(f))) return;
                if (sub != null) sent.add(f.uuid());
            }
            if (sub == null) {
                out.complete();
                return;
            }
            long lost = 0;
            while (true) {
                if (q.until() != null && Instant.now().isAfter(q.until())) {
                    out.complete();
                    return;
                }
                Flow f = sub.poll(500, TimeUnit.MILLISECONDS);
                long dropped = sub.dropped();
                if (dropped > lost) {
                    var ev = LostEvent.newBuilder().setSource(LostEventSource.OBSERVER_EVENTS_QUEUE).setNumEventsLost(dropped - lost);
                    if (!out.send(GetFlowsResponse.newBuilder().setLostEvents(ev).setNodeName(node)
                            .setTime(ProtoFlows.timestamp(Instant.now())).build())) return;
                    lost = dropped;
                }
                if (f == null || sent.remove(f.uuid()) || !q.inTime(f)) continue;
                if (!out.send(response(f))) return;
            }
        } catch (InterruptedException e) {
            // cancelled
        } finally {
            if (sub != null) sub.close();
        }
    }

    /**
     * GetAgentEvents: the agent's last (or first) {@code number} events, or those between since and
     * until, then with follow the new ones, on a virtual thread of its own as GetFlows.
     */
    @Override public void getAgentEvents(GetAgentEventsRequest request, StreamObserver<GetAgentEventsResponse> responses) {
        Query q;
        try {
            // the same fields and checks as GetFlows', without filters
            var asFlows = GetFlowsRequest.newBuilder().setNumber(request.getNumber()).setFirst(request.getFirst()).setFollow(request.getFollow());
            if (request.hasSince()) asFlows.setSince(request.getSince());
            if (request.hasUntil()) asFlows.setUntil(request.getUntil());
            q = Query.of(asFlows.build());
        } catch (BadInputException e) {
            responses.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
            return;
        }
        Query query = q;
        BlockingQueue<AgentEvent> sub = q.follow() ? agentEvents.follow(queueCapacity) : null;
        var thread = new AtomicReference<Thread>();
        var sender = new StreamSender<>((ServerCallStreamObserver<GetAgentEventsResponse>) responses, () -> {
            if (sub != null) agentEvents.unfollow(sub);
            Thread t = thread.get();
            if (t != null) t.interrupt();
        });
        thread.set(Thread.ofVirtual().name("hubble-agentevents").start(() -> {
            try {
                for (AgentEvent e : select(agentEvents.snapshot(), e -> query.inTime(e.time()), query.number(), query.first(), query.follow(), query.since()))
                    if (!sender.send(agentEventResponse(e))) return;
                if (sub == null) {
                    sender.complete();
                    return;
                }
                while (query.until() == null || !Instant.now().isAfter(query.until())) {
                    AgentEvent e = sub.poll(500, TimeUnit.MILLISECONDS);
                    if (e != null && query.inTime(e.time()) && !sender.send(agentEventResponse(e))) return;
                }
                sender.complete();
            } catch (InterruptedException e) {
                // cancelled
            } finally {
                if (sub != null) agentEvents.unfollow(sub);
            }
        }));
    }

    /** GetDebugEvents: the data path emits no debug events, so the answer is empty (following: open until the client goes). */
    @Override public void getDebugEvents(GetDebugEventsRequest request, StreamObserver<GetDebugEventsResponse> responses) {
        if (request.getFirst() && request.getFollow()) {
            responses.onError(Status.INVALID_ARGUMENT.withDescription("first: true (expected: false with follow; first reads the oldest events, follow the newest)")
                    .asRuntimeException());
            return;
        }
        if (!request.getFollow()) responses.onCompleted();
    }

    GetAgentEventsResponse agentEventResponse(AgentEvent e) {
        var b = dev.sluice.hubble.api.flow.AgentEvent.newBuilder();
        switch (e) {
            case AgentEvent.Started s -> b.setType(AgentEventType.AGENT_STARTED)
                    .setAgentStart(TimeNotification.newBuilder().setTime(ProtoFlows.timestamp(s.time())));
            case AgentEvent.Policy p -> b.setType(p.deleted() ? AgentEventType.POLICY_DELETED : AgentEventType.POLICY_UPDATED)
                    .setPolicyUpdate(PolicyUpdateNotification.newBuilder().addAllLabels(p.labels()).setRevision(p.revision()).setRuleCount(p.ruleCount()));
            case AgentEvent.Endpoint ep -> b.setType(ep.deleted() ? AgentEventType.ENDPOINT_DELETED : AgentEventType.ENDPOINT_CREATED)
                    .setEndpointUpdate(EndpointUpdateNotification.newBuilder().setId(ep.id()).addAllLabels(ep.labels()).setPodName(ep.podName())
                            .setNamespace(ep.namespace()));
            case AgentEvent.ServiceUpsert u -> {
                var n = ServiceUpsertNotification.newBuilder().setId(u.id()).setFrontendAddress(addr(u.frontend())).setType(u.type())
                        .setName(u.name()).setNamespace(u.namespace());
                u.backends().forEach(x -> n.addBackendAddresses(addr(x)));
                b.setType(AgentEventType.SERVICE_UPSERTED).setServiceUpsert(n);
            }
            case AgentEvent.ServiceDelete d -> b.setType(AgentEventType.SERVICE_DELETED).setServiceDelete(ServiceDeleteNotification.newBuilder().setId(d.id()));
        }
        return GetAgentEventsResponse.newBuilder().setAgentEvent(b).setNodeName(node).setTime(ProtoFlows.timestamp(e.time())).build();
    }

    private static ServiceUpsertNotificationAddr addr(AgentEvent.Address a) {
        return ServiceUpsertNotificationAddr.newBuilder().setIp(a.ip()).setPort(a.port()).build();
    }

    static GetFlowsResponse response(Flow f) {
        return GetFlowsResponse.newBuilder().setFlow(ProtoFlows.toProto(f)).setNodeName(f.nodeName()).setTime(ProtoFlows.timestamp(f.time())).build();
    }

    ServerStatusResponse status() {
        var s = flows.ring();
        return ServerStatusResponse.newBuilder().setNumFlows(s.size()).setMaxFlows(s.capacity()).setSeenFlows(s.written())
                .setUptimeNs(System.nanoTime() - startNanos).setNumConnectedNodes(UInt32Value.of(1)).setNumUnavailableNodes(UInt32Value.of(0))
                .setVersion(VERSION).build();
    }

    @Override public void serverStatus(ServerStatusRequest request, StreamObserver<ServerStatusResponse> responses) {
        responses.onNext(status());
        responses.onCompleted();
    }

    @Override public void getNodes(GetNodesRequest request, StreamObserver<GetNodesResponse> responses) {
        var s = status();
        responses.onNext(GetNodesResponse.newBuilder().addNodes(Node.newBuilder().setName(node).setVersion(VERSION).setAddress(address)
                .setState(NodeState.NODE_CONNECTED).setUptimeNs(s.getUptimeNs()).setNumFlows(s.getNumFlows()).setMaxFlows(s.getMaxFlows())
                .setSeenFlows(s.getSeenFlows())).build());
        responses.onCompleted();
    }
}
