package dev.sluice.cli.bpf;

import dev.sluice.cli.AgentOptions;
import dev.sluice.cli.AgentQuery;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code sluice bpf ipcache list}: address or prefix to identity and tunnel endpoint. */
@Command(name = "ipcache", description = "The ipcache: address or prefix to security identity and tunnel endpoint.",
        subcommands = BpfIpcacheCommand.List.class)
public final class BpfIpcacheCommand {
    @Command(name = "list", description = "List each node's ipcache as the kernel holds it.")
    static final class List implements Callable<Integer> {
        @Mixin AgentOptions agents;
        @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table or json") String output;

        @Override public Integer call() {
            return AgentQuery.print(agents, output, "ipcache", java.util.List.of("PREFIX", "IDENTITY", "TUNNEL-ENDPOINT", "FLAGS"),
                    n -> java.util.List.of(n.path("prefix").asString(), n.path("identity").asString(),
                            n.path("tunnelEndpoint").asString().isEmpty() ? "-" : n.path("tunnelEndpoint").asString(), n.path("flags").asString()));
        }
    }
}
