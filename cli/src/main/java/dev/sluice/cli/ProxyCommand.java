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
 * {@code sluice proxy status}: per node, the L7 proxies (HTTP, DNS): whether they run, their
 * listeners and the data path slots that steer to them, open connections, requests by verdict and
 * rejected requests by reason.
 */
@Command(name = "proxy", description = "The L7 proxies of each node (HTTP and DNS).", subcommands = ProxyCommand.Status.class)
public final class ProxyCommand {
    @Command(name = "status", mixinStandardHelpOptions = true,
            description = "Listeners, data path slots, connections, requests by verdict and rejections by reason, per node.")
    public static final class Status implements Callable<Integer> {
        @Mixin AgentOptions agents;
        @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table or json") String output;

        @Override public Integer call() {
            return AgentQuery.printPerNode(agents, output, "proxy", Map.of(), (node, v) -> {
                System.out.println("# node " + node);
                JsonNode h = v.path("http"), d = v.path("dns");
                List<List<String>> rows = new ArrayList<>();
                rows.add(Output.row("PROXY", "STATE", "LISTENERS", "CONNECTIONS", "FORWARDED", "DENIED", "ERRORS"));
                List<String> ls = new ArrayList<>();
                for (JsonNode l : h.path("listeners")) ls.add(l.path("direction").asString() + " " + l.path("address").asString() + ":" + l.path("port").asInt());
                rows.add(Output.row("http", h.path("running").asBoolean() ? "running" : "not started", ls.isEmpty() ? "-" : String.join(", ", ls),
                        h.path("running").asBoolean() ? h.path("downstreamConnections").asLong() + " in, " + h.path("upstreamConnections").asLong() + " out" : "-",
                        Long.toString(h.path("requests").path("forwarded").asLong()), Long.toString(h.path("requests").path("denied").asLong()),
                        Long.toString(h.path("requests").path("error").asLong())));
                boolean dnsUp = d.path("running").asBoolean();
                rows.add(Output.row("dns", dnsUp ? "running" : "not started", dnsUp ? "udp " + d.path("udp").asString() + ", tcp " + d.path("tcp").asString() : "-",
                        "-", Long.toString(d.path("allowed").asLong()), Long.toString(d.path("denied").asLong()),
                        Long.toString(d.path("malformed").asLong() + d.path("forwardErrors").asLong())));
                Output.table(System.out, rows);
                List<String> rej = new ArrayList<>();
                h.path("rejections").properties().forEach(e -> rej.add(e.getKey() + " " + e.getValue().asLong()));
                System.out.println("HTTP rejections: " + (rej.isEmpty() ? "none" : String.join(", ", rej)));
                List<String> slots = new ArrayList<>();
                v.path("slots").properties().forEach(e -> slots.add(e.getKey()));
                System.out.println("Data path slots set: " + (slots.isEmpty() ? "none (redirected flows are dropped, reason 144)" : String.join(", ", slots)));
                if (!v.path("error").asString("").isEmpty()) System.out.println("Error: " + v.path("error").asString());
            });
        }
    }
}
