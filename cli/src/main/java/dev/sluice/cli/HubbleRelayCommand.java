package dev.sluice.cli;

import dev.sluice.BadInputException;
import dev.sluice.agent.hubble.ui.HubbleUi;
import dev.sluice.hubble.Transport;
import dev.sluice.hubble.relay.Peers;
import dev.sluice.hubble.relay.Relay;
import io.grpc.BindableService;
import io.grpc.ManagedChannel;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code sluice hubble-relay}: Hubble Relay, one Observer API over the nodes' (the lab starts it
 * when hubble.relay.enabled; see docs/observability.md). Runs until stopped.
 */
@Command(name = "hubble-relay", description = "Serve Hubble's Observer API over every node's, merged in time order (Hubble Relay).")
public final class HubbleRelayCommand implements Callable<Integer> {
    @Option(names = "--listen", required = true, description = "Where to serve: unix:///path or [HOST]:PORT (repeatable; Hubble's is :4245).")
    List<String> listen = new ArrayList<>();
    @Option(names = "--peer-service", description = "An agent's Peer service, which names every node's Observer and tells of nodes joining and leaving: unix:///path or HOST:PORT (repeatable: asked in turn until one answers).")
    List<String> peerServices = new ArrayList<>();
    @Option(names = "--peer", description = "A fixed node instead: NAME=unix:///path or NAME=HOST:PORT (repeatable).")
    List<String> peers = new ArrayList<>();
    @Option(names = "--ui", description = "Also serve Hubble UI, the web page over this relay, on [HOST]:PORT (hubble.ui.enabled; Hubble UI's is :12000).")
    String ui;

    @Override public Integer call() throws Exception {
        Map<String, String> nodes = new LinkedHashMap<>();
        for (String p : peers) {
            int eq = p.indexOf('=');
            if (eq <= 0 || eq == p.length() - 1) throw new BadInputException("--peer: \"" + p + "\" (expected: NAME=unix:///path or NAME=HOST:PORT)");
            nodes.put(p.substring(0, eq), p.substring(eq + 1));
        }
        for (String l : listen) check("--listen", l);
        for (var e : nodes.entrySet()) check("--peer " + e.getKey(), e.getValue());
        for (String p : peerServices) check("--peer-service", p);
        if (nodes.isEmpty() == peerServices.isEmpty())
            throw new BadInputException("--peer-service, --peer: " + (nodes.isEmpty() ? "neither given" : "both given")
                    + " (expected: --peer-service to learn the nodes from the agents, or --peer for a fixed set)");
        Peers known = nodes.isEmpty() ? Peers.discover(peerServices) : Peers.of(nodes);
        // serve once the Peer service named the nodes, so that the first question reaches them all
        if (nodes.isEmpty() && !known.awaitNodes(300, 10_000))
            System.err.println("hubble-relay: the Peer service named no node within 10 s; serving, and reading nodes as they are named");
        var relay = new Relay(known);
        InetSocketAddress uiAddress = null;
        if (ui != null) {
            check("--ui", ui);
            if (ui.startsWith("/") || ui.startsWith("unix:")) throw new BadInputException("--ui: \"" + ui + "\" (expected: [HOST]:PORT; the UI is served over TCP)");
            uiAddress = (InetSocketAddress) Transport.address("--ui", ui);
        }
        var servers = Transport.serve(listen, List.<BindableService>of(relay));
        // the UI asks the relay through its own first address, so that it reads exactly what a client of the relay reads
        ManagedChannel self = uiAddress == null ? null : Transport.channel("--listen", local(listen.getFirst()));
        HubbleUi web = uiAddress == null ? null : new HubbleUi(uiAddress, self);
        CountDownLatch stop = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            if (web != null) web.close();
            if (self != null) self.shutdownNow();
            servers.close();
            relay.close();
            stop.countDown();
        }));
        System.err.println("hubble-relay: serving " + String.join(" and ", listen) + " over "
                + (nodes.isEmpty() ? "the nodes the Peer service at " + String.join(", ", peerServices) + " names" : nodes.size() + " node(s): " + nodes.keySet())
                + (web == null ? "" : "; Hubble UI on http://" + ui));
        stop.await();
        return 0;
    }

    /** A listen address as a client dials it: {@code :4245} and {@code 0.0.0.0:4245} are this host's 127.0.0.1:4245. */
    static String local(String listen) {
        if (listen.startsWith(":")) return "127.0.0.1" + listen;
        if (listen.startsWith("0.0.0.0:")) return "127.0.0.1" + listen.substring("0.0.0.0".length());
        return listen;
    }

    private static void check(String field, String address) {
        try {
            Transport.address(field, address);
        } catch (IllegalArgumentException e) {
            throw new BadInputException(e.getMessage());
        }
    }
}
