package dev.sluice.cli;

import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code sluice endpoint list}: the pods each agent has attached. */
@Command(name = "endpoint", description = "Endpoints (pods attached on each node).", subcommands = EndpointCommand.ListCmd.class)
public final class EndpointCommand {
    @Command(name = "list", description = "List the endpoints of each node.")
    static final class ListCmd implements Callable<Integer> {
        @Mixin AgentOptions agents;
        @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table or json") String output;

        @Override public Integer call() {
            return AgentQuery.print(agents, output, "endpoints", List.of("ID", "POD", "IP", "IDENTITY", "INGRESS", "EGRESS", "POLICY", "INTERFACE"),
                    n -> List.of(n.path("id").asString(), n.path("pod").asString(), n.path("ip").asString(), n.path("identity").asString(),
                            n.path("ingressEnforced").asBoolean() ? "enforced" : "open", n.path("egressEnforced").asBoolean() ? "enforced" : "open",
                            n.path("policy").asString(), n.path("interface").asString()));
        }
    }
}
