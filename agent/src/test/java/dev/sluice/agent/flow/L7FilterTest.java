package dev.sluice.agent.flow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

/** The socket API's L7 criteria (sluice observe --type l7 --http-status 4+ ...) with Hubble's semantics, and their bad values. */
class L7FilterTest {
    static final JsonMapper JSON = JsonMapper.builder().build();
    final Enricher enricher = new Enricher("node1", L7FlowTest.CLUSTER, PolicySource.NONE, k -> L7FlowTest.T0);
    final Flow get = enricher.enrich(L7FlowTest.GET), ok = enricher.enrich(L7FlowTest.OK), denied = enricher.enrich(L7FlowTest.POST_DENIED),
            forbidden = enricher.enrich(L7FlowTest.FORBIDDEN), query = enricher.enrich(L7FlowTest.QUERY), answer = enricher.enrich(L7FlowTest.ANSWER);
    final Flow tcp = new Flow(L7FlowTest.T0, "t", Flow.Verdict.FORWARDED, 0, "", new Flow.Ip("10.0.0.5", "10.0.1.6", "IPv4"),
            new Flow.Tcp(40000, 80, Flow.TcpFlags.of(2)), get.source(), get.destination(), "node1", null, null, Flow.TrafficDirection.EGRESS,
            "FROM_ENDPOINT", false, new Flow.EventType(4, 5), List.of(), List.of(), List.of(), List.of(), "TCP Flags: SYN",
            new Flow.Extra(0, "", "new", "", "", 0, 0, ""));
    final List<Flow> all = List.of(get, ok, denied, forbidden, query, answer, tcp);

    FlowFilter filter(String json) { return FlowFilter.parse(JSON.readTree(json)); }

    List<Flow> select(String json) { return all.stream().filter(filter(json)).toList(); }

    @Test
    void typeAndProtocolSelectL7FlowsAsHubbleDoes() {
        assertThat(select("{\"type\":\"l7\"}")).containsExactly(get, ok, denied, forbidden, query, answer);
        assertThat(select("{\"type\":[\"trace\",\"drop\"]}")).containsExactly(tcp);
        assertThat(select("{\"protocol\":\"http\"}")).containsExactly(get, ok, denied, forbidden);
        assertThat(select("{\"protocol\":\"DNS\"}")).containsExactly(query, answer);
        assertThat(select("{\"protocol\":\"kafka\"}")).isEmpty();
        // an L4 protocol matches the L7 flow's Layer4 too
        assertThat(select("{\"protocol\":\"udp\"}")).containsExactly(query, answer);
        assertThat(select("{\"protocol\":[\"dns\",\"tcp\"]}")).containsExactly(get, ok, denied, forbidden, query, answer, tcp);
        assertThat(select("{\"verdict\":\"dropped\",\"type\":\"l7\"}")).containsExactly(denied);
    }

    @Test
    void httpCriteria() {
        assertThat(select("{\"httpStatus\":\"4+\"}")).containsExactly(forbidden);
        assertThat(select("{\"httpStatus\":[\"200\",\"40+\"]}")).containsExactly(ok, forbidden);
        assertThat(select("{\"httpStatus\":\"5+\"}")).isEmpty();
        assertThat(select("{\"httpMethod\":\"post\"}")).containsExactly(denied, forbidden);
        assertThat(select("{\"httpPath\":\"^/api/v1/.*$\"}")).containsExactly(get, ok, denied, forbidden);
        assertThat(select("{\"httpPath\":\"backend\"}")).as("the host is not in the path").isEmpty();
        assertThat(select("{\"httpUrl\":\"http://backend/api\"}")).containsExactly(get, ok, denied, forbidden);
        assertThat(select("{\"httpHeader\":\"User-Agent:curl/8\"}")).containsExactly(get);
        assertThat(select("{\"httpHeader\":\"Accept:\"}")).containsExactly(get);
        assertThat(select("{\"httpHeader\":\"User-Agent:wget\"}")).isEmpty();
        assertThat(select("{\"httpMethod\":\"GET\",\"httpStatus\":\"200\"}")).containsExactly(ok);
        assertThat(select("{\"dnsQuery\":\"svc\\\\.cluster\\\\.local\\\\.$\"}")).containsExactly(query, answer);
        assertThat(select("{\"dnsQuery\":\"^evil\"}")).isEmpty();
    }

