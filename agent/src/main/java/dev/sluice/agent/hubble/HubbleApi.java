package dev.sluice.agent.hubble;

import dev.sluice.agent.flow.FlowObserver;
import dev.sluice.hubble.Transport;
import io.grpc.BindableService;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's Hubble API (hubble.enabled): Observer and Peer on {@code hubble.sock} beside the
 * agent's socket and on hubble.listenAddress (default {@code :4244}, every address of the node).
 */
public final class HubbleApi {
    private static final Logger log = LoggerFactory.getLogger(HubbleApi.class);
    /** Flows one following client may have waiting; past that it loses flows and is told how many. */
    public static final int CLIENT_QUEUE = 4096;

    private HubbleApi() {}

    /** The Unix socket of an agent whose API socket is {@code agentSocket}. */
    public static Path socket(Path agentSocket) { return agentSocket.resolveSibling("hubble.sock"); }

    /**
     * @param listenAddress hubble.listenAddress, "" for the Unix socket only
     * @param nodeIps node name to InternalIP, for the Peer service
     */
    public static Transport.Servers start(String node, Path agentSocket, String listenAddress, FlowObserver flows,
                                          dev.sluice.agent.flow.AgentEvents agentEvents, Supplier<Map<String, String>> nodeIps) throws IOException {
        Path sock = socket(agentSocket);
        String port = listenAddress.isEmpty() ? "" : listenAddress.substring(listenAddress.lastIndexOf(':') + 1);
        List<String> listen = new ArrayList<>(List.of("unix://" + sock));
        if (!listenAddress.isEmpty()) listen.add(listenAddress);
        Supplier<Map<String, String>> peers = () -> {
            Map<String, String> out = new java.util.TreeMap<>();
            nodeIps.get().forEach((n, ip) -> out.put(n, port.isEmpty() ? (n.equals(node) ? "unix://" + sock : ip) : ip + ":" + port));
            return out;
        };
        var servers = Transport.serve(listen, List.<BindableService>of(
                new ObserverService(flows, agentEvents, node, listenAddress.isEmpty() ? "unix://" + sock : listenAddress, CLIENT_QUEUE), new PeerService(peers)));
        log.info("Hubble API on {}", String.join(" and ", listen));
        return servers;
    }
}
