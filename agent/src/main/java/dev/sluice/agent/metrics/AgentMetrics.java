package dev.sluice.agent.metrics;

import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's own metrics (prometheus.port, :9962), under Cilium's names where Cilium has the same
 * metric and {@code sluice_} otherwise (docs/observability.md, "Metrics"). Everything read from the
 * kernel or the agent's state is read by a callback when Prometheus scrapes, so an agent nobody
 * scrapes spends nothing on them; only the two durations are recorded as they happen.
 */
public final class AgentMetrics {
    private static final Logger log = LoggerFactory.getLogger(AgentMetrics.class);
    /** Seconds: from a tenth of a millisecond (one pod) to ten seconds (a whole cluster's first snapshot). */
    static final double[] BUCKETS = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

    /** What the agent's state and the data path hold, read at scrape time. Each may throw when the data path is gone. */
    public interface Source {
        int endpoints();

        /** Identities by Cilium's type: reserved, cluster_local (pods), cidr. */
        Map<String, Integer> identities();

        /** Map name to {entries, max entries}. */
        Map<String, long[]> maps();

        /** The data path's per-reason counters (sl_metrics), summed over CPUs and endpoints. */
        List<Counted> counters();

        long eventsLost();
    }

    /** Packets and bytes of one reason code and direction ("INGRESS", "EGRESS", "UNKNOWN"); {@code reason} 0 is forwarded. */
    public record Counted(int reason, String reasonText, String direction, long packets, long bytes) {}

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Histogram programming, policyCompute;

    public AgentMetrics(Source source) {
        // several metrics come from one read (map use: pressure, entries, conntrack; sl_metrics: four counters):
        // read once per scrape, not once per metric
        Source s = new Memo(source, MEMO_NANOS);
        programming = (Histogram) Histogram.builder().name("sluice_programming_duration_seconds")
                .help("Time from a cluster state snapshot to every map written, by the kind of object that changed (mixed: several kinds)")
                .labelNames("kind").classicOnly().classicUpperBounds(BUCKETS).withoutExemplars().build();
        policyCompute = (Histogram) Histogram.builder().name("sluice_policy_compute_duration_seconds")
                .help("Time the policy engine took to compute the policy of a snapshot's changes")
                .classicOnly().classicUpperBounds(BUCKETS).withoutExemplars().build();
        registry.register(programming);
        registry.register(policyCompute);
        gauge("cilium_endpoint", "Number of endpoints managed by this agent", List.of(), cb -> cb.call(s.endpoints()));
        gauge("cilium_identity", "Number of identities currently allocated", List.of("type"),
                cb -> s.identities().forEach((t, n) -> cb.call(n, t)));
        gauge("cilium_bpf_map_pressure", "Fill of a BPF map: entries / max entries (1: full)", List.of("map_name"),
                cb -> s.maps().forEach((m, use) -> cb.call(use[1] == 0 ? 0 : (double) use[0] / use[1], m)));
        gauge("sluice_bpf_map_entries", "Entries in a BPF map", List.of("map_name"), cb -> s.maps().forEach((m, use) -> cb.call(use[0], m)));
        gauge("sluice_conntrack_entries", "Conntrack entries, by table (tcp, any)", List.of("table"), cb -> {
            Map<String, long[]> maps = s.maps();
            for (String t : List.of("tcp", "any")) {
                long[] use = maps.get("sl_ct_" + t);
                if (use != null) cb.call(use[0], t);
            }
        });
        counter("cilium_drop_count", "Total dropped packets, by reason and direction", List.of("reason", "direction"), cb -> {
            for (Counted c : s.counters()) if (dropped(c)) cb.call(c.packets(), c.reasonText(), c.direction());
        });
        counter("cilium_drop_bytes", "Total dropped bytes, by reason and direction", List.of("reason", "direction"), cb -> {
            for (Counted c : s.counters()) if (dropped(c)) cb.call(c.bytes(), c.reasonText(), c.direction());
        });
        counter("cilium_forward_count", "Total forwarded packets (audited ones included), by direction", List.of("direction"),
                cb -> forwarded(s.counters()).forEach((d, v) -> cb.call(v[0], d)));
        counter("cilium_forward_bytes", "Total forwarded bytes (audited ones included), by direction", List.of("direction"),
                cb -> forwarded(s.counters()).forEach((d, v) -> cb.call(v[1], d)));
        counter("sluice_events_lost", "Flow events the data path's ring buffer had no room for (sl_events_lost)", List.of(),
                cb -> cb.call(s.eventsLost()));
    }

