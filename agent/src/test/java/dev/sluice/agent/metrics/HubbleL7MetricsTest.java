package dev.sluice.agent.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.agent.flow.Enricher;
import dev.sluice.agent.flow.Flow;
import dev.sluice.agent.flow.FlowObserver;
import dev.sluice.agent.flow.L7Observation;
import dev.sluice.agent.flow.L7Observation.Type;
import dev.sluice.agent.flow.L7Observation.Verdict;
import dev.sluice.agent.flow.PolicySource;
import dev.sluice.config.HubbleMetric;
import dev.sluice.k8s.ManifestException;
import dev.sluice.net.Ip;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

/** Hubble's http, httpV2 and dns metrics (and the L3/L4 ones' handling of L7 flows) from the proxies' observations, names and labels exact. */
class HubbleL7MetricsTest {
    static final Instant T0 = Instant.parse("2026-12-03T08:00:00Z");
    static final String FRONTEND = "10.0.0.5", BACKEND = "10.0.1.6", DNS = "10.96.0.10";

    /** Made once, as the agent makes a pod's info once per pod change. */
    static final Optional<Enricher.PodInfo> FRONTEND_POD = Optional.of(Enricher.PodInfo.of("x", "frontend", Map.of("app", "frontend"), 300, List.of())),
            BACKEND_POD = Optional.of(Enricher.PodInfo.of("x", "backend", Map.of("app", "backend"), 301, List.of()));
    static final int FRONTEND_IP = Ip.parse(FRONTEND), BACKEND_IP = Ip.parse(BACKEND);

    static final Enricher ENRICHER = new Enricher("node1", new Enricher.Cluster() {
        public Optional<Enricher.PodInfo> podByIp(int ip) {
            return ip == FRONTEND_IP ? FRONTEND_POD : ip == BACKEND_IP ? BACKEND_POD : Optional.empty();
        }
        public Optional<String> endpointPod(int id) { return Optional.empty(); }
        public Optional<String> serviceOf(int revNatId) { return Optional.empty(); }
    }, PolicySource.NONE, k -> T0);

    static Flow http(Type type, boolean ingress, Verdict v, String method, int code, long latency) {
        return ENRICHER.enrich(new L7Observation.Http(T0, ingress, type, FRONTEND, 40000, 300, BACKEND, 80, 301, v, "HTTP/1.1", method,
                "http://backend/api/v1/data", code, latency, List.of(), ""));
    }

    static Flow dns(Type type, Verdict v, String query, List<String> qtypes, List<String> ips, int rcode, List<String> rrtypes) {
        return ENRICHER.enrich(new L7Observation.Dns(T0, false, type, FRONTEND, 51000, 300, DNS, 53, 0, v, query, qtypes, ips, 30, List.of(), rcode,
                rrtypes, 1_000_000, ""));
    }

    static final Flow GET = http(Type.REQUEST, false, Verdict.FORWARDED, "GET", 0, 0);
    static final Flow OK = http(Type.RESPONSE, false, Verdict.FORWARDED, "GET", 200, 3_000_000);   // 3 ms
    static final Flow POST = http(Type.REQUEST, true, Verdict.DENIED, "POST", 0, 0);
    static final Flow FORBIDDEN = http(Type.RESPONSE, true, Verdict.FORWARDED, "POST", 403, 200_000_000);   // 0.2 s
    static final Flow QUERY = dns(Type.REQUEST, Verdict.FORWARDED, "backend.x.svc.cluster.local.", List.of("A"), List.of(), 0, List.of());
    static final Flow ANSWER = dns(Type.RESPONSE, Verdict.FORWARDED, "backend.x.svc.cluster.local.", List.of("A"), List.of("10.96.0.20"), 0,
            List.of("A"));
    static final Flow DENIED_QUERY = dns(Type.REQUEST, Verdict.DENIED, "evil.example.com.", List.of("A"), List.of(), 0, List.of());
    static final Flow REFUSED = dns(Type.RESPONSE, Verdict.FORWARDED, "evil.example.com.", List.of("A"), List.of(), 5, List.of());
    static final Flow AAAA = dns(Type.REQUEST, Verdict.FORWARDED, "backend.x.svc.cluster.local.", List.of("AAAA"), List.of(), 0, List.of());
    static final Flow CNAME = dns(Type.RESPONSE, Verdict.FORWARDED, "www.example.com.", List.of("A"), List.of("192.0.2.1", "192.0.2.2"), 0,
            List.of("CNAME", "A", "A"));
    static final List<Flow> ALL = List.of(GET, OK, POST, FORBIDDEN, QUERY, ANSWER, DENIED_QUERY, REFUSED, AAAA, CNAME);

