package dev.sluice.agent.flow;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.net.Ip;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

/** The proxies' observations in, Hubble's L7 flows out: endpoints, verdicts, records, summaries, JSON, and what a hostile pod may put in them. */
class L7FlowTest {
    static final String FRONTEND = "10.0.0.5", BACKEND = "10.0.1.6", VIP = "10.96.0.20", DNS = "10.96.0.10", WORLD = "192.0.2.7";
    static final Instant T0 = Instant.parse("2026-12-03T08:00:00Z");

    static final Enricher.Cluster CLUSTER = new Enricher.Cluster() {
        public Optional<Enricher.PodInfo> podByIp(int ip) {
            if (ip == Ip.parse(FRONTEND)) return Optional.of(Enricher.PodInfo.of("x", "frontend", Map.of("app", "frontend"), 300, List.of()));
            if (ip == Ip.parse(BACKEND)) return Optional.of(Enricher.PodInfo.of("x", "backend", Map.of("app", "backend"), 301,
                    List.of(new Flow.Workload("backend", "Deployment"))));
            return Optional.empty();
        }
        public Optional<String> endpointPod(int id) { return Optional.empty(); }
        public Optional<String> serviceOf(int revNatId) { return Optional.empty(); }
        @Override public int localEndpoint(int ip) { return ip == Ip.parse(FRONTEND) ? 11 : ip == Ip.parse(BACKEND) ? 12 : 0; }
        @Override public Optional<String> serviceAt(int ip, int port) {
            return ip == Ip.parse(VIP) && port == 80 ? Optional.of("x/backend") : Optional.empty();
        }
    };

    final Enricher enricher = new Enricher("node1", CLUSTER, PolicySource.NONE, k -> T0);

    static L7Observation.Http http(L7Observation.Type type, boolean ingress, String dst, L7Observation.Verdict v, String method, String url,
                                   int code, long latency, List<L7Observation.Header> headers, String reason) {
        return new L7Observation.Http(T0, ingress, type, FRONTEND, 40000, 300, dst, 80, dst.equals(VIP) ? 0 : 301, v, "HTTP/1.1", method, url,
                code, latency, headers, reason);
    }

    static L7Observation.Dns dns(L7Observation.Type type, L7Observation.Verdict v, String query, List<String> ips, int ttl, int rcode, String reason) {
        return new L7Observation.Dns(T0, false, type, FRONTEND, 51000, 300, DNS, 53, 0, v, query, List.of("A"), ips, ttl, List.of(), rcode,
                ips.isEmpty() ? List.of() : List.of("A"), type == L7Observation.Type.RESPONSE ? 1_500_000 : 0, reason);
    }

    static final L7Observation.Http GET = http(L7Observation.Type.REQUEST, false, VIP, L7Observation.Verdict.FORWARDED, "GET",
            "http://backend/api/v1/data", 0, 0, List.of(new L7Observation.Header("User-Agent", "curl/8"), new L7Observation.Header("Accept", "*/*")), "");
    static final L7Observation.Http OK = http(L7Observation.Type.RESPONSE, false, VIP, L7Observation.Verdict.FORWARDED, "GET",
            "http://backend/api/v1/data", 200, 2_345_678, List.of(), "");
    static final L7Observation.Http POST_DENIED = http(L7Observation.Type.REQUEST, true, BACKEND, L7Observation.Verdict.DENIED, "POST",
            "http://backend/api/v1/data", 0, 0, List.of(), "no rule of x/backend allows it");
    static final L7Observation.Http FORBIDDEN = http(L7Observation.Type.RESPONSE, true, BACKEND, L7Observation.Verdict.FORWARDED, "POST",
            "http://backend/api/v1/data", 403, 120_000, List.of(), "");
    static final L7Observation.Dns QUERY = dns(L7Observation.Type.REQUEST, L7Observation.Verdict.FORWARDED, "backend.x.svc.cluster.local.",
            List.of(), 0, 0, "");
    static final L7Observation.Dns ANSWER = dns(L7Observation.Type.RESPONSE, L7Observation.Verdict.FORWARDED, "backend.x.svc.cluster.local.",
            List.of(VIP), 30, 0, "");
    static final L7Observation.Dns REFUSED_QUERY = dns(L7Observation.Type.REQUEST, L7Observation.Verdict.DENIED, "evil.example.com.", List.of(), 0, 0,
            "no rules.dns of x/frontend matches");
    static final L7Observation.Dns REFUSED = dns(L7Observation.Type.RESPONSE, L7Observation.Verdict.FORWARDED, "evil.example.com.", List.of(), 0, 5, "");

