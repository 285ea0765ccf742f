package dev.sluice.cli.lab;

import dev.sluice.cli.Output;
import dev.sluice.lab.dns.ClusterZone;
import dev.sluice.lab.dns.ExternalNames;
import dev.sluice.lab.dns.LabDnsNames;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code sluice lab dns}: the external names of the lab's cluster DNS. */
@Command(name = "dns", mixinStandardHelpOptions = true,
        description = "Names the lab's cluster DNS answers besides Services and pods (needs the lab's API server).",
        subcommands = {LabDnsCommand.Set.class, LabDnsCommand.ListNames.class, LabDnsCommand.Delete.class})
final class LabDnsCommand {
    static Map<String, Object> json(ClusterZone.External e) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", e.name());
        m.put("address", e.address());
        m.put("ttl", e.ttl());
        return m;
    }

    @Command(name = "set", mixinStandardHelpOptions = true, description = "Add or replace NAME -> ADDRESS (an A record).")
    static final class Set implements Callable<Integer> {
        @Mixin LabOptions lab;
        @Parameters(index = "0", paramLabel = "NAME", description = "a DNS name outside cluster.local, e.g. api.example.com") String name;
        @Parameters(index = "1", paramLabel = "ADDRESS", description = "an IPv4 address") String address;
        @Option(names = "--ttl", defaultValue = "" + ExternalNames.DEFAULT_TTL, description = "TTL in seconds (default: ${DEFAULT-VALUE}).") int ttl;
        @Option(names = {"-o", "--output"}, defaultValue = "table", description = "json or table.") String output;

        @Override public Integer call() {
            String fmt = LabOptions.format(output);
            ExternalNames.name(name);
            ExternalNames.address(address);
            ExternalNames.ttl(ttl);
            var e = new LabDnsNames(lab.lab()).set(name, address, ttl);
            if (fmt.equals("json")) Output.json(System.out, json(e));
            else System.out.println(e.name() + " -> " + e.address() + " (ttl " + e.ttl() + "s)");
            return 0;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "The names set with `lab dns set`.")
    static final class ListNames implements Callable<Integer> {
        @Mixin LabOptions lab;
        @Option(names = {"-o", "--output"}, defaultValue = "table", description = "json or table.") String output;

        @Override public Integer call() {
            String fmt = LabOptions.format(output);
            var names = new LabDnsNames(lab.lab()).list();
            if (fmt.equals("json")) {
                Output.json(System.out, names.stream().map(LabDnsCommand::json).toList());
            } else {
                List<List<String>> rows = new ArrayList<>();
                rows.add(Output.row("NAME", "ADDRESS", "TTL"));
                for (var e : names) rows.add(Output.row(e.name(), e.address(), e.ttl()));
                Output.table(System.out, rows);
            }
            return 0;
        }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true, description = "Remove a name set with `lab dns set`.")
    static final class Delete implements Callable<Integer> {
        @Mixin LabOptions lab;
        @Parameters(index = "0", paramLabel = "NAME") String name;
        @Option(names = {"-o", "--output"}, defaultValue = "table", description = "json or table.") String output;

        @Override public Integer call() {
            String fmt = LabOptions.format(output);
            ExternalNames.name(name);
            var e = new LabDnsNames(lab.lab()).delete(name);
            if (fmt.equals("json")) Output.json(System.out, json(e));
            else System.out.println(e.name() + " deleted");
            return 0;
        }
    }
}
