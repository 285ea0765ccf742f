package dev.sluice.cli.bench;

import dev.sluice.lab.LabEnv;
import dev.sluice.lab.LabNet;
import dev.sluice.lab.Procs;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Runs the comparison: every path is set up once, then for each Service count and each round the
 * paths take turns (a different order each round): each one's rules are programmed from nothing
 * and one Service is added (both timed), then each path's new-connection rate ({@code sluice-pod
 * bench --mode crr}) and request/response latency ({@code --mode rr}) are measured to the last
 * Service, one connection at a time, after an unrecorded warm-up run of each, interleaved so
 * drift on a busy host lands on all of them.
 * Everything is removed at the end, also on failure or Ctrl-C.
 */
final class Bench {
    static final JsonMapper JSON = JsonMapper.builder().build();
    static final double WARMUP_SECONDS = 0.5;

    /** What to run; validated by the command. */
    record Plan(List<Integer> services, int repeat, double seconds, int backends, String lab, Path out) {}

    private final Plan plan;
    private final Path work;
    private final LabEnv env;
    private final Consumer<String> log;
    private final List<DataPath> paths = new ArrayList<>();
    private final AtomicBoolean closed = new AtomicBoolean();
    /** This run's namespaces start with it: {@code sl-bc<pid in hex>-}. */
    private final String prefix = "sl-bc" + Long.toHexString(ProcessHandle.current().pid() & 0xffff) + "-";

    /** {@code work}: a private directory for manifests and the servers' logs. */
    Bench(Plan plan, Path work, LabEnv env, Consumer<String> log) {
        this.plan = plan;
        this.work = work;
        this.env = env;
        this.log = log;
    }

    Results run() {
        Thread hook = new Thread(this::close, "sluice-bench-cleanup");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            setUp();
            Results r = new Results(paths.stream().map(DataPath::name).toList());
            for (int n : plan.services())
                for (int round = 0; round < plan.repeat(); round++) round(r, n, round);
            return r;
        } finally {
            close();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException ignored) {
                // already shutting down: the hook runs close() again, which does nothing now
            }
        }
    }

    private void setUp() {
        Path script = env.home().resolve("scripts/kube-proxy-rules.sh");
        Path logs = work.resolve("logs");
        try {
            Files.createDirectories(logs);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        char id = 'a';
        for (RoutedPath.Rules rules : RoutedPath.Rules.values()) {
            log.accept("setting up " + rules.label + " (namespaces " + prefix + id + "{c,r,s})");
            paths.add(new RoutedPath(rules, prefix + id++, plan.backends(), env.podTool(), script, logs));
        }
        log.accept("setting up sluice eBPF (lab " + plan.lab() + ", 1 node, " + (plan.backends() + 1) + " pods)");
        paths.add(new SluicePath(plan.lab(), plan.backends(), env, work));
    }

    private void round(Results r, int n, int round) {
        List<DataPath> order = new ArrayList<>(paths);
        Collections.rotate(order, -round);
        String tag = n + " Services, round " + (round + 1) + "/" + plan.repeat();
        for (DataPath p : order) {
            if (!p.programs()) continue;
            double full = p.fullSync(n);
            double one = p.oneChange(n);
            log.accept(tag + ": " + p.name() + " full sync " + Math.round(full) + " ms, one Service added " + Math.round(one) + " ms");
            r.add(p.name(), n, Results.FULL_SYNC_MS, full);
            r.add(p.name(), n, Results.ONE_CHANGE_MS, one);
        }
        // an unrecorded warm-up first: a path just set up or synced (a lab's agent compiling, caches
        // cold) would otherwise pay for it in the first measured run only
        for (DataPath p : order) traffic(p, "crr", p.target(n), Math.min(WARMUP_SECONDS, plan.seconds()));
        for (DataPath p : order) {
            String to = p.target(n);
            JsonNode crr = traffic(p, "crr", to, plan.seconds()), rr = traffic(p, "rr", to, plan.seconds());
            log.accept(tag + ": " + p.name() + " -> " + to + ": " + Math.round(crr.path("rate").asDouble()) + " conn/s, rr p50 "
                    + rr.path("p50_us").asDouble() + " us, p99 " + rr.path("p99_us").asDouble() + " us");
            r.add(p.name(), n, Results.CONN_PER_SEC, crr.path("rate").asDouble());
            r.add(p.name(), n, Results.RR_P50_US, rr.path("p50_us").asDouble());
            r.add(p.name(), n, Results.RR_P99_US, rr.path("p99_us").asDouble());
        }
    }

    /** One {@code sluice-pod bench} run from the path's client; its result line. */
    private JsonNode traffic(DataPath p, String mode, String to, double seconds) {
        long timeout = (long) (seconds * 1000) + 30_000;
        var res = LabNet.exec(p.clientNetns(), List.of(env.podTool().toString(), "bench", "--mode", mode, "--proto", "tcp", "--to", to,
                "--seconds", Double.toString(seconds), "--conns", "1"), timeout);
        String line = res.stdout().lines().filter(l -> l.startsWith("{")).reduce((a, b) -> b).orElse("");
        if (!res.ok() || line.isEmpty()) throw new IllegalStateException(p.name() + ": " + mode + " to " + to + " failed: " + res.describe());
        JsonNode j = JSON.readTree(line);
        double rate = j.path("rate").asDouble();
        if (!(rate > 0)) throw new IllegalStateException(p.name() + ": " + mode + " to " + to + ": no transaction completed (" + line + ")");
        return j;
    }

    /** Removes every path (the lab last made, first removed); runs once. */
    void close() {
        if (!closed.compareAndSet(false, true)) return;
        List<DataPath> rev = new ArrayList<>(paths);
        Collections.reverse(rev);
        for (DataPath p : rev) {
            try {
                p.close();
            } catch (RuntimeException e) {
                System.err.println("bench: cleaning up " + p.name() + ": " + e.getMessage());
            }
        }
        // what a Ctrl-C during a constructor left: this run's namespaces and lab, by their names
        for (String ns : LabNet.listNetns())
            if (ns.startsWith(prefix)) {
                Procs.kill(LabNet.pids(ns), 2_000);
                LabNet.deleteNetns(ns);
            }
        new dev.sluice.lab.Lab(plan.lab(), env, line -> {}).down();
    }
}
