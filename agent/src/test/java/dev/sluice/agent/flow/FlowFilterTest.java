package dev.sluice.agent.flow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.BadInputException;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

class FlowFilterTest {
    static final JsonMapper JSON = JsonMapper.builder().build();

    static Flow flow(String src, String srcPod, String dst, String dstPod, Flow.Verdict v, Flow.L4 l4) {
        return new Flow(Instant.EPOCH, "u", v, 0, "", new Flow.Ip(src, dst, "IPv4"), l4, ep(srcPod), ep(dstPod), "n", null, null,
                Flow.TrafficDirection.EGRESS, "TO_STACK", false, new Flow.EventType(4, 3), List.of(), List.of(), List.of(), List.of(), "",
                new Flow.Extra(0, "", "", "", "", 0, 0, ""));
    }

    static Flow.Endpoint ep(String pod) {
        if (pod.isEmpty()) return new Flow.Endpoint(0, 2, "", List.of("reserved:world"), "", List.of());
        String[] p = pod.split("/");
        String app = p[1].replaceAll("-\\d+$", "");
        return new Flow.Endpoint(0, app.equals("client") ? 300 : 301, p[0],
                List.of("k8s:app=" + app, "k8s:io.kubernetes.pod.namespace=" + p[0]), p[1], List.of());
    }

    static FlowFilter filter(String json) { return FlowFilter.parse(JSON.readTree(json)); }

    final Flow aToB = flow("10.0.0.5", "x/client-1", "10.0.1.6", "y/db-0", Flow.Verdict.FORWARDED, new Flow.Tcp(40000, 5432, Flow.TcpFlags.of(2)));
    final Flow aToWorld = flow("10.0.0.5", "x/client-1", "8.8.8.8", "", Flow.Verdict.DROPPED, new Flow.Udp(5353, 53));
    final Flow worldToB = flow("8.8.4.4", "", "10.0.1.6", "y/db-0", Flow.Verdict.AUDIT, new Flow.Icmpv4(7, 0, 8, 0));
    final List<Flow> all = List.of(aToB, aToWorld, worldToB);

    List<Flow> select(String json) { return all.stream().filter(filter(json)).toList(); }

    @Test
    void eachFilterSelectsExactlyWhatItNames() {
        assertThat(select("{}")).isEqualTo(all);
        assertThat(select("{\"pod\":\"y/db\"}")).containsExactly(aToB, worldToB);
        assertThat(select("{\"pod\":\"client\"}")).containsExactly(aToB, aToWorld);
        assertThat(select("{\"pod\":\"x/db\"}")).isEmpty();
        assertThat(select("{\"namespace\":\"x\"}")).containsExactly(aToB, aToWorld);
        assertThat(select("{\"fromPod\":\"x/client-1\"}")).containsExactly(aToB, aToWorld);
        assertThat(select("{\"toPod\":\"x/client-1\"}")).isEmpty();
        assertThat(select("{\"toPod\":[\"y/db-0\"],\"fromPod\":[\"x/\"]}")).containsExactly(aToB);
        assertThat(select("{\"fromIp\":\"8.8.0.0/16\"}")).containsExactly(worldToB);
        assertThat(select("{\"toIp\":[\"8.8.8.8\",\"10.0.1.6\"]}")).containsExactly(aToB, aToWorld, worldToB);
        assertThat(select("{\"verdict\":\"dropped\"}")).containsExactly(aToWorld);
        assertThat(select("{\"verdict\":[\"AUDIT\",\"FORWARDED\"]}")).containsExactly(aToB, worldToB);
        assertThat(select("{\"protocol\":\"udp\"}")).containsExactly(aToWorld);
        assertThat(select("{\"protocol\":\"ICMP\"}")).containsExactly(worldToB);
        assertThat(select("{\"port\":\"5432\"}")).containsExactly(aToB);
        assertThat(select("{\"port\":5353}")).containsExactly(aToWorld);
        assertThat(select("{\"port\":\"53\",\"verdict\":\"FORWARDED\"}")).isEmpty();
    }

