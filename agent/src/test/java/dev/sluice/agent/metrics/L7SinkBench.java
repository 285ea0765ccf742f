package dev.sluice.agent.metrics;

import dev.sluice.agent.flow.FlowObserver;
import dev.sluice.agent.flow.L7Observation;
import dev.sluice.config.HubbleMetric;
import java.util.ArrayList;
import java.util.List;

/**
 * What the L7 sink costs a proxy thread per observation (a benchmark, not a test): enrichment into
 * an L7 flow, the ring, and the hubble metrics (none, then http, dns, flow, drop, policy), over
 * the observations of {@link HubbleL7MetricsTest}'s kinds; one thread, then two threads at once
 * (the host's two cores). The second of two passes of 1,000,000 observations per thread is timed.
 * Run with the agent's JVM flags (docs/benchmarks.md).
 */
public final class L7SinkBench {
    private L7SinkBench() {}

    public static void main(String[] args) throws Exception {
        var t = HubbleL7MetricsTest.T0;
        List<L7Observation> obs = List.of(
                new L7Observation.Http(t, false, L7Observation.Type.REQUEST, "10.0.0.5", 40000, 300, "10.0.1.6", 80, 301,
                        L7Observation.Verdict.FORWARDED, "HTTP/1.1", "GET", "http://backend/api/v1/data", 0, 0,
                        List.of(new L7Observation.Header("User-Agent", "wrk"), new L7Observation.Header("Accept", "*/*")), ""),
                new L7Observation.Http(t, false, L7Observation.Type.RESPONSE, "10.0.0.5", 40000, 300, "10.0.1.6", 80, 301,
                        L7Observation.Verdict.FORWARDED, "HTTP/1.1", "GET", "http://backend/api/v1/data", 200, 800_000, List.of(), ""),
                new L7Observation.Dns(t, false, L7Observation.Type.REQUEST, "10.0.0.5", 51000, 300, "10.96.0.10", 53, 0,
                        L7Observation.Verdict.FORWARDED, "backend.x.svc.cluster.local.", List.of("A"), List.of(), 0, List.of(), 0, List.of(), 0, ""),
                new L7Observation.Dns(t, false, L7Observation.Type.RESPONSE, "10.0.0.5", 51000, 300, "10.96.0.10", 53, 0,
                        L7Observation.Verdict.FORWARDED, "backend.x.svc.cluster.local.", List.of("A"), List.of("10.96.0.20"), 30, List.of(), 0,
                        List.of("A"), 400_000, ""));
        int n = 1_000_000;
        for (List<String> cfg : List.of(List.<String>of(), List.of("http", "dns", "flow", "drop", "policy"))) {
            for (int threads : new int[] {1, 2}) {
                HubbleMetrics m = new HubbleMetrics(HubbleMetric.parseAll("bench", "hubble.metrics.enabled", cfg), () -> 0);
                FlowObserver o = new FlowObserver(HubbleL7MetricsTest.ENRICHER, 4095, () -> 0);
                if (!cfg.isEmpty()) o.listen((e, f) -> m.accept(f, 0));
                var sink = o.l7Sink();
                long elapsed = 0;
                var cpu = new java.util.concurrent.atomic.AtomicLong();
                for (int pass = 0; pass < 2; pass++) {
                    List<Thread> ts = new ArrayList<>();
                    cpu.set(0);
                    long t0 = System.nanoTime();
                    for (int k = 0; k < threads; k++)
                        ts.add(Thread.ofPlatform().start(() -> {
                            var mx = java.lang.management.ManagementFactory.getThreadMXBean();
                            long c0 = mx.getCurrentThreadCpuTime();
                            for (int i = 0; i < n; i++) sink.observe(obs.get(i & 3));
                            cpu.addAndGet(mx.getCurrentThreadCpuTime() - c0);
                        }));
                    for (Thread th : ts) th.join();
                    elapsed = System.nanoTime() - t0;
                }
                // CPU time: what a proxy thread spends, whatever else the host runs; wall time: what it got here
                System.out.printf("l7-sink-bench: metrics %s, %d thread(s): %.2f µs CPU per observation, %.0f observations/s in all (wall)%n",
                        cfg, threads, cpu.get() / 1e3 / ((double) n * threads), (double) n * threads / (elapsed / 1e9));
            }
        }
    }
}