    @Test
    void anAllowedRequestIsAForwardedL7FlowFromTheClientWithItsRecordAndService() {
        Flow f = enricher.enrich(GET);
        assertThat(f.verdict()).isEqualTo(Flow.Verdict.FORWARDED);
        assertThat(f.eventType()).isEqualTo(new Flow.EventType(129, 0));
        assertThat(f.l7()).isEqualTo(new Flow.Layer7(Flow.L7Type.REQUEST, 0, new Flow.Http(0, "GET", "http://backend/api/v1/data", "HTTP/1.1",
                List.of(new Flow.HttpHeader("Accept", "*/*"), new Flow.HttpHeader("User-Agent", "curl/8")))));
        assertThat(f.source().pod()).isEqualTo("x/frontend");
        assertThat(f.source().id()).as("the local endpoint (egress: the client)").isEqualTo(11);
        assertThat(f.source().identity()).isEqualTo(300);
        assertThat(f.destination().identity()).as("the proxy's identity of the ClusterIP's end").isZero();
        assertThat(f.destinationService()).isEqualTo(new Flow.Service("backend", "x"));
        assertThat(f.ip()).isEqualTo(new Flow.Ip(FRONTEND, VIP, "IPv4"));
        assertThat(f.l4()).isEqualTo(new Flow.Tcp(40000, 80, Flow.TcpFlags.of(0)));
        assertThat(f.trafficDirection()).isEqualTo(Flow.TrafficDirection.EGRESS);
        assertThat(f.isReply()).isFalse();
        assertThat(f.traceObservationPoint()).isEqualTo("UNKNOWN_POINT");
        assertThat(f.summary()).isEqualTo("HTTP/1.1 GET http://backend/api/v1/data");
        assertThat(f.extra().endpoint()).isEqualTo("x/frontend");
        assertThat(f.nodeName()).isEqualTo("node1");
        assertThat(f.time()).isEqualTo(T0);
    }

    @Test
    void aResponseGoesFromTheServerToTheClientWithItsStatusAndLatency() {
        Flow f = enricher.enrich(OK);
        assertThat(f.isReply()).isTrue();
        assertThat(f.ip()).isEqualTo(new Flow.Ip(VIP, FRONTEND, "IPv4"));
        assertThat(f.l4()).isEqualTo(new Flow.Tcp(80, 40000, Flow.TcpFlags.of(0)));
        assertThat(f.destination().pod()).isEqualTo("x/frontend");
        assertThat(f.destination().id()).isEqualTo(11);
        assertThat(f.sourceService()).isEqualTo(new Flow.Service("backend", "x"));
        assertThat(f.destinationService()).isNull();
        assertThat(f.l7().type()).isEqualTo(Flow.L7Type.RESPONSE);
        assertThat(f.l7().latencyNs()).isEqualTo(2_345_678);
        assertThat(f.http().code()).isEqualTo(200);
        assertThat(f.summary()).isEqualTo("HTTP/1.1 200 2ms (GET http://backend/api/v1/data)");
    }

    @Test
    void aRefusedRequestIsDroppedAndTheProxys403AForwardedResponseAsHubbleReportsThem() {
        Flow denied = enricher.enrich(POST_DENIED);
        assertThat(denied.verdict()).isEqualTo(Flow.Verdict.DROPPED);
        assertThat(denied.dropReasonDesc()).as("no data path reason").isEmpty();
        assertThat(denied.trafficDirection()).isEqualTo(Flow.TrafficDirection.INGRESS);
        assertThat(denied.destination().id()).as("the local endpoint (ingress: the server)").isEqualTo(12);
        assertThat(denied.source().id()).isZero();
        assertThat(denied.extra().endpoint()).isEqualTo("x/backend");
        assertThat(denied.extra().reason()).isEqualTo("no rule of x/backend allows it");
        assertThat(denied.summary()).isEqualTo("HTTP/1.1 POST http://backend/api/v1/data");
        Flow forbidden = enricher.enrich(FORBIDDEN);
        assertThat(forbidden.verdict()).isEqualTo(Flow.Verdict.FORWARDED);
        assertThat(forbidden.summary()).isEqualTo("HTTP/1.1 403 0ms (POST http://backend/api/v1/data)");
        assertThat(forbidden.source().id()).as("a response from the local server").isEqualTo(12);
        Flow error = enricher.enrich(http(L7Observation.Type.REQUEST, false, BACKEND, L7Observation.Verdict.ERROR, "GET", "http://backend/",
                0, 0, List.of(), "request smuggling: Content-Length with Transfer-Encoding"));
        assertThat(error.verdict()).isEqualTo(Flow.Verdict.ERROR);
        assertThat(error.extra().reason()).isEqualTo("request smuggling: Content-Length with Transfer-Encoding");
    }

