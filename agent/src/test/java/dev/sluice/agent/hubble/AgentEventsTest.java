package dev.sluice.agent.hubble;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.agent.flow.AgentEvent;
import dev.sluice.agent.flow.AgentEvents;
import dev.sluice.agent.flow.Enricher;
import dev.sluice.agent.flow.FlowObserver;
import dev.sluice.agent.flow.PolicySource;
import dev.sluice.agent.lb.LbRuntime;
import dev.sluice.hubble.Transport;
import dev.sluice.hubble.api.observer.GetAgentEventsRequest;
import dev.sluice.hubble.api.observer.GetAgentEventsResponse;
import dev.sluice.hubble.api.observer.GetDebugEventsRequest;
import dev.sluice.hubble.api.observer.ObserverGrpc;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hubble's GetAgentEvents and GetDebugEvents over an agent's Observer, and the service events between two readings of the maps. */
class AgentEventsTest {
    static final Instant T0 = Instant.parse("2026-12-02T16:00:00Z");

    @TempDir Path dir;
    final AgentEvents events = new AgentEvents(3);
    Transport.Servers servers;
    ManagedChannel channel;
    ObserverGrpc.ObserverBlockingStub stub;

    @BeforeEach
    void start() throws Exception {
        var flows = new FlowObserver(new Enricher("node-1", ObserverServiceTest.NONE, PolicySource.NONE, k -> Instant.EPOCH), 1023, () -> 0);
        String sock = "unix://" + dir.resolve("hubble.sock");
        servers = Transport.serve(List.of(sock), List.of(new ObserverService(flows, events, "node-1", sock, 64)));
        channel = Transport.channel("server", sock);
        stub = ObserverGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS);
    }

    @AfterEach
    void stop() throws Exception {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        servers.close();
    }

    static String text(GetAgentEventsResponse r) {
        var e = r.getAgentEvent();
        String detail = switch (e.getNotificationCase()) {
            case AGENT_START -> "";
            case POLICY_UPDATE -> e.getPolicyUpdate().getLabelsList() + " rev " + e.getPolicyUpdate().getRevision() + " rules "
                    + e.getPolicyUpdate().getRuleCount();
            case ENDPOINT_UPDATE -> e.getEndpointUpdate().getId() + " " + e.getEndpointUpdate().getNamespace() + "/"
                    + e.getEndpointUpdate().getPodName() + " " + e.getEndpointUpdate().getLabelsList();
            case SERVICE_UPSERT -> {
                var u = e.getServiceUpsert();
                List<String> b = new ArrayList<>();
                u.getBackendAddressesList().forEach(a -> b.add(a.getIp() + ":" + a.getPort()));
                yield u.getId() + " " + u.getNamespace() + "/" + u.getName() + " " + u.getType() + " " + u.getFrontendAddress().getIp() + ":"
                        + u.getFrontendAddress().getPort() + " -> " + b;
            }
            case SERVICE_DELETE -> Integer.toString(e.getServiceDelete().getId());
            default -> "?";
        };
        return (e.getType().name() + " " + detail).strip() + " @" + r.getNodeName();
    }

    static List<String> texts(Iterator<GetAgentEventsResponse> it) {
        List<String> out = new ArrayList<>();
        it.forEachRemaining(r -> out.add(text(r)));
        return out;
    }

    @Test
    void theLastEventsInHubblesMessagesThenNewOnesWhenFollowing() throws Exception {
        events.add(new AgentEvent.Started(T0));
        events.add(new AgentEvent.Policy(T0.plusSeconds(1), false, "NetworkPolicy", "fl", "server-in", 7, 1));
        events.add(new AgentEvent.Endpoint(T0.plusSeconds(2), false, 12, "fl", "server", List.of("k8s:app=server")));
        events.add(new AgentEvent.Policy(T0.plusSeconds(3), true, "CiliumClusterwideNetworkPolicy", "", "lockdown", 8, 2));
        // the log keeps the last 3: the start went
        assertThat(texts(stub.getAgentEvents(GetAgentEventsRequest.getDefaultInstance()))).containsExactly(
                "POLICY_UPDATED [k8s:io.cilium.k8s.policy.derived-from=NetworkPolicy, k8s:io.cilium.k8s.policy.name=server-in,"
                        + " k8s:io.cilium.k8s.policy.namespace=fl] rev 7 rules 1 @node-1",
                "ENDPOINT_CREATED 12 fl/server [k8s:app=server] @node-1",
                "POLICY_DELETED [k8s:io.cilium.k8s.policy.derived-from=CiliumClusterwideNetworkPolicy, k8s:io.cilium.k8s.policy.name=lockdown]"
                        + " rev 8 rules 2 @node-1");
        assertThat(texts(stub.getAgentEvents(GetAgentEventsRequest.newBuilder().setNumber(1).setFirst(true).build())))
                .singleElement().asString().startsWith("POLICY_UPDATED");
        assertThat(texts(stub.getAgentEvents(GetAgentEventsRequest.newBuilder().setSince(ProtoFlows.timestamp(T0.plusSeconds(2)))
                .setUntil(ProtoFlows.timestamp(T0.plusSeconds(2))).build()))).containsExactly("ENDPOINT_CREATED 12 fl/server [k8s:app=server] @node-1");

        // following with number 1: the newest, then what comes
        var ctx = Context.current().withCancellation();
        List<String> got = new CopyOnWriteArrayList<>();
        Thread reader = Thread.ofVirtual().start(() -> ctx.run(() -> {
            try {
                stub.getAgentEvents(GetAgentEventsRequest.newBuilder().setNumber(1).setFollow(true).build()).forEachRemaining(r -> got.add(text(r)));
            } catch (StatusRuntimeException e) {
                // cancelled
            }
        }));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (events.followers() == 0 && System.nanoTime() < deadline) Thread.sleep(5);
        events.add(new AgentEvent.ServiceDelete(T0.plusSeconds(4), 7));
        while (got.size() < 2 && System.nanoTime() < deadline) Thread.sleep(5);
        ctx.cancel(null);
        reader.join(5000);
        assertThat(got).containsExactly(
                "POLICY_DELETED [k8s:io.cilium.k8s.policy.derived-from=CiliumClusterwideNetworkPolicy, k8s:io.cilium.k8s.policy.name=lockdown]"
                        + " rev 8 rules 2 @node-1", "SERVICE_DELETED 7 @node-1");
        while (events.followers() > 0 && System.nanoTime() < deadline) Thread.sleep(5);
        assertThat(events.followers()).as("a client that went freed its queue").isZero();
    }

    @Test
    void badRequestsAreInvalidArgumentAndDebugEventsAreAnEmptyStream() {
        assertThatThrownBy(() -> stub.getAgentEvents(GetAgentEventsRequest.newBuilder().setFirst(true).setFollow(true).build()).hasNext())
                .isInstanceOf(StatusRuntimeException.class).hasMessageStartingWith("INVALID_ARGUMENT: first: true (expected: false with follow");
        assertThatThrownBy(() -> stub.getAgentEvents(GetAgentEventsRequest.newBuilder().setSince(ProtoFlows.timestamp(T0.plusSeconds(5)))
                .setUntil(ProtoFlows.timestamp(T0)).build()).hasNext())
                .isInstanceOf(StatusRuntimeException.class).hasMessageStartingWith("INVALID_ARGUMENT: until: ");
        assertThat(stub.getDebugEvents(GetDebugEventsRequest.newBuilder().setNumber(10).build()).hasNext()).isFalse();
    }

    static LbRuntime.FrontendView frontend(int id, String fe, String service, String... backends) {
        List<LbRuntime.SlotView> slots = new ArrayList<>();
        for (int i = 0; i < backends.length; i++) slots.add(new LbRuntime.SlotView(i + 1, 100 + i, backends[i], ""));
        return new LbRuntime.FrontendView(fe, id, "ClusterIP", List.of(), service, slots);
    }

    @Test
    void serviceEventsAreTheFrontendsWrittenAndRemoved() throws Exception {
        var a2 = frontend(1, "10.96.0.10:80/TCP", "fl/server", "10.0.1.4:8080", "10.0.2.7:8080");
        var c = frontend(3, "10.96.0.12:443/TCP", "fl/web");
        List<AgentEvent> got = AgentEvents.serviceChanges(List.of(c, a2), List.of(2), T0);
        assertThat(got).containsExactly(
                new AgentEvent.ServiceUpsert(T0, 1, new AgentEvent.Address("10.96.0.10", 80),
                        List.of(new AgentEvent.Address("10.0.1.4", 8080), new AgentEvent.Address("10.0.2.7", 8080)), "ClusterIP", "fl", "server"),
                new AgentEvent.ServiceUpsert(T0, 3, new AgentEvent.Address("10.96.0.12", 443), List.of(), "ClusterIP", "fl", "web"),
                new AgentEvent.ServiceDelete(T0, 2));
        assertThat(AgentEvents.serviceChanges(List.of(), List.of(), T0)).as("nothing changed").isEmpty();
        // on the wire
        events.add(got.getFirst());
        assertThat(texts(stub.getAgentEvents(GetAgentEventsRequest.getDefaultInstance())))
                .containsExactly("SERVICE_UPSERTED 1 fl/server ClusterIP 10.96.0.10:80 -> [10.0.1.4:8080, 10.0.2.7:8080] @node-1");
    }
}
