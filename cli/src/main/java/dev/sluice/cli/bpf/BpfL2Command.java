package dev.sluice.cli.bpf;

import dev.sluice.cli.AgentOptions;
import dev.sluice.cli.AgentQuery;
import dev.sluice.cli.Output;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code sluice bpf l2 list}: per node, the LoadBalancer and external addresses it may announce
 * (answer ARP for), whether it does now, the lease holder, and the uplink's ARP counters per outcome.
 */
@Command(name = "l2", description = "L2 announcements: the addresses each node answers ARP for.", subcommands = BpfL2Command.List_.class)
public final class BpfL2Command {
    @Command(name = "list", description = "Candidate addresses, their state on this node and the lease holder; ARP counters.")
    public static final class List_ implements Callable<Integer> {
        @Mixin AgentOptions agents;
        @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table or json")
        String output;

        @Override public Integer call() {
            return AgentQuery.printPerNode(agents, output, "l2", Map.of(), (node, v) -> {
                System.out.println("# node " + node);
                if (!v.path("enabled").asBoolean()) {
                    System.out.println("L2 announcements disabled (l2announcements.enabled: false)");
                    return;
                }
                List<List<String>> rows = new ArrayList<>();
                rows.add(Output.row("ADDRESS", "TYPE", "SERVICE", "INTERFACE", "STATE", "HOLDER", "EXPIRES", "REPLIES"));
                for (var a : v.path("announcements"))
                    rows.add(Output.row(a.path("address").asString(), a.path("type").asString(), a.path("service").asString(),
                            a.path("iface").asString(), a.path("state").asString(), a.path("holder").asString(),
                            a.path("state").asString().equals("announcing") ? a.path("expiresInMs").asLong() / 1000.0 + "s" : "",
                            Long.toString(a.path("replies").asLong())));
                Output.table(System.out, rows);
                List<String> arp = new ArrayList<>();
                v.path("arp").properties().forEach(e -> arp.add(e.getKey() + " " + e.getValue().asLong()));
                System.out.println("ARP on the uplink: " + (arp.isEmpty() ? "none seen" : String.join(", ", arp)));
                for (var e : v.path("errors")) System.out.println("Error: " + e.asString());
            });
        }
    }
}
