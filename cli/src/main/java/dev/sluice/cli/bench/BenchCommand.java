package dev.sluice.cli.bench;

import dev.sluice.BadInputException;
import dev.sluice.cli.Output;
import dev.sluice.lab.Lab;
import dev.sluice.lab.LabEnv;
import dev.sluice.lab.LabNames;
import dev.sluice.lab.Procs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code sluice bench}: Sluice's eBPF Service path beside kube-proxy's (iptables with the legacy
 * and nft backends, nftables mode) and a plain routed baseline, on this machine, in one run, in
 * private network namespaces. See {@link Bench} for how, docs/benchmarks.md for results.
 */
@Command(name = "bench", description = "Measure Sluice's eBPF Service path beside kube-proxy's iptables (legacy and nft backends) and "
        + "nftables rules and a plain routed baseline, in private namespaces: full sync, one change, new connections/s, "
        + "request/response p50/p99 at each Service count. Prints a table; writes bench.json, bench.png and bench.svg.")
public final class BenchCommand implements Callable<Integer> {
    static final List<Integer> FULL = List.of(10, 1_000, 10_000), QUICK = List.of(10, 100);
    static final int MAX_SERVICES = 60_000; // ClusterIPs 10.96.0.1-10.96.239.250 in the kube-proxy layouts

    @Option(names = "--quick", description = "Small counts and short runs (10 and 100 Services, 2 backends, 0.5 s per traffic run).")
    boolean quick;
    @Option(names = "--services", split = ",", paramLabel = "N", description = "Service counts, ascending (default: 10,1000,10000; --quick: 10,100).")
    List<String> services;
    @Option(names = "--repeat", paramLabel = "N", description = "Rounds per count, paths interleaved (default: 1).")
    String repeat;
    @Option(names = "--seconds", paramLabel = "S", description = "Seconds per traffic run (default: 3; --quick: 0.5).")
    String seconds;
    @Option(names = "--backends", paramLabel = "N", description = "Endpoints per Service (default: 10; --quick: 2).")
    String backends;
    @Option(names = "--name", defaultValue = "bcbench", paramLabel = "LAB", description = "The lab made for Sluice's path (default: ${DEFAULT-VALUE}); must not exist.")
    String name;
    @Option(names = "--out", paramLabel = "DIR", description = "Where bench.json, bench.png and bench.svg go (default: build/bench under the Sluice home).")
    Path out;
    @Option(names = {"-o", "--output"}, defaultValue = "table", description = "What goes to stdout: table or json.")
    String output;

    static int intOption(String opt, String v, int def, int min, int max) {
        if (v == null) return def;
        try {
            int n = Integer.parseInt(v.strip());
            if (n >= min && n <= max) return n;
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new BadInputException(opt + ": " + v + " (expected: an integer " + min + "-" + max + ")");
    }

    static List<Integer> counts(List<String> given, List<Integer> def) {
        if (given == null) return def;
        List<Integer> out = new ArrayList<>();
        for (String s : given) {
            int n = intOption("--services", s, 0, 1, MAX_SERVICES);
            if (!out.isEmpty() && n <= out.getLast())
                throw new BadInputException("--services: " + String.join(",", given) + " (expected: ascending counts without repeats)");
            out.add(n);
        }
        return out;
    }

    static double secondsOption(String v, double def) {
        if (v == null) return def;
        try {
            double s = Double.parseDouble(v.strip());
            if (s >= 0.1 && s <= 600) return s;
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new BadInputException("--seconds: " + v + " (expected: seconds per traffic run, 0.1-600)");
    }

    /** The validated plan: every bad option is reported before anything is made. */
    Bench.Plan plan(Path home) {
        Output.format(output, "table", "json");
        List<Integer> counts = counts(services, quick ? QUICK : FULL);
        int rounds = intOption("--repeat", repeat, 1, 1, 100);
        double secs = secondsOption(seconds, quick ? 0.5 : 3);
        int nb = intOption("--backends", backends, quick ? 2 : 10, 1, 100);
        return new Bench.Plan(counts, rounds, secs, nb, LabNames.validateLab(name), out != null ? out : home.resolve("build/bench"));
    }

    @Override public Integer call() throws IOException {
        LabEnv env = LabEnv.detect();
        Bench.Plan plan = plan(env.home());
        if (!"root".equals(System.getProperty("user.name")))
            throw new IllegalStateException("bench must run as root (network namespaces, BPF, iptables in its own namespaces)");
        String missing = env.missing(true);
        if (missing != null) throw new IllegalStateException(missing);
        for (String tool : List.of("iptables-legacy-restore", "iptables-nft-restore", "nft", "nsenter", "ip"))
            if (!Procs.run(List.of("sh", "-c", "command -v " + tool)).ok()) throw new IllegalStateException(tool + " is missing (expected: on the PATH)");
        if (new Lab(plan.lab(), env, l -> {}).exists())
            throw new BadInputException("--name: " + plan.lab() + " (expected: a lab name not in use; see sluice lab down --name " + plan.lab() + ")");
        Files.createDirectories(plan.out());
        Path work = Files.createTempDirectory("sluice-bench");
        Map<String, Object> run = machine(plan);
        Results results;
        try {
            results = new Bench(plan, work, env, l -> System.err.println("bench: " + l)).run();
        } finally {
            deleteTree(work);
        }
        run.put("loadavgAtEnd", loadavg());
        List<Results.Row> rows = results.rows(RoutedPath.Rules.NONE.label);
        Path json = plan.out().resolve("bench.json"), png = plan.out().resolve("bench.png"), svg = plan.out().resolve("bench.svg");
        Files.writeString(json, Output.JSON.writeValueAsString(Report.json(run, rows)) + "\n");
        var chart = Report.chart(rows, run.get("cpus") + " CPUs, kernel " + run.get("kernel") + ", " + plan.backends() + " endpoints per Service, "
                + plan.repeat() + " round(s), " + plan.seconds() + " s per traffic run, " + run.get("date"));
        Report.colour(chart, results.paths());
        Report.png(chart, png);
        Report.svg(chart, svg);
        if (output.equals("json")) Output.json(System.out, Report.json(run, rows));
        else {
            System.out.println("sluice bench: " + run.get("cpus") + " CPUs, kernel " + run.get("kernel") + ", load " + run.get("loadavgAtStart")
                    + " -> " + run.get("loadavgAtEnd") + "; " + plan.backends() + " endpoints per Service, " + plan.repeat() + " round(s), "
                    + plan.seconds() + " s per traffic run (medians over rounds)");
            Report.table(System.out, rows);
            System.out.println("wrote " + json + ", " + png + ", " + svg);
        }
        return 0;
    }

    private static Map<String, Object> machine(Bench.Plan plan) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("date", Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString());
        m.put("cpus", Runtime.getRuntime().availableProcessors());
        m.put("kernel", System.getProperty("os.version"));
        m.put("loadavgAtStart", loadavg());
        m.put("services", plan.services());
        m.put("repeat", plan.repeat());
        m.put("secondsPerTrafficRun", plan.seconds());
        m.put("endpointsPerService", plan.backends());
        return m;
    }

    private static String loadavg() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException e) {
            return "unknown";
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        try (var s = Files.walk(dir)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