    static HubbleMetrics fed(String... entries) {
        HubbleMetrics m = HubbleMetricsTest.metrics(entries);
        for (Flow f : ALL) m.accept(f, 0);
        return m;
    }

    @Test
    void httpCountsRequestsResponsesAndDurationsByMethodProtocolStatusAndReporter() {
        HubbleMetrics m = fed("http");
        assertThat(HubbleMetricsTest.samples(m, "hubble_http_requests_total")).isEqualTo("""
                hubble_http_requests_total{method="GET",protocol="HTTP/1.1",reporter="client"} 1.0
                hubble_http_requests_total{method="POST",protocol="HTTP/1.1",reporter="server"} 1.0""");
        assertThat(HubbleMetricsTest.samples(m, "hubble_http_responses_total")).isEqualTo("""
                hubble_http_responses_total{method="GET",protocol="HTTP/1.1",reporter="client",status="200"} 1.0
                hubble_http_responses_total{method="POST",protocol="HTTP/1.1",reporter="server",status="403"} 1.0""");
        String text = HubbleMetricsTest.text(m.registry());
        // Prometheus' default buckets, as Hubble's histogram: 3 ms falls in le=0.005, 0.2 s in le=0.25
        assertThat(text).contains("hubble_http_request_duration_seconds_bucket{method=\"GET\",reporter=\"client\",le=\"0.005\"} 1")
                .contains("hubble_http_request_duration_seconds_bucket{method=\"POST\",reporter=\"server\",le=\"0.1\"} 0")
                .contains("hubble_http_request_duration_seconds_bucket{method=\"POST\",reporter=\"server\",le=\"0.25\"} 1")
                .contains("hubble_http_request_duration_seconds_bucket{method=\"POST\",reporter=\"server\",le=\"10.0\"} 1")
                .contains("hubble_http_request_duration_seconds_count{method=\"GET\",reporter=\"client\"} 1")
                .contains("hubble_http_request_duration_seconds_sum{method=\"GET\",reporter=\"client\"} 0.003");
        List<String> les = text.lines().filter(l -> l.startsWith("hubble_http_request_duration_seconds_bucket{method=\"GET\""))
                .map(l -> l.replaceAll(".*le=\"([^\"]+)\".*", "$1")).toList();
        assertThat(les).containsExactly("0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "10.0", "+Inf");
        assertThat(text).doesNotContain("hubble_dns_");
    }

    @Test
    void httpV2CountsEachResponsesRequestWithTheClientAsSource() {
        HubbleMetrics m = fed("httpV2:sourceContext=pod;destinationContext=pod");
        assertThat(HubbleMetricsTest.samples(m, "hubble_http_requests_total")).isEqualTo("""
                hubble_http_requests_total{destination="x/backend",method="GET",protocol="HTTP/1.1",reporter="client",source="x/frontend",status="200"} 1.0
                hubble_http_requests_total{destination="x/backend",method="POST",protocol="HTTP/1.1",reporter="server",source="x/frontend",status="403"} 1.0""");
        assertThat(HubbleMetricsTest.text(m.registry())).doesNotContain("hubble_http_responses_total")
                .contains("hubble_http_request_duration_seconds_count{destination=\"x/backend\",method=\"GET\",reporter=\"client\",source=\"x/frontend\"} 1");
    }

    @Test
    void httpWithAContextLabelsTheResponseByItsOwnEnds() {
        HubbleMetrics m = fed("http:sourceContext=pod");
        assertThat(HubbleMetricsTest.samples(m, "hubble_http_responses_total")).isEqualTo("""
                hubble_http_responses_total{method="GET",protocol="HTTP/1.1",reporter="client",source="x/backend",status="200"} 1.0
                hubble_http_responses_total{method="POST",protocol="HTTP/1.1",reporter="server",source="x/backend",status="403"} 1.0""");
    }

    @Test
    void dnsCountsQueriesResponsesAndAnswerTypes() {
        HubbleMetrics m = fed("dns");
        assertThat(HubbleMetricsTest.samples(m, "hubble_dns_queries_total")).isEqualTo("""
                hubble_dns_queries_total{ips_returned="0",qtypes="A",rcode=""} 1.0
                hubble_dns_queries_total{ips_returned="0",qtypes="A",rcode="Policy denied"} 1.0
                hubble_dns_queries_total{ips_returned="0",qtypes="AAAA",rcode=""} 1.0""");
        assertThat(HubbleMetricsTest.samples(m, "hubble_dns_responses_total")).isEqualTo("""
                hubble_dns_responses_total{ips_returned="0",qtypes="A",rcode="Query Refused"} 1.0
                hubble_dns_responses_total{ips_returned="1",qtypes="A",rcode="No Error"} 1.0
                hubble_dns_responses_total{ips_returned="2",qtypes="A",rcode="No Error"} 1.0""");
        assertThat(HubbleMetricsTest.samples(m, "hubble_dns_response_types_total")).isEqualTo("""
                hubble_dns_response_types_total{qtypes="A",type="A"} 3.0
                hubble_dns_response_types_total{qtypes="A",type="CNAME"} 1.0""");
        assertThat(HubbleMetricsTest.text(m.registry())).doesNotContain("hubble_http_");
    }

    @Test
    void dnsOptionsQueryAndIgnoreAAAA() {
        HubbleMetrics m = fed("dns:query;ignoreAAAA");
        assertThat(HubbleMetricsTest.samples(m, "hubble_dns_queries_total")).isEqualTo("""
                hubble_dns_queries_total{ips_returned="0",qtypes="A",query="backend.x.svc.cluster.local.",rcode=""} 1.0
                hubble_dns_queries_total{ips_returned="0",qtypes="A",query="evil.example.com.",rcode="Policy denied"} 1.0""");
        assertThat(HubbleMetricsTest.samples(m, "hubble_dns_response_types_total")).contains(
                "hubble_dns_response_types_total{qtypes=\"A\",query=\"www.example.com.\",type=\"CNAME\"} 1.0");
    }

    @Test
    void theL3L4MetricsSeeL7FlowsAsHubbles() {
        HubbleMetrics m = fed("flow", "drop", "policy", "port-distribution", "tcp", "flows-to-world");
        assertThat(HubbleMetricsTest.samples(m, "hubble_flows_processed_total")).isEqualTo("""
                hubble_flows_processed_total{protocol="DNS",subtype="DNS",type="L7",verdict="DROPPED"} 1.0
                hubble_flows_processed_total{protocol="DNS",subtype="DNS",type="L7",verdict="FORWARDED"} 5.0
                hubble_flows_processed_total{protocol="HTTP",subtype="HTTP",type="L7",verdict="DROPPED"} 1.0
                hubble_flows_processed_total{protocol="HTTP",subtype="HTTP",type="L7",verdict="FORWARDED"} 3.0""");
        assertThat(HubbleMetricsTest.samples(m, "hubble_drop_total")).isEqualTo("""
                hubble_drop_total{protocol="DNS",reason="DROP_REASON_UNKNOWN"} 1.0
                hubble_drop_total{protocol="HTTP",reason="DROP_REASON_UNKNOWN"} 1.0""");
        assertThat(HubbleMetricsTest.samples(m, "hubble_policy_verdicts_total")).isEqualTo("""
                hubble_policy_verdicts_total{action="dropped",direction="egress",match="l7/dns"} 1.0
                hubble_policy_verdicts_total{action="dropped",direction="ingress",match="l7/http"} 1.0
                hubble_policy_verdicts_total{action="forwarded",direction="egress",match="l7/dns"} 5.0
                hubble_policy_verdicts_total{action="forwarded",direction="egress",match="l7/http"} 2.0
                hubble_policy_verdicts_total{action="forwarded",direction="ingress",match="l7/http"} 1.0""");
        // a request on a connection the data path counted already: not counted again by port or flag
        assertThat(HubbleMetricsTest.samples(m, "hubble_port_distribution_total")).isEmpty();
        assertThat(HubbleMetricsTest.samples(m, "hubble_tcp_flags_total")).isEmpty();
        assertThat(HubbleMetricsTest.samples(m, "hubble_flows_to_world_total")).isEmpty();
    }

    @Test
    void httpAndHttpV2TogetherAreRefusedAndKafkaCountsNothing() {
        assertThatThrownBy(() -> HubbleMetric.parseAll("values.yaml", "hubble.metrics.enabled", List.of("http", "dns", "httpV2:exemplars=true")))
                .isInstanceOf(ManifestException.class).hasMessageContaining("\"httpV2:exemplars=true\" (expected: http or httpV2, not both");
        HubbleMetrics m = fed("kafka");
        assertThat(HubbleMetricsTest.text(m.registry())).doesNotContain("hubble_kafka").doesNotContain("hubble_http");
    }

    /**
     * A hostile pod sending a new method or query type with each request cannot fill the metrics'
     * label sets: what is not a standard method or a common type is OTHER, and the real traffic is still counted.
     */
    @Test
    void randomMethodsAndQueryTypesDoNotFillTheLabelSets() {
        HubbleMetrics m = HubbleMetricsTest.metrics("http", "dns");
        for (int i = 0; i < 10_000; i++) {
            m.accept(http(Type.REQUEST, false, Verdict.FORWARDED, "X" + i, 0, 0), 0);
            m.accept(dns(Type.REQUEST, Verdict.FORWARDED, "q.", List.of("TYPE" + (1000 + i)), List.of(), 0, List.of()), 0);
        }
        m.accept(GET, 0);
        m.accept(QUERY, 0);
        assertThat(HubbleMetricsTest.samples(m, "hubble_http_requests_total")).isEqualTo("""
                hubble_http_requests_total{method="GET",protocol="HTTP/1.1",reporter="client"} 1.0
                hubble_http_requests_total{method="OTHER",protocol="HTTP/1.1",reporter="client"} 10000.0""");
        assertThat(HubbleMetricsTest.samples(m, "hubble_dns_queries_total")).isEqualTo("""
                hubble_dns_queries_total{ips_returned="0",qtypes="A",rcode=""} 1.0
                hubble_dns_queries_total{ips_returned="0",qtypes="OTHER",rcode=""} 10000.0""");
        assertThat(HubbleMetricsTest.text(m.registry())).doesNotContain("sluice_hubble_metrics_series_overflow_total{");
    }

    /** The metrics server a Prometheus scrapes: hubble.metrics.port's registry, over HTTP. */
    @Test
    void scrapedOverHttpFromTheMetricsServer() throws Exception {
        HubbleMetrics m = HubbleMetricsTest.metrics("http", "dns");
        FlowObserver o = new FlowObserver(ENRICHER, 1023, () -> 0);
        o.listen((e, f) -> m.accept(f, e == null ? 0 : e.policyPrefixLength()));   // as Agent wires it
        o.l7Sink().observe(new L7Observation.Http(T0, false, Type.REQUEST, FRONTEND, 40000, 300, BACKEND, 80, 301, Verdict.FORWARDED, "HTTP/2",
                "GET", "http://backend/", 0, 0, List.of(), ""));
        o.l7Sink().observe(new L7Observation.Http(T0, false, Type.RESPONSE, FRONTEND, 40000, 300, BACKEND, 80, 301, Verdict.FORWARDED, "HTTP/2",
                "GET", "http://backend/", 204, 7_000_000, List.of(), ""));
        o.l7Sink().observe(new L7Observation.Dns(T0, false, Type.RESPONSE, FRONTEND, 51000, 300, DNS, 53, 0, Verdict.FORWARDED, "a.example.",
                List.of("A"), List.of(), 0, List.of(), 3, List.of(), 0, ""));
        try (var s = MetricsServer.start("hubble.metrics.port", "127.0.0.1", 0, m.registry());
             var client = HttpClient.newHttpClient()) {
            var r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).contains("# TYPE hubble_http_requests_total counter")
                    .contains("hubble_http_requests_total{method=\"GET\",protocol=\"HTTP/2\",reporter=\"client\"} 1.0")
                    .contains("hubble_http_responses_total{method=\"GET\",protocol=\"HTTP/2\",reporter=\"client\",status=\"204\"} 1.0")
                    .contains("# TYPE hubble_http_request_duration_seconds histogram")
                    .contains("hubble_http_request_duration_seconds_bucket{method=\"GET\",reporter=\"client\",le=\"0.01\"} 1")
                    .contains("hubble_dns_responses_total{ips_returned=\"0\",qtypes=\"A\",rcode=\"Non-Existent Domain\"} 1.0");
        }
    }