    @Test
    void dnsQueriesAndAnswersHaveHubblesSummariesAndRecords() {
        Flow q = enricher.enrich(QUERY);
        assertThat(q.summary()).isEqualTo("DNS Query backend.x.svc.cluster.local. A");
        assertThat(q.l4()).isEqualTo(new Flow.Udp(51000, 53));
        assertThat(q.dns()).isEqualTo(new Flow.Dns("backend.x.svc.cluster.local.", List.of(), 0, List.of(), "proxy", 0, List.of("A"), List.of()));
        Flow a = enricher.enrich(ANSWER);
        assertThat(a.summary()).isEqualTo("DNS Answer \"10.96.0.20\" TTL: 30 (Proxy backend.x.svc.cluster.local. A)");
        assertThat(a.dns()).isEqualTo(new Flow.Dns("backend.x.svc.cluster.local.", List.of(VIP), 30, List.of(), "proxy", 0, List.of("A"), List.of("A")));
        assertThat(a.l7().latencyNs()).isEqualTo(1_500_000);
        assertThat(a.ip()).isEqualTo(new Flow.Ip(DNS, FRONTEND, "IPv4"));
        Flow denied = enricher.enrich(REFUSED_QUERY);
        assertThat(denied.verdict()).isEqualTo(Flow.Verdict.DROPPED);
        assertThat(enricher.enrich(REFUSED).summary()).isEqualTo("DNS Answer RCode: Query Refused TTL: 0 (Proxy evil.example.com. A)");
        Flow cname = enricher.enrich(new L7Observation.Dns(T0, false, L7Observation.Type.RESPONSE, FRONTEND, 1, 300, DNS, 53, 0,
                L7Observation.Verdict.FORWARDED, "www.example.com.", List.of("A"), List.of("192.0.2.1", "192.0.2.2"), 60,
                List.of("example.com."), 0, List.of("CNAME", "A", "A"), 0, null));
        assertThat(cname.summary()).isEqualTo("DNS Answer \"192.0.2.1,192.0.2.2\" CNAMEs: \"example.com.\" TTL: 60 (Proxy www.example.com. A)");
    }

    @Test
    void l7FlowsAsHubblesJson() throws Exception {
        var json = JsonMapper.builder().build().writerWithDefaultPrettyPrinter();
        StringBuilder got = new StringBuilder();
        for (L7Observation o : List.of(GET, OK, POST_DENIED, QUERY, ANSWER, REFUSED_QUERY))
            got.append(json.writeValueAsString(FlowJson.response(enricher.enrich(o)))).append('\n');
        Golden.check("flow/hubble-l7-json.golden", got.toString());
    }

    @Test
    void anEndThatIsNoPodHasItsIdentitysReservedLabels() {
        Flow f = enricher.enrich(new L7Observation.Http(T0, false, L7Observation.Type.REQUEST, FRONTEND, 40000, 300, WORLD, 80, 2,
                L7Observation.Verdict.FORWARDED, "HTTP/2", "GET", "http://api.example.com/", 0, 0, List.of(), ""));
        assertThat(f.destination()).isEqualTo(new Flow.Endpoint(0, 2, "", List.of("reserved:world"), "", List.of()));
        assertThat(f.summary()).isEqualTo("HTTP/2 GET http://api.example.com/");
    }

    // ---- what a hostile pod chooses goes into flows bounded and without credentials ----

