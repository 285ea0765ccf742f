package dev.sluice.cli;

import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code sluice identity list}: security identities and the pods that have them. */
@Command(name = "identity", description = "Security identities.", subcommands = IdentityCommand.ListCmd.class)
public final class IdentityCommand {
    @Command(name = "list", description = "List the identities each agent has allocated (the same on every node).")
    static final class ListCmd implements Callable<Integer> {
        @Mixin AgentOptions agents;
        @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table or json") String output;

        @Override public Integer call() {
            return AgentQuery.print(agents, output, "identities", List.of("ID", "LABELS", "PODS"),
                    n -> List.of(n.path("id").asString(), n.path("labels").asString(), String.join(",", n.path("pods").valueStream().map(x -> x.asString()).toList())));
        }
    }
}
