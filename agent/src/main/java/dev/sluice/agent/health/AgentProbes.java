package dev.sluice.agent.health;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * What the agent answers to the kubelet's probes. Alive: its API loop answers a request within the
 * timeout (a wedged agent gets restarted). Ready: alive, and the node can take pods: the data path
 * is loaded and attached, a first snapshot of the cluster is programmed, and the CNI configuration
 * is written when the agent installs it.
 */
public final class AgentProbes {
    /**
     * The agent's state at the moment of a probe.
     *
     * @param unattached devices the data path must be attached to and is not (the uplink; the tunnel device in tunnel mode)
     * @param programmedGeneration the last snapshot programmed, -1 before the first
     * @param cniConf the conflist the agent installs, empty when it does not install one
     * @param cniWritten whether that conflist is on disk with the agent's content
     */
    public record State(boolean datapathLoaded, List<String> unattached, long programmedGeneration, Optional<Path> cniConf, boolean cniWritten) {}

    /** A request to the agent's own API; throws when it fails. */
    @FunctionalInterface
    public interface Ping {
        void ping() throws Exception;
    }

    private final Ping ping;
    private final Duration timeout;
    private final Supplier<State> state;

    public AgentProbes(Ping ping, Duration timeout, Supplier<State> state) {
        this.ping = ping;
        this.timeout = timeout;
        this.state = state;
    }

    public List<String> liveness() {
        // On its own thread: a hung API must fail the probe, not hang it.
        var f = CompletableFuture.runAsync(() -> {
            try {
                ping.ping();
            } catch (Exception e) {
                throw new IllegalStateException(e.getMessage(), e);
            }
        }, r -> Thread.ofVirtual().name("health-ping").start(r));
        try {
            f.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            return List.of();
        } catch (TimeoutException e) {
            f.cancel(true);
            return List.of("API: no answer within " + timeout.toMillis() + " ms");
        } catch (ExecutionException e) {
            return List.of("API: " + e.getCause().getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return List.of("API: interrupted");
        }
    }

    public List<String> readiness() {
        List<String> out = new ArrayList<>(liveness());
        out.addAll(notReady(state.get()));
        return out;
    }

    /** What a node in this state lacks before it can take pods; empty when ready. */
    static List<String> notReady(State s) {
        List<String> out = new ArrayList<>();
        if (!s.datapathLoaded()) out.add("data path: not loaded yet");
        else s.unattached().forEach(d -> out.add("data path: not attached to " + d + " yet"));
        if (s.programmedGeneration() < 0) out.add("cluster state: no snapshot programmed yet");
        s.cniConf().filter(p -> !s.cniWritten()).ifPresent(p -> out.add("CNI: " + p + " not written yet"));
        return out;
    }
}
