package dev.sluice.agent.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.agent.flow.Flow;
import dev.sluice.config.HubbleMetric;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** Each hubble metric against crafted flows, checked as the exposition text Prometheus reads. */
class HubbleMetricsTest {
    static final Flow.Endpoint CLIENT = new Flow.Endpoint(0, 23807, "fl", List.of("k8s:app=client", "k8s:io.kubernetes.pod.namespace=fl"),
            "client", List.of(new Flow.Workload("client", "Deployment")));
    static final Flow.Endpoint SERVER = new Flow.Endpoint(7, 52340, "fl", List.of("k8s:app=server", "k8s:io.kubernetes.pod.namespace=fl"),
            "server", List.of());
    static final Flow.Endpoint WORLD = new Flow.Endpoint(0, 2, "", List.of("reserved:world"), "", List.of());
    static final Flow.Endpoint HOST = new Flow.Endpoint(0, 1, "", List.of("reserved:host"), "", List.of());

    /** A flow as the enricher makes them; {@code ct} and {@code match} as the data path reports them. */
    static Flow flow(Flow.Verdict v, String dropDesc, Flow.L4 l4, Flow.Endpoint src, Flow.Endpoint dst, Flow.TrafficDirection dir,
                     String point, Boolean reply, String ct, String match) {
        Flow.EventType type = switch (v) {
            case DROPPED -> new Flow.EventType(1, 133);
            case AUDIT -> new Flow.EventType(5, 0);
            default -> new Flow.EventType(4, switch (point) {
                case "TO_ENDPOINT" -> 0;
                case "FROM_ENDPOINT" -> 5;
                case "TO_OVERLAY" -> 4;
                default -> 3;
            });
        };
        return new Flow(Instant.EPOCH, "u", v, v == Flow.Verdict.DROPPED ? 133 : 0, dropDesc, new Flow.Ip("10.0.0.7", "10.0.1.4", "IPv4"), l4, src,
                dst, "node2", null, null, dir, point, reply, type, List.of(), List.of(), List.of(), List.of(), "",
                new Flow.Extra(0, "", ct, match, "fl/server", 7, 74, ""));
    }

    static Flow.Tcp tcp(int dport, int flags) { return new Flow.Tcp(40312, dport, Flow.TcpFlags.of(flags)); }

    static final int SYN = 0x02, ACK = 0x10, FIN = 0x01, RST = 0x04, PSH = 0x08;

    /** The client's SYN to the server: seen leaving the client (egress verdict) and reaching the server (ingress verdict). */
    static final Flow SYN_OUT = flow(Flow.Verdict.FORWARDED, "", tcp(80, SYN), CLIENT, SERVER, Flow.TrafficDirection.EGRESS, "FROM_ENDPOINT", false, "new", "none");
    static final Flow SYN_IN = flow(Flow.Verdict.FORWARDED, "", tcp(80, SYN), CLIENT, SERVER, Flow.TrafficDirection.INGRESS, "TO_ENDPOINT", false, "new", "identity");
    static final Flow SYN_ACK = flow(Flow.Verdict.FORWARDED, "", new Flow.Tcp(80, 40312, Flow.TcpFlags.of(SYN | ACK)), SERVER, CLIENT,
            Flow.TrafficDirection.INGRESS, "TO_OVERLAY", true, "reply", "identity");
    static final Flow FIN_ACK = flow(Flow.Verdict.FORWARDED, "", tcp(80, FIN | ACK), CLIENT, SERVER, Flow.TrafficDirection.INGRESS, "TO_ENDPOINT", false, "established", "identity");
    static final Flow DENIED = flow(Flow.Verdict.DROPPED, "POLICY_DENIED", tcp(8080, SYN), CLIENT, SERVER, Flow.TrafficDirection.INGRESS, "TO_ENDPOINT", false, "new", "none");
    static final Flow DENY_RULE = flow(Flow.Verdict.DROPPED, "POLICY_DENY", tcp(80, SYN), CLIENT, SERVER, Flow.TrafficDirection.INGRESS, "TO_ENDPOINT", false, "new", "any");
    static final Flow TO_WORLD = flow(Flow.Verdict.FORWARDED, "", new Flow.Udp(5353, 53), CLIENT, WORLD, Flow.TrafficDirection.EGRESS, "TO_STACK", false, "new", "cidr");
    static final Flow TO_WORLD_DROPPED = flow(Flow.Verdict.DROPPED, "POLICY_DENIED", tcp(443, SYN), CLIENT, WORLD, Flow.TrafficDirection.EGRESS, "FROM_ENDPOINT", false, "new", "none");
    static final Flow WORLD_REPLY = flow(Flow.Verdict.FORWARDED, "", new Flow.Udp(53, 5353), WORLD, CLIENT, Flow.TrafficDirection.EGRESS, "TO_ENDPOINT", true, "reply", "cidr");
    static final Flow PING = flow(Flow.Verdict.FORWARDED, "", new Flow.Icmpv4(7, 0, 8, 0), CLIENT, SERVER, Flow.TrafficDirection.EGRESS, "FROM_ENDPOINT", false, "new", "any");
    static final Flow PONG = flow(Flow.Verdict.FORWARDED, "", new Flow.Icmpv4(0, 7, 0, 0), SERVER, CLIENT, Flow.TrafficDirection.EGRESS, "TO_ENDPOINT", true, "reply", "any");
    static final Flow FROM_HOST = flow(Flow.Verdict.FORWARDED, "", tcp(80, SYN), HOST, SERVER, Flow.TrafficDirection.INGRESS, "TO_ENDPOINT", false, "new", "host");
    static final Flow AUDITED = flow(Flow.Verdict.AUDIT, "", tcp(9090, SYN), CLIENT, SERVER, Flow.TrafficDirection.INGRESS, "TO_ENDPOINT", false, "new", "none");
    static final List<Flow> ALL = List.of(SYN_OUT, SYN_IN, SYN_ACK, FIN_ACK, DENIED, DENY_RULE, TO_WORLD, TO_WORLD_DROPPED, WORLD_REPLY, PING, PONG,
            FROM_HOST, AUDITED);

