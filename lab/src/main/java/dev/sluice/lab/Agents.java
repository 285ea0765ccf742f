package dev.sluice.lab;

import dev.sluice.agent.api.AgentClient;
import dev.sluice.agent.api.AgentException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import tools.jackson.databind.JsonNode;

/** Starting the lab's agents (one JVM per node, inside the node namespace) and waiting on them. */
public final class Agents {
    static final long START_TIMEOUT_MS = 60_000;
    static final long WAIT_TIMEOUT_MS = 60_000;
    private final LabEnv env;

    public Agents(LabEnv env) { this.env = env; }

    /** A JVM running the sluice command with {@code args}, as the lab starts its agents and its API server. */
    List<String> sluice(List<String> args) {
        List<String> c = new ArrayList<>(List.of(env.java().toString(), "-XX:+UseSerialGC", "-Xms8m", "-Xss512k", "-XX:TieredStopAtLevel=1",
                "--enable-native-access=ALL-UNNAMED", "-Dsluice.home=" + env.home(), "-jar", env.jar().toString()));
        c.addAll(args);
        return c;
    }

    /**
     * The agent's command line, run under {@code nsenter --net=<node netns>}.
     *
     * @param source the flags that tell it where the cluster state is ({@link ClusterStore#agentFlags})
     */
    public List<String> command(LabState.NodeState n, List<String> source, Path values, String routing, java.util.Optional<Path> cgroup) {
        List<String> args = new ArrayList<>(List.of("agent", "--node", n.name()));
        args.addAll(source);
        args.addAll(List.of("--state-dir", n.stateDir(), "--socket", n.socket(), "--bpffs", n.bpffs(), "--values", values.toString()));
        if (routing != null) args.addAll(List.of("--routing", routing));
        cgroup.ifPresent(c -> args.addAll(List.of("--cgroup-root", c.toString())));
        return sluice(args);
    }

    /**
     * Starts the agent of a node, detached, inside the node's namespace and its cgroup (where its
     * socket load balancer attaches: {@link LabCgroups}); returns its pid.
     */
    public long start(LabState.NodeState n, List<String> source, Path values, String routing, java.util.Optional<Path> cgroup) {
        try {
            Files.createDirectories(Path.of(n.stateDir()));
            Files.deleteIfExists(Path.of(n.socket()));
        } catch (java.io.IOException e) {
            throw new Procs.CommandException("cannot prepare " + n.stateDir() + ": " + e.getMessage());
        }
        return Procs.startDetached(LabNet.inNetns(n.netns(), LabCgroups.joining(cgroup, command(n, source, values, routing, cgroup))), null,
                Path.of(n.log()));
    }

    /** Polls {@code status} until the agent answers; fails early if it exits. Returns the status. */
    public JsonNode awaitUp(LabState.NodeState n, long pid) {
        long deadline = System.currentTimeMillis() + START_TIMEOUT_MS;
        Path sock = Path.of(n.socket());
        String last = "";
        while (true) {
            if (Files.exists(sock)) {
                try {
                    return AgentClient.call(sock, "status", Map.of());
                } catch (AgentException e) {
                    last = e.getMessage();
                }
            }
            if (!Procs.alive(pid))
                throw new Procs.CommandException("the agent of " + n.name() + " exited before it answered; log " + n.log() + ": " + Procs.tail(Path.of(n.log()), 5));
            if (System.currentTimeMillis() > deadline)
                throw new Procs.CommandException("the agent of " + n.name() + " did not answer `status` within " + START_TIMEOUT_MS / 1000 + " s"
                        + (last.isEmpty() ? "" : " (" + last + ")") + "; log " + n.log() + ": " + Procs.tail(Path.of(n.log()), 5));
            Kubelet.sleep(100);
        }
    }

    /** Returns once every agent has programmed what {@code barrier} names (in parallel); throws naming the first that did not. */
    public void await(List<LabState.NodeState> nodes, ClusterStore.Barrier barrier) {
        String what = barrier.versions().isEmpty() ? "generation " + barrier.generation() : "resourceVersions " + barrier.versions();
        var futures = nodes.stream().map(n -> CompletableFuture.runAsync(() -> {
            try {
                AgentClient.call(Path.of(n.socket()), "wait", Map.of("generation", barrier.generation(), "versions", barrier.versions(),
                        "timeoutMs", WAIT_TIMEOUT_MS));
            } catch (AgentException e) {
                throw new AgentException("the agent of " + n.name() + " did not program " + what + ": " + e.getMessage()
                        + "; log " + n.log() + ": " + Procs.tail(Path.of(n.log()), 3));
            }
        })).toList();
        RuntimeException first = null;
        for (var f : futures) {
            try {
                f.join();
            } catch (java.util.concurrent.CompletionException e) {
                if (first == null) first = e.getCause() instanceof RuntimeException r ? r : e;
            }
        }
        if (first != null) throw first;
    }
}