    @Test
    void credentialsAreNotKept() {
        Flow f = enricher.enrich(http(L7Observation.Type.REQUEST, false, BACKEND, L7Observation.Verdict.FORWARDED, "GET",
                "http://admin:s3cret@backend/x?y=1", 0, 0, List.of(new L7Observation.Header("Authorization", "Bearer abc"),
                        new L7Observation.Header("cookie", "session=1"), new L7Observation.Header("Proxy-Authorization", "Basic eA=="),
                        new L7Observation.Header("X-Trace", "t1")), ""));
        assertThat(f.http().url()).isEqualTo("http://admin:HUBBLE_REDACTED@backend/x?y=1");
        assertThat(f.http().headers()).containsExactly(new Flow.HttpHeader("Authorization", "HUBBLE_REDACTED"),
                new Flow.HttpHeader("Proxy-Authorization", "HUBBLE_REDACTED"), new Flow.HttpHeader("X-Trace", "t1"),
                new Flow.HttpHeader("cookie", "HUBBLE_REDACTED"));
        assertThat(f.summary()).doesNotContain("s3cret");
        assertThat(L7Records.redactUrl("http://backend/a@b")).as("an @ in the path is no user info").isEqualTo("http://backend/a@b");
        assertThat(L7Records.redactUrl("http://user@backend/")).as("a user without a password is kept").isEqualTo("http://user@backend/");
    }

    @Test
    void hugeValuesAndManyHeadersAreCutSoTheRingStaysBounded() {
        List<L7Observation.Header> many = new ArrayList<>();
        for (int i = 0; i < 500; i++) many.add(new L7Observation.Header(String.format("X-H%03d", i), "v".repeat(100_000)));
        String url = "http://backend/" + "a".repeat(1_000_000);
        Flow f = enricher.enrich(http(L7Observation.Type.REQUEST, false, BACKEND, L7Observation.Verdict.FORWARDED, "GET", url, 0, 0, many,
                "r".repeat(100_000)));
        assertThat(f.http().headers().getFirst().value()).hasSize(L7Records.MAX_VALUE + L7Records.CUT.length()).endsWith(L7Records.CUT);
        assertThat(f.http().headers()).as("the header budget, not the count, ends these").hasSizeLessThan(L7Records.MAX_HEADERS);
        assertThat(f.http().url()).hasSize(L7Records.MAX_VALUE + L7Records.CUT.length());
        assertThat(f.extra().reason()).isEmpty();   // forwarded: no reason kept
        Flow d = enricher.enrich(new L7Observation.Dns(T0, false, L7Observation.Type.RESPONSE, FRONTEND, 1, 300, DNS, 53, 0,
                L7Observation.Verdict.FORWARDED, "x".repeat(10_000) + ".", List.of("A"), java.util.Collections.nCopies(10_000, "192.0.2.1"), 1,
                List.of(), 0, java.util.Collections.nCopies(10_000, "A"), 0, "z".repeat(5000)));
        assertThat(d.dns().ips()).hasSize(L7Records.MAX_LIST);
        assertThat(d.dns().rrtypes()).hasSize(L7Records.MAX_LIST);
        assertThat(d.dns().query()).hasSize(256 + L7Records.CUT.length());
        long size = 0;
        for (Flow.HttpHeader h : f.http().headers()) size += h.key().length() + h.value().length();
        assertThat(size).as("header characters a flow keeps").isLessThanOrEqualTo(L7Records.MAX_HEADER_CHARS + 4L * L7Records.CUT.length());
        // many small headers: the count ends them
        List<L7Observation.Header> small = new ArrayList<>();
        for (int i = 0; i < 500; i++) small.add(new L7Observation.Header(String.format("X-%03d", i), "v"));
        assertThat(enricher.enrich(http(L7Observation.Type.REQUEST, false, BACKEND, L7Observation.Verdict.FORWARDED, "GET", "http://b/", 0, 0,
                small, "")).http().headers()).hasSize(L7Records.MAX_HEADERS);
    }

    @Test
    void addressesThatAreNotIpv4AndNullsDoNotStopTheSink() {
        Flow f = enricher.enrich(new L7Observation.Http(T0, false, L7Observation.Type.REQUEST, "not-an-ip", -1, 0, "::1", 70000, 0,
                L7Observation.Verdict.FORWARDED, null, null, null, -5, -1, List.of(new L7Observation.Header(null, null)), null));
        assertThat(f.ip()).isEqualTo(new Flow.Ip("", "", "IPv4"));
        assertThat(f.http()).isEqualTo(new Flow.Http(0, "", "", "", List.of(new Flow.HttpHeader("", ""))));
        assertThat(f.source().pod()).isEmpty();
        Instant before = Instant.now();
        Flow untimed = enricher.enrich(new L7Observation.Dns(null, false, L7Observation.Type.REQUEST, FRONTEND, 1, 300, DNS, 53, 0,
                L7Observation.Verdict.FORWARDED, "a.", List.of("A"), List.of(), 0, List.of(), 0, List.of(), 0, ""));
        assertThat(untimed.time()).as("stamped when it came").isAfterOrEqualTo(before);
    }

