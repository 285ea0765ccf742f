package dev.sluice.cli.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every sample of a run, by path, Service count and metric, and the rows reported from them: the
 * median of the repeats, and each path's new-connection rate as a ratio to the routed baseline
 * measured in the same round of the same count.
 */
final class Results {
    static final String FULL_SYNC_MS = "fullSyncMs", ONE_CHANGE_MS = "oneChangeMs", CONN_PER_SEC = "connPerSec",
            RR_P50_US = "rrP50Us", RR_P99_US = "rrP99Us";
    static final List<String> METRICS = List.of(FULL_SYNC_MS, ONE_CHANGE_MS, CONN_PER_SEC, RR_P50_US, RR_P99_US);

    /** One path at one Service count; sync metrics are null for a path that programs no Services. */
    record Row(String path, int services, Double fullSyncMs, Double oneChangeMs, double connPerSec, double rrP50Us, double rrP99Us,
               double connVsBaseline, Map<String, List<Double>> samples) {}

    private final Map<String, Map<String, List<Double>>> samples = new LinkedHashMap<>();
    private final List<String> paths;
    private final List<Integer> counts = new ArrayList<>();

    /** {@code paths}: every path's name, in the order rows list them. */
    Results(List<String> paths) {
        this.paths = List.copyOf(paths);
    }

    private static String key(String path, int n) { return path + "\0" + n; }

    void add(String path, int n, String metric, double value) {
        if (!paths.contains(path)) throw new IllegalArgumentException("unknown path " + path);
        if (!counts.contains(n)) counts.add(n);
        samples.computeIfAbsent(key(path, n), k -> new LinkedHashMap<>()).computeIfAbsent(metric, k -> new ArrayList<>()).add(value);
    }

    static double median(List<Double> v) {
        List<Double> s = v.stream().sorted().toList();
        int m = s.size() / 2;
        return s.size() % 2 == 1 ? s.get(m) : (s.get(m - 1) + s.get(m)) / 2;
    }

    private Double med(String path, int n, String metric) {
        List<Double> v = samples.getOrDefault(key(path, n), Map.of()).get(metric);
        return v == null || v.isEmpty() ? null : median(v);
    }

    /** Rows by Service count, then path; {@code baseline} names the routed baseline. */
    List<Row> rows(String baseline) {
        List<Row> out = new ArrayList<>();
        for (int n : counts) {
            List<Double> base = samples.getOrDefault(key(baseline, n), Map.of()).getOrDefault(CONN_PER_SEC, List.of());
            for (String p : paths) {
                var s = samples.get(key(p, n));
                if (s == null) continue;
                // per round: this path's rate over the baseline's of the same round, then the median
                List<Double> own = s.getOrDefault(CONN_PER_SEC, List.of()), ratios = new ArrayList<>();
                for (int i = 0; i < Math.min(own.size(), base.size()); i++) ratios.add(own.get(i) / base.get(i));
                Map<String, List<Double>> copy = new LinkedHashMap<>();
                s.forEach((k, v) -> copy.put(k, List.copyOf(v)));
                out.add(new Row(p, n, med(p, n, FULL_SYNC_MS), med(p, n, ONE_CHANGE_MS), med(p, n, CONN_PER_SEC), med(p, n, RR_P50_US),
                        med(p, n, RR_P99_US), ratios.isEmpty() ? 0 : median(ratios), copy));
            }
        }
        return out;
    }

    List<Integer> counts() { return List.copyOf(counts); }

    List<String> paths() { return List.copyOf(paths); }
}
