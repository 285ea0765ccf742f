package dev.sluice.cli;

import dev.sluice.BadInputException;
import dev.sluice.agent.hubble.HubbleRequests;
import dev.sluice.hubble.api.observer.GetFlowsResponse;
import dev.sluice.hubble.api.observer.ObserverGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.Map;
import java.util.function.Consumer;

/**
 * GetFlows of a Hubble Observer (an agent's or the relay's) over gRPC, for {@code observe --server}
 * and the policy tools: the request from the agent API's flow parameters, every response to
 * {@code each}; a refused filter is bad input, any other failure names the server.
 */
public final class HubbleFlowStream {
    private HubbleFlowStream() {}

    public static void getFlows(String server, Map<String, Object> params, Consumer<GetFlowsResponse> each) {
        var request = HubbleRequests.of(params);
        ManagedChannel channel;
        try {
            channel = dev.sluice.hubble.Transport.channel("--server", server);
        } catch (IllegalArgumentException e) {
            throw new BadInputException(e.getMessage());
        }
        try {
            var it = ObserverGrpc.newBlockingStub(channel).getFlows(request);
            while (it.hasNext()) each.accept(it.next());
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() == Status.Code.INVALID_ARGUMENT) throw new BadInputException(e.getStatus().getDescription());
            throw new dev.sluice.agent.api.AgentException(server + ": " + e.getStatus().getCode() + (e.getStatus().getDescription() == null ? ""
                    : ": " + e.getStatus().getDescription()));
        } finally {
            channel.shutdownNow();
        }
    }
}
