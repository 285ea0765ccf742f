package dev.sluice.lab;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The lab's Hubble Relay (hubble.relay.enabled): {@code sluice hubble-relay} in the world
 * namespace, as the API server, learning the nodes from the agents' Peer service (any agent's
 * {@code hubble.sock}) and reading each at {@code <InternalIP>:4244}; serving
 * {@code hubble-relay.sock} and {@code <world IP>:4245}, and Hubble UI on {@code <world IP>:12000}
 * when hubble.ui.enabled ({@code sluice lab ui} forwards it to the host). It goes with the world namespace when the
 * lab is torn down.
 */
final class HubbleRelayProcess {
    private HubbleRelayProcess() {}

    static final int PORT = 4245;
    static final long START_TIMEOUT_MS = 30_000;

    /** @param uiPort where Hubble UI serves on the world's address (hubble.ui.enabled), or 0 for no UI */
    static List<String> args(LabState state, LabDir dir, int uiPort) {
        List<String> a = new ArrayList<>(List.of("hubble-relay", "--listen", "unix://" + dir.relaySocket(), "--listen", LabNames.WORLD_IP + ":" + PORT));
        // the nodes come from the agents' Peer service (their <InternalIP>:4244), as Hubble Relay learns them
        for (var n : state.nodes()) a.addAll(List.of("--peer-service", "unix://" + dir.hubbleSocket(n.name())));
        if (uiPort != 0) a.addAll(List.of("--ui", LabNames.WORLD_IP + ":" + uiPort));
        return a;
    }

    /** Starts the relay and returns its pid once its socket is there. */
    static long start(Agents agents, LabState state, LabDir dir, int uiPort) {
        Path sock = dir.relaySocket();
        try {
            Files.deleteIfExists(sock);
        } catch (java.io.IOException e) {
            throw new Procs.CommandException("cannot remove " + sock + ": " + e.getMessage());
        }
        long pid = Procs.startDetached(LabNet.inNetns(state.world().netns(), agents.sluice(args(state, dir, uiPort))), null, dir.relayLog());
        long deadline = System.currentTimeMillis() + START_TIMEOUT_MS;
        while (!Files.exists(sock)) {
            if (!Procs.alive(pid))
                throw new Procs.CommandException("Hubble Relay exited before it served; log " + dir.relayLog() + ": " + Procs.tail(dir.relayLog(), 5));
            if (System.currentTimeMillis() > deadline)
                throw new Procs.CommandException("Hubble Relay did not serve " + sock + " within " + START_TIMEOUT_MS / 1000 + " s; log "
                        + dir.relayLog() + ": " + Procs.tail(dir.relayLog(), 5));
            Kubelet.sleep(100);
        }
        return pid;
    }
}
