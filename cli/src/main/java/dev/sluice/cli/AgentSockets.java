package dev.sluice.cli;

import dev.sluice.BadInputException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Finds the agents a command talks to: a lab's agents with {@code --name N [--node NODE]}, an
 * explicit {@code --socket}, or on a real node the local agent's socket.
 */
public final class AgentSockets {
    public static final Path LABS = Path.of("/run/sluice/labs");
    public static final Path NODE_SOCKET = Path.of("/var/run/sluice/agent.sock");
    public static final String DEFAULT_LAB = "sluice";

    /** A node's agent socket. */
    public record Target(String node, Path socket) {}

    private AgentSockets() {}

    public static List<Target> resolve(String lab, String node, Path socket) {
        if (socket != null) return List.of(new Target(node == null ? "local" : node, socket));
        String name = lab;
        if (name == null) {
            if (Files.exists(NODE_SOCKET)) return List.of(new Target("local", NODE_SOCKET));
            name = DEFAULT_LAB;
        }
        Path nodes = LABS.resolve(name).resolve("nodes");
        if (!Files.isDirectory(nodes))
            throw new BadInputException("lab " + name + ": not found under " + LABS + " (expected: a running lab, see 'sluice lab up --name " + name + "')");
        List<Target> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(nodes)) {
            for (Path d : s.sorted().toList()) {
                String n = d.getFileName().toString();
                if (node == null || node.equals(n)) out.add(new Target(n, d.resolve("agent.sock")));
            }
        } catch (IOException e) {
            throw new IllegalStateException(nodes + ": " + e.getMessage());
        }
        if (out.isEmpty()) throw new BadInputException("--node: " + node + " (expected: a node of lab " + name + ")");
        return out;
    }
}
