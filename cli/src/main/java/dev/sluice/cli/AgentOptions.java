package dev.sluice.cli;

import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Option;

/** Options every command that talks to agents shares. */
public final class AgentOptions {
    @Option(names = "--name", description = "Lab name (default: the local agent, else lab 'sluice').")
    String name;
    @Option(names = "--node", description = "Only this node's agent.")
    String node;
    @Option(names = "--socket", description = "An agent socket path, explicitly.")
    Path socket;

    public List<AgentSockets.Target> targets() { return AgentSockets.resolve(name, node, socket); }
}