    /** Random mixes of observations from several proxy threads: the counters sum to what was fed. */
    @RepeatedTest(3)
    void countersSumToTheObservationsFedFromManyThreads() throws Exception {
        long seed = new SplittableRandom().nextLong();
        System.out.println("HubbleL7MetricsTest seed " + seed);
        var r = new SplittableRandom(seed);
        HubbleMetrics m = HubbleMetricsTest.metrics("http", "dns");
        FlowObserver o = new FlowObserver(ENRICHER, 1023, () -> 0);
        o.listen((e, f) -> m.accept(f, 0));
        int threads = 2 + r.nextInt(4), each = 100 + r.nextInt(400);
        long[] seeds = r.longs(threads).toArray();
        int[] requests = new int[threads], responses = new int[threads], queries = new int[threads];
        List<Thread> ts = new java.util.ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int k = t;
            ts.add(Thread.ofPlatform().start(() -> {
                var rr = new SplittableRandom(seeds[k]);
                for (int i = 0; i < each; i++) {
                    switch (rr.nextInt(3)) {
                        case 0 -> {
                            o.l7Sink().observe(new L7Observation.Http(T0, rr.nextBoolean(), Type.REQUEST, FRONTEND, 1, 300, BACKEND, 80, 301,
                                    Verdict.FORWARDED, "HTTP/1.1", rr.nextBoolean() ? "GET" : "PUT", "http://b/", 0, 0, List.of(), ""));
                            requests[k]++;
                        }
                        case 1 -> {
                            o.l7Sink().observe(new L7Observation.Http(T0, rr.nextBoolean(), Type.RESPONSE, FRONTEND, 1, 300, BACKEND, 80, 301,
                                    Verdict.FORWARDED, "HTTP/1.1", "GET", "http://b/", 200 + rr.nextInt(300), rr.nextLong(1_000_000_000), List.of(), ""));
                            responses[k]++;
                        }
                        default -> {
                            o.l7Sink().observe(new L7Observation.Dns(T0, false, Type.REQUEST, FRONTEND, 1, 300, DNS, 53, 0, Verdict.FORWARDED,
                                    "q" + rr.nextInt(5) + ".", List.of("A"), List.of(), 0, List.of(), 0, List.of(), 0, ""));
                            queries[k]++;
                        }
                    }
                }
            }));
        }
        for (Thread t : ts) t.join();
        assertThat(sum(m, "hubble_http_requests_total")).as("seed %d", seed).isEqualTo(java.util.Arrays.stream(requests).sum());
        assertThat(sum(m, "hubble_http_responses_total")).as("seed %d", seed).isEqualTo(java.util.Arrays.stream(responses).sum());
        assertThat(sum(m, "hubble_http_request_duration_seconds_count")).as("seed %d", seed).isEqualTo(java.util.Arrays.stream(responses).sum());
        assertThat(sum(m, "hubble_dns_queries_total")).as("seed %d", seed).isEqualTo(java.util.Arrays.stream(queries).sum());
    }

    static long sum(HubbleMetrics m, String name) {
        return Math.round(HubbleMetricsTest.text(m.registry()).lines().filter(l -> l.startsWith(name + "{"))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum());
    }
}
