package dev.sluice.agent.metrics;

import dev.sluice.agent.flow.Flow;
import dev.sluice.config.HubbleMetric;
import java.util.List;

/**
 * What counting costs the flow reader per flow (a benchmark, not a test): every hubble metric,
 * without and with pod contexts, over the crafted flows of {@link HubbleMetricsTest}; the second
 * of two passes of 3,000,000 flows is timed. Run with the agent's JVM flags (docs/benchmarks.md).
 */
public final class HubbleMetricsBench {
    private HubbleMetricsBench() {}

    public static void main(String[] args) {
        var configs = List.of(List.of("flow", "drop", "tcp", "port-distribution", "icmp", "policy", "flows-to-world"),
                List.of("flow:sourceContext=pod;destinationContext=pod", "drop:sourceContext=namespace;labelsContext=source_pod,destination_pod",
                        "tcp", "port-distribution", "icmp", "policy", "flows-to-world"));
        int n = 3_000_000;
        for (List<String> cfg : configs) {
            HubbleMetrics m = new HubbleMetrics(HubbleMetric.parseAll("bench", "hubble.metrics.enabled", cfg), () -> 0);
            List<Flow> flows = HubbleMetricsTest.ALL;
            long t = 0;
            for (int pass = 0; pass < 2; pass++) {
                long t0 = System.nanoTime();
                for (int i = 0; i < n; i++) m.accept(flows.get(i % flows.size()), 0);
                t = System.nanoTime() - t0;
            }
            System.out.printf("hubble-metrics-bench: %s: %.0f ns per flow%n", cfg, (double) t / n);
        }
    }
}
