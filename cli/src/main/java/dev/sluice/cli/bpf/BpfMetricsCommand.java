package dev.sluice.cli.bpf;

import dev.sluice.cli.AgentOptions;
import dev.sluice.cli.AgentQuery;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code sluice bpf metrics list}: forwarded and dropped packets per reason, direction and endpoint. */
@Command(name = "metrics", description = "Packet counters per reason (forwarded or why dropped), direction and endpoint.",
        subcommands = BpfMetricsCommand.List.class)
public final class BpfMetricsCommand {
    @Command(name = "list", description = "List the counters of each node.")
    static final class List implements Callable<Integer> {
        @Mixin AgentOptions agents;
        @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table or json") String output;

        @Override public Integer call() {
            return AgentQuery.print(agents, output, "metrics", java.util.List.of("REASON", "CODE", "DIRECTION", "ENDPOINT", "PACKETS", "BYTES"),
                    n -> java.util.List.of(n.path("reason").asString(), n.path("code").asString(), n.path("direction").asString(),
                            n.path("endpoint").asString(), n.path("packets").asString(), n.path("bytes").asString()));
        }
    }
}
