package dev.sluice.cli.service;

import dev.sluice.agent.api.AgentClient;
import dev.sluice.cli.AgentOptions;
import dev.sluice.cli.Output;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import tools.jackson.databind.JsonNode;

/** {@code sluice service list}: every Service as the agent computed and programmed it, with its status. */
@Command(name = "service", description = "Services as the agents load-balance them.", subcommands = ServiceCommand.List_.class)
public final class ServiceCommand {
    @Command(name = "list", description = "Services with type, addresses, ports, backends and status (errors name the field and value).")
    public static final class List_ implements Callable<Integer> {
        @Mixin AgentOptions agents;
        @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table or json")
        String output;

        @Override public Integer call() {
            String fmt = Output.format(output, "table", "json");
            // Services are cluster-wide: the first agent's view is the cluster's (all agents run the same model).
            var t = agents.targets().getFirst();
            JsonNode r = AgentClient.call(t.socket(), "services", Map.of());
            if (fmt.equals("json")) {
                Output.json(System.out, r);
                return 0;
            }
            List<List<String>> rows = new ArrayList<>();
            rows.add(Output.row("SERVICE", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "BACKENDS", "STATUS"));
            List<String> details = new ArrayList<>();
            for (JsonNode s : r) {
                List<String> ext = new ArrayList<>(), ports = new ArrayList<>(), backends = new ArrayList<>(), errs = new ArrayList<>();
                s.path("externalIPs").forEach(x -> ext.add(x.asString()));
                s.path("ports").forEach(x -> ports.add(x.asString()));
                s.path("backends").properties().forEach(e -> backends.add(e.getValue().asString()));
                for (JsonNode c : s.path("conditions")) {
                    if (c.path("level").asString().equals("ERROR")) {
                        if (!errs.contains(c.path("reason").asString())) errs.add(c.path("reason").asString());
                        details.add(s.path("service").asString() + ": " + c.path("reason").asString() + ": " + c.path("message").asString());
                    }
                }
                rows.add(Output.row(s.path("service").asString(), s.path("type").asString().isEmpty() ? "-" : s.path("type").asString(),
                        s.path("clusterIP").asString().isEmpty() ? "<none>" : s.path("clusterIP").asString(),
                        ext.isEmpty() ? "<none>" : String.join(",", ext), ports.isEmpty() ? "<none>" : String.join(",", ports),
                        backends.isEmpty() ? "-" : String.join(",", backends), errs.isEmpty() ? "ok" : String.join(",", errs)));
            }
            Output.table(System.out, rows);
            if (!details.isEmpty()) {
                System.out.println();
                details.forEach(d -> System.out.println("ERROR " + d));
            }
            return 0;
        }
    }
}