    public PrometheusRegistry registry() { return registry; }

    /** How long one read of the maps serves: within one scrape, shorter than any scrape interval. */
    static final long MEMO_NANOS = 500_000_000L;

    /** The source's map reads, kept for {@code ttl}: a scrape reads the kernel once, not once per metric. */
    static final class Memo implements Source {
        private final Source s;
        private final long ttl;
        private Map<String, long[]> maps;
        private List<Counted> counters;
        private long mapsAt, countersAt;

        Memo(Source s, long ttl) {
            this.s = s;
            this.ttl = ttl;
        }

        public int endpoints() { return s.endpoints(); }

        public Map<String, Integer> identities() { return s.identities(); }

        public synchronized Map<String, long[]> maps() {
            long now = System.nanoTime();
            if (maps == null || now - mapsAt > ttl) {
                maps = s.maps();
                mapsAt = now;
            }
            return maps;
        }

        public synchronized List<Counted> counters() {
            long now = System.nanoTime();
            if (counters == null || now - countersAt > ttl) {
                counters = s.counters();
                countersAt = now;
            }
            return counters;
        }

        public long eventsLost() { return s.eventsLost(); }
    }

    /** A snapshot was programmed in {@code nanos}; {@code kind}: the kind of object that changed, "mixed" or "none". */
    public void programmed(String kind, long nanos) { programming.labelValues(kind).observe(nanos / 1e9); }

    public void policyComputed(long nanos) { policyCompute.observe(nanos / 1e9); }

    /** The label of a change: its one kind, "mixed" when several, "none" when nothing changed (a forced reprogramming). */
    public static String kindOf(java.util.Collection<String> kinds) {
        var distinct = new java.util.TreeSet<>(kinds);
        return distinct.isEmpty() ? "none" : distinct.size() == 1 ? distinct.first() : "mixed";
    }

    static final int AUDIT = dev.sluice.datapath.DropReason.AUDIT.code;

    private static boolean dropped(Counted c) { return c.reason() != 0 && c.reason() != AUDIT; }

    private static Map<String, long[]> forwarded(List<Counted> counters) {
        Map<String, long[]> out = new java.util.TreeMap<>();
        for (Counted c : counters) {
            if (dropped(c)) continue;
            long[] v = out.computeIfAbsent(c.direction(), d -> new long[2]);
            v[0] += c.packets();
            v[1] += c.bytes();
        }
        return out;
    }

    private void gauge(String name, String help, List<String> labels, Consumer<GaugeWithCallback.Callback> read) {
        GaugeWithCallback.builder().name(name).help(help).labelNames(labels.toArray(String[]::new)).callback(cb -> safely(name, () -> read.accept(cb)))
                .register(registry);
    }

    private void counter(String name, String help, List<String> labels, Consumer<CounterWithCallback.Callback> read) {
        CounterWithCallback.builder().name(name).help(help).labelNames(labels.toArray(String[]::new)).callback(cb -> safely(name, () -> read.accept(cb)))
                .register(registry);
    }

    /** A value that cannot be read now (the data path closing) is left out of this scrape, not an error page. */
    private static void safely(String name, Runnable r) {
        try {
            r.run();
        } catch (RuntimeException e) {
            log.debug("metric {} not read: {}", name, e.toString());
        }
    }
}