    @Test
    void labelsIdentitiesNamespacesAndServicesBySide() {
        Flow viaService = new Flow(Instant.EPOCH, "u", Flow.Verdict.TRANSLATED, 0, "", new Flow.Ip("10.0.0.5", "10.0.1.6", "IPv4"),
                new Flow.Tcp(40000, 5432, Flow.TcpFlags.of(2)), ep("x/client-1"), ep("y/db-0"), "n", null, new Flow.Service("db", "y"),
                Flow.TrafficDirection.EGRESS, "FROM_ENDPOINT", false, new Flow.EventType(4, 0), List.of(), List.of(), List.of(), List.of(), "",
                new Flow.Extra(0, "", "", "", "", 0, 0, ""));
        var withService = new java.util.ArrayList<>(all);
        withService.add(viaService);
        java.util.function.Function<String, List<Flow>> sel = json -> withService.stream().filter(filter(json)).toList();
        assertThat(sel.apply("{\"label\":\"app=db\"}")).containsExactly(aToB, worldToB, viaService);
        assertThat(sel.apply("{\"fromLabel\":\"k8s:app=client\"}")).containsExactly(aToB, aToWorld, viaService);
        assertThat(sel.apply("{\"fromLabel\":\"app!=client\"}")).containsExactly(worldToB);
        assertThat(sel.apply("{\"toLabel\":\"reserved:world\"}")).containsExactly(aToWorld);
        assertThat(sel.apply("{\"toLabel\":\"app\"}")).containsExactly(aToB, worldToB, viaService);
        assertThat(sel.apply("{\"label\":\"app=client,io.kubernetes.pod.namespace=y\"}")).isEmpty(); // one endpoint must meet both
        assertThat(sel.apply("{\"fromLabel\":\"other:app=client\"}")).isEmpty(); // the source part must match when given
        assertThat(sel.apply("{\"identity\":\"2\"}")).containsExactly(aToWorld, worldToB);
        assertThat(sel.apply("{\"fromIdentity\":[\"300\"],\"toIdentity\":\"301\"}")).containsExactly(aToB, viaService);
        assertThat(sel.apply("{\"fromNamespace\":\"x\",\"toNamespace\":\"y\"}")).containsExactly(aToB, viaService);
        assertThat(sel.apply("{\"toService\":\"y/db\"}")).containsExactly(viaService);
        assertThat(sel.apply("{\"toService\":\"db\"}")).containsExactly(viaService);
        assertThat(sel.apply("{\"toService\":\"x/db\"}")).isEmpty();
        assertThat(sel.apply("{\"fromService\":\"db\"}")).isEmpty();
        assertThat(sel.apply("{\"ip\":\"8.8.0.0/16\"}")).containsExactly(aToWorld, worldToB);
        // either side: the same endpoint meets the pod and the label
        assertThat(sel.apply("{\"pod\":\"y/db\",\"label\":\"app=client\"}")).isEmpty();
    }

    @Test
    void badFiltersNameTheFieldAndWhatWasExpected() {
        assertThatThrownBy(() -> filter("{\"verdict\":\"ALLOWED\"}")).isInstanceOf(BadInputException.class)
                .hasMessage("verdict: ALLOWED (expected one of: FORWARDED, DROPPED, ERROR, AUDIT, TRANSLATED)");
        assertThatThrownBy(() -> filter("{\"port\":\"70000\"}")).hasMessage("port: 70000 (expected: 1-65535)");
        assertThatThrownBy(() -> filter("{\"protocol\":\"quic\"}")).hasMessage("protocol: quic (expected one of: tcp, udp, icmp, sctp, http, dns, kafka)");
        assertThatThrownBy(() -> filter("{\"fromIp\":\"10.0.0.300\"}")).hasMessage("fromIp: 10.0.0.300 (expected: an IPv4 address or CIDR)");
        assertThatThrownBy(() -> filter("{\"pod\":\"a/b/c\"}")).hasMessage("pod: \"a/b/c\" (expected: [namespace/]pod-name-prefix)");
        assertThatThrownBy(() -> filter("{\"namespace\":\"\"}")).hasMessage("namespace: \"\" (expected: a namespace name)");
        assertThatThrownBy(() -> filter("{\"port\":{\"a\":1}}")).hasMessage("port: {\"a\":1} (expected: a string or a list of strings)");
        assertThatThrownBy(() -> filter("{\"fromLabel\":\"a=b=c\"}"))
                .hasMessage("fromLabel: \"a=b=c\" (expected: a label selector such as app=web,tier!=db or k8s:app)");
        assertThatThrownBy(() -> filter("{\"toIdentity\":\"web\"}")).hasMessage("toIdentity: web (expected: a numeric identity)");
        assertThatThrownBy(() -> filter("{\"toService\":\"a/b/c\"}")).hasMessage("toService: \"a/b/c\" (expected: [namespace/]service-name)");
        assertThatThrownBy(() -> filter("{\"service\":\"db\"}")).hasMessage("service: [db] (expected: fromService or toService)");
        assertThatThrownBy(() -> filter("{\"toNamespace\":\"a/b\"}")).hasMessage("toNamespace: \"a/b\" (expected: a namespace name)");
    }
}