    @Test
    void badValuesNameTheFieldAndWhatWasExpected() {
        assertThatThrownBy(() -> filter("{\"type\":\"capture\"}")).hasMessage("type: capture (expected one of: drop, trace, policy-verdict, l7)");
        assertThatThrownBy(() -> filter("{\"httpStatus\":\"600\"}"))
                .hasMessage("httpStatus: 600 (expected: a status code such as 404, or a prefix such as 4+ or 40+)");
        assertThatThrownBy(() -> filter("{\"httpStatus\":\"4xx\"}")).hasMessageStartingWith("httpStatus: 4xx (expected");
        assertThatThrownBy(() -> filter("{\"httpMethod\":\"GET /\"}")).hasMessage("httpMethod: \"GET /\" (expected: an HTTP method such as GET)");
        assertThatThrownBy(() -> filter("{\"httpPath\":\"(\"}")).hasMessageStartingWith("httpPath: \"(\" (expected: a regular expression;");
        assertThatThrownBy(() -> filter("{\"dnsQuery\":\"" + "a".repeat(300) + "\"}"))
                .hasMessage("dnsQuery: a pattern of 300 characters (expected: a regular expression of at most 256)");
        assertThatThrownBy(() -> filter("{\"httpHeader\":\"no-colon\"}")).hasMessage("httpHeader: \"no-colon\" (expected: key:value, either may be empty)");
        assertThatThrownBy(() -> filter("{\"type\":\"trace\",\"httpMethod\":\"GET\"}"))
                .hasMessage("httpMethod: [GET] (expected with type: l7 among the types, as only L7 flows have HTTP)");
        assertThatThrownBy(() -> filter("{\"protocol\":\"quic\"}")).hasMessage("protocol: quic (expected one of: tcp, udp, icmp, sctp, http, dns, kafka)");
        assertThatThrownBy(() -> filter("{\"verdict\":\"redirected\"}"))
                .hasMessage("verdict: redirected (expected one of: FORWARDED, DROPPED, ERROR, AUDIT, TRANSLATED)");
    }

    /**
     * A reader's regular expression runs on the thread that writes flows (a follower's filter):
     * one that backtracks without end on a pod's long URL is given up, not left to hold the writer.
     */
    @Test
    void aCatastrophicPatternOnAHostileUrlGivesUpQuickly() {
        Flow evil = enricher.enrich(new L7Observation.Http(L7FlowTest.T0, false, L7Observation.Type.REQUEST, "10.0.0.5", 1, 300, "10.0.1.6", 80, 301,
                L7Observation.Verdict.FORWARDED, "HTTP/1.1", "GET", "http://backend/" + "a".repeat(1000) + "!", 0, 0, List.of(), ""));
        FlowFilter f = filter("{\"httpPath\":\"^/(a+)+$\"}");
        long start = System.nanoTime();
        assertThat(f.test(evil)).isFalse();
        assertThat((System.nanoTime() - start) / 1_000_000).as("milliseconds for the match").isLessThan(2000);
        // the same pattern still matches what it should
        assertThat(filter("{\"httpPath\":\"^/(a+)+$\"}").test(enricher.enrich(new L7Observation.Http(L7FlowTest.T0, false,
                L7Observation.Type.REQUEST, "10.0.0.5", 1, 300, "10.0.1.6", 80, 301, L7Observation.Verdict.FORWARDED, "HTTP/1.1", "GET",
                "http://backend/aaaa", 0, 0, List.of(), "")))).isTrue();
    }

    @Test
    void pathsOfUrls() {
        assertThat(L7Filter.path("http://backend/api/v1/data?x=1#f")).isEqualTo("/api/v1/data");
        assertThat(L7Filter.path("http://backend")).isEmpty();
        assertThat(L7Filter.path("/a/b?c")).isEqualTo("/a/b");
    }
}