    static HubbleMetrics metrics(String... entries) {
        return new HubbleMetrics(HubbleMetric.parseAll("test", "hubble.metrics.enabled", List.of(entries)), () -> 3);
    }

    static String text(PrometheusRegistry r) {
        var out = new ByteArrayOutputStream();
        try {
            PrometheusTextFormatWriter.create().write(out, r.scrape());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    /** The sample lines of one metric family, sorted (label order within a line is the client's). */
    static String samples(HubbleMetrics m, String name) {
        return text(m.registry()).lines().filter(l -> l.startsWith(name + "{") || l.startsWith(name + " ")).sorted()
                .collect(Collectors.joining("\n"));
    }

    static HubbleMetrics fed(String entry) {
        HubbleMetrics m = metrics(entry);
        for (Flow f : ALL) m.accept(f, f == SYN_IN || f == FIN_ACK ? 24 : 0);
        return m;
    }

    @Test
    void flowCountsEveryFlowByTypeSubtypeAndVerdict() {
        assertThat(samples(fed("flow"), "hubble_flows_processed_total")).isEqualTo("""
                hubble_flows_processed_total{protocol="ICMPv4",subtype="from-endpoint",type="Trace",verdict="FORWARDED"} 1.0
                hubble_flows_processed_total{protocol="ICMPv4",subtype="to-endpoint",type="Trace",verdict="FORWARDED"} 1.0
                hubble_flows_processed_total{protocol="TCP",subtype="",type="Drop",verdict="DROPPED"} 3.0
                hubble_flows_processed_total{protocol="TCP",subtype="",type="PolicyVerdict",verdict="AUDIT"} 1.0
                hubble_flows_processed_total{protocol="TCP",subtype="from-endpoint",type="Trace",verdict="FORWARDED"} 1.0
                hubble_flows_processed_total{protocol="TCP",subtype="to-endpoint",type="Trace",verdict="FORWARDED"} 3.0
                hubble_flows_processed_total{protocol="TCP",subtype="to-overlay",type="Trace",verdict="FORWARDED"} 1.0
                hubble_flows_processed_total{protocol="UDP",subtype="to-endpoint",type="Trace",verdict="FORWARDED"} 1.0
                hubble_flows_processed_total{protocol="UDP",subtype="to-stack",type="Trace",verdict="FORWARDED"} 1.0""");
    }

    @Test
    void dropCountsDropsByReasonAndProtocol() {
        assertThat(samples(fed("drop"), "hubble_drop_total")).isEqualTo("""
                hubble_drop_total{protocol="TCP",reason="POLICY_DENIED"} 2.0
                hubble_drop_total{protocol="TCP",reason="POLICY_DENY"} 1.0""");
    }

    @Test
    void tcpCountsSynSynAckFinAndRstOfForwardedFlows() {
        HubbleMetrics m = fed("tcp");
        m.accept(flow(Flow.Verdict.FORWARDED, "", tcp(80, RST | ACK), SERVER, CLIENT, Flow.TrafficDirection.INGRESS, "TO_OVERLAY", true, "reply", ""), 0);
        m.accept(flow(Flow.Verdict.FORWARDED, "", tcp(80, PSH | ACK), CLIENT, SERVER, Flow.TrafficDirection.INGRESS, "TO_ENDPOINT", false, "established", ""), 0);
        assertThat(samples(m, "hubble_tcp_flags_total")).isEqualTo("""
                hubble_tcp_flags_total{family="IPv4",flag="FIN"} 1.0
                hubble_tcp_flags_total{family="IPv4",flag="RST"} 1.0
                hubble_tcp_flags_total{family="IPv4",flag="SYN"} 3.0
                hubble_tcp_flags_total{family="IPv4",flag="SYN-ACK"} 1.0""");
    }

    @Test
    void portDistributionCountsForwardedNonReplyFlowsByDestinationPort() {
        assertThat(samples(fed("port-distribution"), "hubble_port_distribution_total")).isEqualTo("""
                hubble_port_distribution_total{port="0",protocol="ICMPv4"} 1.0
                hubble_port_distribution_total{port="53",protocol="UDP"} 1.0
                hubble_port_distribution_total{port="80",protocol="TCP"} 4.0""");
    }

    @Test
    void icmpCountsEchoRequestsAndReplies() {
        assertThat(samples(fed("icmp"), "hubble_icmp_total")).isEqualTo("""
                hubble_icmp_total{family="IPv4",type="EchoReply"} 1.0
                hubble_icmp_total{family="IPv4",type="EchoRequest"} 1.0""");
    }

    @Test
    void icmpCountsTheTypeAndCodeOfTheMessageNotWhatConntrackSaid() {
        HubbleMetrics m = metrics("icmp");
        // an error related to a flow (is_reply unknown), an echo reply conntrack did not see as one,
        // and a non-first fragment (no ICMP header: not counted)
        m.accept(flow(Flow.Verdict.FORWARDED, "", new Flow.Icmpv4(0, 0, 3, 3), WORLD, CLIENT, Flow.TrafficDirection.EGRESS, "TO_ENDPOINT",
                null, "related", "none"), 0);
        m.accept(flow(Flow.Verdict.DROPPED, "POLICY_DENIED", new Flow.Icmpv4(0, 7, 0, 0), WORLD, CLIENT, Flow.TrafficDirection.INGRESS,
                "TO_ENDPOINT", false, "new", "none"), 0);
        m.accept(flow(Flow.Verdict.FORWARDED, "", new Flow.Icmpv4(0, 0, -1, -1), WORLD, CLIENT, Flow.TrafficDirection.INGRESS, "TO_ENDPOINT",
                false, "new", "none"), 0);
        assertThat(samples(m, "hubble_icmp_total")).isEqualTo("""
                hubble_icmp_total{family="IPv4",type="DestinationUnreachable(Port)"} 1.0
                hubble_icmp_total{family="IPv4",type="EchoReply"} 1.0""");
    }

    @Test
    void policyCountsEachDecisionOnceWithDirectionMatchAndAction() {
        // SYN_OUT: egress verdict (no egress policy: match none); SYN_IN: ingress, an identity entry with a port;
        // PING: egress, an any-identity entry without port; the host's SYN and every reply or established packet: not counted
        assertThat(samples(fed("policy"), "hubble_policy_verdicts_total")).isEqualTo("""
                hubble_policy_verdicts_total{action="audit",direction="ingress",match="none"} 1.0
                hubble_policy_verdicts_total{action="dropped",direction="egress",match="none"} 1.0
                hubble_policy_verdicts_total{action="dropped",direction="ingress",match="all"} 1.0
                hubble_policy_verdicts_total{action="dropped",direction="ingress",match="none"} 1.0
                hubble_policy_verdicts_total{action="forwarded",direction="egress",match="all"} 1.0
                hubble_policy_verdicts_total{action="forwarded",direction="egress",match="none"} 1.0
                hubble_policy_verdicts_total{action="forwarded",direction="ingress",match="l3-l4"} 1.0""");
    }

    @Test
    void flowsToWorldCountsNonReplyFlowsToTheWorldAndPolicyDrops() {
        assertThat(samples(fed("flows-to-world"), "hubble_flows_to_world_total")).isEqualTo("""
                hubble_flows_to_world_total{protocol="TCP",verdict="DROPPED"} 1.0
                hubble_flows_to_world_total{protocol="UDP",verdict="FORWARDED"} 1.0""");
        assertThat(samples(fed("flows-to-world:port;syn-only"), "hubble_flows_to_world_total")).isEqualTo("""
                hubble_flows_to_world_total{port="443",protocol="TCP",verdict="DROPPED"} 1.0""");
    }

    @Test
    void contextOptionsAddSourceDestinationAndListedLabels() {
        HubbleMetrics m = fed("drop:sourceContext=workload-name|pod;destinationContext=reserved-identity|namespace;labelsContext=source_namespace,traffic_direction");
        assertThat(samples(m, "hubble_drop_total")).isEqualTo("""
                hubble_drop_total{destination="fl",protocol="TCP",reason="POLICY_DENIED",source="client",source_namespace="fl",traffic_direction="ingress"} 1.0
                hubble_drop_total{destination="fl",protocol="TCP",reason="POLICY_DENY",source="client",source_namespace="fl",traffic_direction="ingress"} 1.0
                hubble_drop_total{destination="reserved:world",protocol="TCP",reason="POLICY_DENIED",source="client",source_namespace="fl",traffic_direction="egress"} 1.0""");
        HubbleMetric pod = HubbleMetric.parseAll("t", "k", List.of("flow:sourceContext=pod;destinationContext=identity")).getFirst();
        var ctx = new FlowContext(pod);
        List<String> values = new java.util.ArrayList<>();
        ctx.values(SYN_IN, values);
        assertThat(ctx.labelNames()).containsExactly("source", "destination");
        assertThat(values).containsExactly("fl/client", "k8s:app=server,k8s:io.kubernetes.pod.namespace=fl");
    }

    @Test
    void directionalContextsWinOverTheGeneralOne() {
        HubbleMetric m = HubbleMetric.parseAll("t", "k", List.of("flow:sourceContext=namespace;sourceEgressContext=pod-name")).getFirst();
        var ctx = new FlowContext(m);
        List<String> egress = new java.util.ArrayList<>(), ingress = new java.util.ArrayList<>();
        ctx.values(SYN_OUT, egress);
        ctx.values(SYN_IN, ingress);
        assertThat(egress).containsExactly("client");
        assertThat(ingress).containsExactly("fl");
    }

    @Test
    void lostEventsAreReadWhenScraped() {
        assertThat(samples(metrics("flow"), "hubble_lost_events_total")).isEqualTo("hubble_lost_events_total{source=\"perf_event_ring_buffer\"} 3.0");
    }

    @Test
    void labelSetsAreBoundedAndWhatDoesNotFitIsCounted() {
        HubbleMetrics m = metrics("port-distribution");
        for (int port = 1; port <= HubbleMetrics.MAX_SERIES + 10; port++)
            m.accept(flow(Flow.Verdict.FORWARDED, "", tcp(port, SYN), CLIENT, SERVER, Flow.TrafficDirection.INGRESS, "TO_ENDPOINT", false, "new", ""), 0);
        assertThat(samples(m, "hubble_port_distribution_total").lines()).hasSize(HubbleMetrics.MAX_SERIES);
        assertThat(samples(m, "sluice_hubble_metrics_series_overflow_total"))
                .isEqualTo("sluice_hubble_metrics_series_overflow_total{metric=\"port-distribution\"} 10.0");
    }

    @Test
    void aDeletedPodsSeriesGoAMinuteLater() {
        long[] now = {1_000};
        HubbleMetrics m = new HubbleMetrics(HubbleMetric.parseAll("t", "k", List.of("drop:sourceContext=pod",
                "flow:labelsContext=destination_namespace,destination_pod", "tcp:destinationContext=pod-name")), () -> 0, () -> now[0]);
        m.accept(DENIED, 0);
        m.accept(TO_WORLD_DROPPED, 0);
        m.podDeleted("fl/server");
        now[0] += 59_000_000_000L;
        m.accept(TO_WORLD_DROPPED, 0);
        assertThat(samples(m, "hubble_flows_processed_total")).contains("destination_pod=\"server\"");
        now[0] += 1_000_000_000L;
        m.accept(TO_WORLD_DROPPED, 0);
        // bound to the server by labelsContext: gone; the source context names the client, who lives on
        assertThat(samples(m, "hubble_flows_processed_total")).isEqualTo(
                "hubble_flows_processed_total{destination_namespace=\"\",destination_pod=\"\",protocol=\"TCP\",subtype=\"\",type=\"Drop\",verdict=\"DROPPED\"} 3.0");
        assertThat(samples(m, "hubble_drop_total")).contains("source=\"fl/client\"");
        m.podDeleted("fl/client");
        now[0] += 61_000_000_000L;
        m.accept(flow(Flow.Verdict.FORWARDED, "", tcp(80, SYN), SERVER, CLIENT, Flow.TrafficDirection.INGRESS, "TO_ENDPOINT", false, "new", ""), 0);
        assertThat(samples(m, "hubble_drop_total")).isEmpty();
        // pod-name alone does not bind a series to a pod (names repeat across namespaces), as in Hubble
        assertThat(samples(m, "hubble_tcp_flags_total")).contains("destination=\"client\"");
    }

    /** Random flows, seeded: every flow is counted once by flow, every drop once by drop, whatever the context labels. */
    @Test
    void countersSumToTheFlowsFed() {
        long seed = Long.getLong("sluice.seed", System.nanoTime());
        System.out.println("HubbleMetricsTest.countersSumToTheFlowsFed seed=" + seed + " (rerun: -Dsluice.seed=" + seed + ")");
        var rnd = new SplittableRandom(seed);
        HubbleMetrics m = metrics("flow:sourceContext=pod;destinationContext=namespace", "drop:labelsContext=source_pod,destination_ip",
                "port-distribution", "tcp", "policy");
        Flow.Verdict[] verdicts = {Flow.Verdict.FORWARDED, Flow.Verdict.DROPPED, Flow.Verdict.AUDIT, Flow.Verdict.TRANSLATED};
        String[] points = {"FROM_ENDPOINT", "TO_ENDPOINT", "TO_OVERLAY", "TO_STACK"};
        Flow.Endpoint[] ends = {CLIENT, SERVER, WORLD, HOST};
        int n = rnd.nextInt(200, 2000), drops = 0, forwardedNonReplyWithPorts = 0, syns = 0;
        for (int i = 0; i < n; i++) {
            Flow.Verdict v = verdicts[rnd.nextInt(verdicts.length)];
            Boolean reply = rnd.nextInt(3) == 0 ? null : rnd.nextBoolean();
            int flags = rnd.nextInt(256);
            Flow.L4 l4 = switch (rnd.nextInt(4)) {
                case 0 -> tcp(rnd.nextInt(1, 65536), flags);
                case 1 -> new Flow.Udp(rnd.nextInt(1, 65536), rnd.nextInt(1, 65536));
                case 2 -> new Flow.Icmpv4(rnd.nextInt(65536), 0, 8, 0);
                default -> new Flow.Other(47);
            };
            Flow f = flow(v, v == Flow.Verdict.DROPPED ? (rnd.nextBoolean() ? "POLICY_DENIED" : "CT_MAP_INSERTION_FAILED") : "", l4,
                    ends[rnd.nextInt(ends.length)], ends[rnd.nextInt(ends.length)],
                    rnd.nextBoolean() ? Flow.TrafficDirection.INGRESS : Flow.TrafficDirection.EGRESS, points[rnd.nextInt(points.length)], reply,
                    rnd.nextBoolean() ? "new" : "established", rnd.nextBoolean() ? "identity" : "none");
            m.accept(f, rnd.nextInt(25));
            if (v == Flow.Verdict.DROPPED) drops++;
            if (v == Flow.Verdict.FORWARDED && !Boolean.TRUE.equals(reply) && !(l4 instanceof Flow.Other)) forwardedNonReplyWithPorts++;
            if (v == Flow.Verdict.FORWARDED && l4 instanceof Flow.Tcp && (flags & SYN) != 0) syns++;
        }
        assertThat(sum(m, "hubble_flows_processed_total")).as("seed %d", seed).isEqualTo(n);
        assertThat(sum(m, "hubble_drop_total")).as("seed %d", seed).isEqualTo(drops);
        assertThat(sum(m, "hubble_port_distribution_total")).as("seed %d", seed).isEqualTo(forwardedNonReplyWithPorts);
        assertThat(sum(m, "hubble_tcp_flags_total", "flag=\"SYN\"") + sum(m, "hubble_tcp_flags_total", "flag=\"SYN-ACK\"")).as("seed %d", seed)
                .isEqualTo(syns);
        assertThat(sum(m, "hubble_policy_verdicts_total")).as("seed %d", seed).isLessThanOrEqualTo(n);
    }

    static double sum(HubbleMetrics m, String name, String... having) {
        return samples(m, name).lines().filter(l -> !l.isEmpty()).filter(l -> java.util.Arrays.stream(having).allMatch(l::contains))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }
}