    // ---- the sink on the flow pipeline ----

    @Test
    void theSinkPutsL7FlowsInTheRingToFollowersAndTheListenerWithoutAnEvent() throws Exception {
        FlowObserver o = new FlowObserver(enricher, 1023, () -> 0);
        List<Object> events = new ArrayList<>();
        List<Flow> seen = new ArrayList<>();
        o.listen((e, f) -> {
            events.add(e == null ? "null" : e);
            seen.add(f);
        });
        try (var sub = o.subscribe(FlowFilter.parse(JsonMapper.builder().build().readTree("{\"protocol\":\"http\"}")), 16)) {
            o.l7Sink().observe(GET);
            o.l7Sink().observe(QUERY);
            assertThat(o.ring().snapshot()).extracting(Flow::summary).containsExactly("HTTP/1.1 GET http://backend/api/v1/data",
                    "DNS Query backend.x.svc.cluster.local. A");
            assertThat(events).containsExactly("null", "null");
            assertThat(seen).hasSize(2);
            assertThat(sub.poll(1, TimeUnit.SECONDS).summary()).startsWith("HTTP/1.1 GET");
            assertThat(sub.poll(10, TimeUnit.MILLISECONDS)).as("the DNS flow is not an HTTP one").isNull();
        }
    }

    @Test
    void aListenerThatThrowsOrAnObservationThatCannotBeEnrichedIsCountedNotThrown() {
        Enricher broken = new Enricher("node1", new Enricher.Cluster() {
            public Optional<Enricher.PodInfo> podByIp(int ip) { throw new IllegalStateException("cluster closing"); }
            public Optional<String> endpointPod(int id) { return Optional.empty(); }
            public Optional<String> serviceOf(int revNatId) { return Optional.empty(); }
        }, PolicySource.NONE, k -> T0);
        FlowObserver o = new FlowObserver(broken, 1023, () -> 0);
        o.l7Sink().observe(GET);
        assertThat(o.counters().notEnriched()).isEqualTo(1);
        FlowObserver p = new FlowObserver(enricher, 1023, () -> 0);
        p.listen((e, f) -> { throw new IllegalStateException("metric broken"); });
        p.l7Sink().observe(GET);
        assertThat(p.ring().size()).as("the flow is in the ring all the same").isEqualTo(1);
    }

    /** Proxy threads call the sink at once: every observation is one flow in the ring and one call of the listener. */
    @RepeatedTest(3)
    void manyProxyThreadsAtOnceLoseNothing() throws Exception {
        long seed = new SplittableRandom().nextLong();
        System.out.println("L7FlowTest.manyProxyThreadsAtOnceLoseNothing seed " + seed);
        var r = new SplittableRandom(seed);
        int threads = 2 + r.nextInt(6), each = 200 + r.nextInt(800);
        FlowObserver o = new FlowObserver(enricher, 16383, () -> 0);
        AtomicInteger listened = new AtomicInteger();
        var uuids = new ConcurrentLinkedQueue<String>();
        o.listen((e, f) -> {
            listened.incrementAndGet();
            uuids.add(f.uuid());
        });
        List<Thread> ts = new ArrayList<>();
        List<L7Observation> kinds = List.of(GET, OK, POST_DENIED, FORBIDDEN, QUERY, ANSWER, REFUSED_QUERY, REFUSED);
        for (int t = 0; t < threads; t++) {
            long s = r.nextLong();
            ts.add(Thread.ofPlatform().start(() -> {
                var rr = new SplittableRandom(s);
                for (int i = 0; i < each; i++) o.l7Sink().observe(kinds.get(rr.nextInt(kinds.size())));
            }));
        }
        for (Thread t : ts) t.join();
        assertThat(o.ring().written()).as("seed %d", seed).isEqualTo((long) threads * each);
        assertThat(listened.get()).isEqualTo(threads * each);
        assertThat(new java.util.HashSet<>(uuids)).as("every flow its own uuid").hasSize(threads * each);
    }
}
