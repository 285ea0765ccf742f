package dev.sluice.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import tools.jackson.databind.JsonNode;

/**
 * {@code sluice fqdn cache list}: per node, what the DNS proxy learned for toFQDNs policies: which
 * endpoint asked, the name, each address, the answer's TTL and when the entry expires (an address
 * a connection still uses is kept past it).
 */
@Command(name = "fqdn", description = "toFQDNs: the names and addresses the DNS proxy learned.", subcommands = FqdnCommand.Cache.class)
public final class FqdnCommand {
    @Command(name = "cache", description = "The FQDN cache.", subcommands = FqdnCommand.List_.class)
    public static final class Cache {}

    @Command(name = "list", mixinStandardHelpOptions = true, description = "Endpoint, name, address, TTL and expiry of every learned address, per node.")
    public static final class List_ implements Callable<Integer> {
        @Mixin AgentOptions agents;
        @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table or json") String output;
        @Option(names = "--match", paramLabel = "NAME", description = "only names containing this text") String match;

        @Override public Integer call() {
            return AgentQuery.printPerNode(agents, output, "fqdn", match == null ? Map.of() : Map.of("match", match), (node, v) -> {
                System.out.println("# node " + node);
                List<List<String>> rows = new ArrayList<>();
                rows.add(Output.row("ENDPOINT", "NAME", "ADDRESS", "TTL", "EXPIRES", "SOURCE"));
                for (JsonNode e : v) {
                    if (match != null && !e.path("name").asString().contains(match)) continue;
                    rows.add(Output.row(e.path("endpoint").asString(), e.path("name").asString(), e.path("address").asString(),
                            e.path("ttl").asInt() + "s", e.path("expires").asString(), e.path("source").asString()));
                }
                if (rows.size() == 1) System.out.println("no learned names");
                else Output.table(System.out, rows);
            });
        }
    }
}
