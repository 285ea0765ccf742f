package dev.sluice.cli;

import dev.sluice.BadInputException;
import dev.sluice.hubble.Transport;
import dev.sluice.hubble.relay.Relay;
import io.grpc.BindableService;
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
    @Option(names = "--peer", required = true, description = "A node's Observer: NAME=unix:///path or NAME=HOST:PORT (repeatable).")
    List<String> peers = new ArrayList<>();

    @Override public Integer call() throws Exception {
        Map<String, String> nodes = new LinkedHashMap<>();
        for (String p : peers) {
            int eq = p.indexOf('=');
            if (eq <= 0 || eq == p.length() - 1) throw new BadInputException("--peer: \"" + p + "\" (expected: NAME=unix:///path or NAME=HOST:PORT)");
            nodes.put(p.substring(0, eq), p.substring(eq + 1));
        }
        for (String l : listen) check("--listen", l);
        for (var e : nodes.entrySet()) check("--peer " + e.getKey(), e.getValue());
        var relay = new Relay(nodes);
        var servers = Transport.serve(listen, List.<BindableService>of(relay));
        CountDownLatch stop = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            servers.close();
            relay.close();
            stop.countDown();
        }));
        System.err.println("hubble-relay: serving " + String.join(" and ", listen) + " over " + nodes.size() + " node(s): " + nodes.keySet());
        stop.await();
        return 0;
    }

    private static void check(String field, String address) {
        try {
            Transport.address(field, address);
        } catch (IllegalArgumentException e) {
            throw new BadInputException(e.getMessage());
        }
    }
}
