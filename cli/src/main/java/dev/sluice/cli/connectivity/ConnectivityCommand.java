package dev.sluice.cli.connectivity;

import dev.sluice.BadInputException;
import dev.sluice.cli.Output;
import dev.sluice.config.Values;
import dev.sluice.k8s.Kinds;
import dev.sluice.lab.Lab;
import dev.sluice.lab.LabEnv;
import dev.sluice.lab.LabNames;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code sluice connectivity test}: named scenarios with real connections on a lab. */
@Command(name = "connectivity", description = "Connectivity checks on a lab.", subcommands = ConnectivityCommand.Test.class)
public final class ConnectivityCommand {

    @Command(name = "test", description = "Deploy each scenario's workloads and policies in its own namespace, make real connections, "
            + "check verdicts and recorded drops, clean up. Exit 1 when a scenario fails.")
    static final class Test implements Callable<Integer> {
        @Option(names = "--name", defaultValue = LabNames.DEFAULT_LAB, paramLabel = "N", description = "Lab name (default: ${DEFAULT-VALUE}).")
        String name;
        @Option(names = "--test", paramLabel = "NAME|REGEX", split = ",", description = "Only these scenarios (names or regular expressions; repeatable).")
        List<String> tests;
        @Option(names = "--list", description = "List the scenarios and exit.")
        boolean list;
        @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table or json.")
        String output;

        @Override public Integer call() throws IOException {
            String fmt = Output.format(output, "table", "json");
            Lab lab = new Lab(LabNames.validateLab(name), LabEnv.detect(), System.err::println);
            if (list) {
                if (fmt.equals("json")) {
                    Output.json(System.out, Scenario.all(Scenario.Lab.ANY).stream()
                            .map(s -> Map.of("scenario", s.name(), "description", s.description(), "skip", s.skip())).toList());
                    return 0;
                }
                List<List<String>> rows = new ArrayList<>();
                rows.add(Output.row("SCENARIO", "DESCRIPTION"));
                for (Scenario s : Scenario.all(Scenario.Lab.ANY)) rows.add(Output.row(s.name(), s.description()));
                Output.table(System.out, rows);
                return 0;
            }
            Scenario.select(Scenario.all(Scenario.Lab.ANY), tests); // a bad --test is bad input before the lab is looked at
            if (!lab.exists()) throw new BadInputException("--name: " + lab.name() + " (expected: a running lab; see sluice lab up)");
            var st = lab.state();
            var values = Files.isRegularFile(lab.dir().values()) ? Values.load(lab.dir().values(), Map.of()) : Values.defaults();
            boolean lbPool = !lab.store().all(Kinds.CILIUM_LB_IP_POOL).isEmpty() || values.lbExternalIPPoolCidr().isPresent();
            List<Scenario> chosen = Scenario.select(Scenario.all(new Scenario.Lab(st.nodes().size(), lbPool, values.masquerade())), tests);
            List<Runner.Result> results = new Runner(lab, LabEnv.detect()).run(chosen);
            if (fmt.equals("json")) Output.json(System.out, json(lab.name(), results));
            else table(System.out, results);
            return overall(results).equals("fail") ? 1 : 0;
        }
    }

    static String overall(List<Runner.Result> rs) {
        return rs.stream().anyMatch(r -> r.status().equals("fail")) ? "fail" : "pass";
    }

    static Map<String, Object> json(String lab, List<Runner.Result> rs) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("lab", lab);
        out.put("result", overall(rs));
        out.put("scenarios", rs);
        return out;
    }

    static void table(PrintStream out, List<Runner.Result> rs) {
        for (Runner.Result r : rs) {
            out.println("[" + r.status() + "] " + r.scenario() + (r.status().equals("skip") ? ": " + r.reason() : ""));
            for (String c : r.checks()) out.println("  " + c);
        }
        out.println();
        List<List<String>> rows = new ArrayList<>();
        rows.add(Output.row("SCENARIO", "RESULT", "TIME", "REASON"));
        for (Runner.Result r : rs)
            rows.add(Output.row(r.scenario(), r.status().toUpperCase(), r.status().equals("skip") ? "-" : r.millis() + "ms", r.reason()));
        Output.table(out, rows);
        long pass = rs.stream().filter(r -> r.status().equals("pass")).count(), fail = rs.stream().filter(r -> r.status().equals("fail")).count();
        out.println();
        out.println("result: " + overall(rs) + " (" + pass + " passed, " + fail + " failed, " + (rs.size() - pass - fail) + " skipped)");
    }
}
