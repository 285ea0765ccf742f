package dev.sluice.agent.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The agent's metrics against a made-up agent: names, labels, values, and reads that happen only when scraped. */
class AgentMetricsTest {
    final AtomicInteger reads = new AtomicInteger(), mapReads = new AtomicInteger();

    final AgentMetrics.Source source = new AgentMetrics.Source() {
        public int endpoints() { reads.incrementAndGet(); return 3; }

        public Map<String, Integer> identities() { return Map.of("reserved", 8, "cluster_local", 4); }

        public Map<String, long[]> maps() {
            reads.incrementAndGet();
            mapReads.incrementAndGet();
            return new java.util.TreeMap<>(Map.of("sl_ipcache", new long[] {256, 512}, "sl_ct_tcp", new long[] {12, 524288},
                    "sl_ct_any", new long[] {0, 262144}));
        }

        public List<AgentMetrics.Counted> counters() {
            return List.of(new AgentMetrics.Counted(140, "Policy denied", "INGRESS", 5, 370), new AgentMetrics.Counted(141, "Policy denied by deny rule", "INGRESS", 2, 148),
                    new AgentMetrics.Counted(0, "Forwarded", "EGRESS", 100, 9000), new AgentMetrics.Counted(145, "Policy audit", "INGRESS", 1, 74),
                    new AgentMetrics.Counted(0, "Forwarded", "INGRESS", 50, 4000));
        }

        public long eventsLost() { return 7; }
    };

    static String samples(AgentMetrics m, String name) {
        return HubbleMetricsTest.text(m.registry()).lines().filter(l -> l.startsWith(name + "{") || l.startsWith(name + " ")).sorted()
                .collect(Collectors.joining("\n"));
    }

    @Test
    void stateAndDataPathCountersUnderCiliumsNames() {
        var m = new AgentMetrics(source);
        assertThat(samples(m, "cilium_endpoint")).isEqualTo("cilium_endpoint 3.0");
        assertThat(samples(m, "cilium_identity")).isEqualTo("""
                cilium_identity{type="cluster_local"} 4.0
                cilium_identity{type="reserved"} 8.0""");
        assertThat(samples(m, "cilium_bpf_map_pressure")).isEqualTo("""
                cilium_bpf_map_pressure{map_name="sl_ct_any"} 0.0
                cilium_bpf_map_pressure{map_name="sl_ct_tcp"} 2.288818359375E-5
                cilium_bpf_map_pressure{map_name="sl_ipcache"} 0.5""");
        assertThat(samples(m, "sluice_conntrack_entries")).isEqualTo("""
                sluice_conntrack_entries{table="any"} 0.0
                sluice_conntrack_entries{table="tcp"} 12.0""");
        assertThat(samples(m, "cilium_drop_count_total")).isEqualTo("""
                cilium_drop_count_total{direction="INGRESS",reason="Policy denied by deny rule"} 2.0
                cilium_drop_count_total{direction="INGRESS",reason="Policy denied"} 5.0""");
        assertThat(samples(m, "cilium_drop_bytes_total")).contains("cilium_drop_bytes_total{direction=\"INGRESS\",reason=\"Policy denied\"} 370.0");
        assertThat(samples(m, "cilium_forward_count_total")).isEqualTo("""
                cilium_forward_count_total{direction="EGRESS"} 100.0
                cilium_forward_count_total{direction="INGRESS"} 51.0""");
        assertThat(samples(m, "sluice_events_lost_total")).isEqualTo("sluice_events_lost_total 7.0");
    }

    @Test
    void programmingAndPolicyTimesAreHistograms() {
        var m = new AgentMetrics(source);
        m.programmed(AgentMetrics.kindOf(List.of("Pod", "Pod")), 3_000_000);
        m.programmed(AgentMetrics.kindOf(List.of("Pod", "Service")), 20_000_000);
        m.programmed(AgentMetrics.kindOf(List.of()), 50_000);
        m.policyComputed(400_000);
        String text = HubbleMetricsTest.text(m.registry());
        assertThat(text).contains("sluice_programming_duration_seconds_count{kind=\"Pod\"} 1",
                "sluice_programming_duration_seconds_bucket{kind=\"Pod\",le=\"0.005\"} 1",
                "sluice_programming_duration_seconds_bucket{kind=\"Pod\",le=\"0.0025\"} 0",
                "sluice_programming_duration_seconds_count{kind=\"mixed\"} 1", "sluice_programming_duration_seconds_count{kind=\"none\"} 1",
                "sluice_policy_compute_duration_seconds_bucket{le=\"5.0E-4\"} 1", "sluice_policy_compute_duration_seconds_sum 4.0E-4");
    }

    @Test
    void nothingIsReadUntilScrapedAndAFailedReadLeavesOnlyThatMetricOut() {
        var m = new AgentMetrics(source);
        assertThat(reads).hasValue(0);
        HubbleMetricsTest.text(m.registry());
        assertThat(reads.get()).isPositive();
        assertThat(mapReads).as("one read of the maps serves the scrape's three metrics").hasValue(1);
        var broken = new AgentMetrics(new AgentMetrics.Source() {
            public int endpoints() { return 1; }
            public Map<String, Integer> identities() { return Map.of(); }
            public Map<String, long[]> maps() { throw new IllegalStateException("map closed"); }
            public List<AgentMetrics.Counted> counters() { return List.of(); }
            public long eventsLost() { return 0; }
        });
        assertThat(samples(broken, "cilium_endpoint")).isEqualTo("cilium_endpoint 1.0");
        assertThat(samples(broken, "cilium_bpf_map_pressure")).isEmpty();
    }

    @Test
    void servedOverHttpAndABusyPortIsNamed() throws Exception {
        var m = new AgentMetrics(source);
        try (var s = MetricsServer.start("prometheus.port", "127.0.0.1", 0, m.registry());
             var http = HttpClient.newHttpClient()) {
            var r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.headers().firstValue("content-type")).hasValueSatisfying(c -> assertThat(c).startsWith("text/plain; version=0.0.4"));
            assertThat(r.body()).contains("# TYPE cilium_bpf_map_pressure gauge", "cilium_endpoint 3.0");
            assertThatThrownBy(() -> MetricsServer.start("prometheus.port", "127.0.0.1", s.port(), m.registry()))
                    .hasMessageStartingWith("prometheus.port: " + s.port() + " cannot be bound: ").hasMessageEndingWith("(expected: a free port on the node)");
        }
    }
}
