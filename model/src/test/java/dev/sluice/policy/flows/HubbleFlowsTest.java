package dev.sluice.policy.flows;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.BadInputException;
import dev.sluice.policy.Direction;
import java.io.BufferedReader;
import java.io.StringReader;
import org.junit.jupiter.api.Test;

/** Hubble JSON flows in: which carry a policy verdict, which end was checked, and bad lines named by line and field. */
class HubbleFlowsTest {
    static final String HUBBLE = """
            {"flow":{"time":"2026-12-02T10:00:00Z","verdict":"DROPPED","drop_reason":133,"IP":{"source":"10.0.0.7","destination":"10.0.1.4","ipVersion":"IPv4"},\
            "l4":{"TCP":{"source_port":40316,"destination_port":8080,"flags":{"SYN":true}}},\
            "source":{"identity":23807,"namespace":"fl","labels":["k8s:app=client","k8s:io.kubernetes.pod.namespace=fl","k8s:io.cilium.k8s.namespace.labels.team=a"],"pod_name":"client"},\
            "destination":{"ID":2,"identity":52340,"namespace":"fl","labels":["k8s:app=server"],"pod_name":"server"},\
            "Type":"L3_L4","node_name":"node2","traffic_direction":"INGRESS","trace_observation_point":"TO_ENDPOINT","drop_reason_desc":"POLICY_DENIED"},\
            "node_name":"node2","time":"2026-12-02T10:00:00Z"}
            {"node_status":{"state_change":"NODE_CONNECTED","node_names":["node1"]}}

            {"time":"2026-12-02T10:00:01Z","verdict":"FORWARDED","IP":{"source":"10.0.1.4","destination":"10.0.0.7"},"l4":{"UDP":{"source_port":53,"destination_port":5000}},\
            "source":{"namespace":"fl","pod_name":"server","labels":["k8s:app=server"]},"destination":{"namespace":"fl","pod_name":"client"},\
            "is_reply":true,"traffic_direction":"EGRESS","trace_observation_point":"TO_ENDPOINT"}
            {"flow":{"verdict":"FORWARDED","IP":{"source":"10.0.0.7","destination":"10.0.1.4"},"l4":{"TCP":{"destination_port":80}},\
            "source":{"namespace":"fl","pod_name":"client"},"destination":{"namespace":"fl","pod_name":"server"},"traffic_direction":"INGRESS","trace_observation_point":"FROM_NETWORK"}}
            {"flow":{"verdict":"DROPPED","drop_reason_desc":"CT_MAP_INSERTION_FAILED","IP":{"source":"10.0.0.7","destination":"10.0.1.4"},"l4":{"TCP":{"destination_port":80}},\
            "source":{"namespace":"fl","pod_name":"client"},"destination":{"namespace":"fl","pod_name":"server"},"traffic_direction":"INGRESS"}}
            """;

    @Test void hubbleAndBareFlowsAndWhichCarryAPolicyVerdict() throws Exception {
        var flows = HubbleFlows.read("flows.json", new BufferedReader(new StringReader(HUBBLE)));
        assertThat(flows).hasSize(4);
        RecordedFlow d = flows.get(0);
        assertThat(d.where()).isEqualTo("flows.json:1");
        assertThat(d.evaluated()).isTrue();
        assertThat(d.policyVerdict()).isEqualTo("DROPPED");
        assertThat(d.local().key()).isEqualTo("fl/server");
        assertThat(d.peer().labels()).containsExactly(java.util.Map.entry("app", "client"));
        assertThat(d.peer().namespaceLabels()).containsExactly(java.util.Map.entry("team", "a"));
        assertThat(d.l4()).isEqualTo("TCP/8080");
        RecordedFlow reply = flows.get(1);
        assertThat(reply.where()).isEqualTo("flows.json:4");
        assertThat(reply.evaluated()).isTrue();
        assertThat(reply.direction()).isEqualTo(Direction.EGRESS);
        assertThat(reply.opener().key()).as("a reply's opener is its destination").isEqualTo("fl/client");
        assertThat(reply.local().key()).isEqualTo("fl/client");
        assertThat(reply.l4()).as("the connection's port: the reply's source port").isEqualTo("UDP/53");
        assertThat(flows.get(2).skip()).isEqualTo("no policy check where it was seen");
        assertThat(flows.get(3).skip()).isEqualTo("dropped, not by policy (CT_MAP_INSERTION_FAILED)");
    }

    static void bad(String line, String message) {
        assertThatThrownBy(() -> HubbleFlows.read("f.json", new BufferedReader(new StringReader("\n" + line + "\n"))))
                .isInstanceOf(BadInputException.class).hasMessage(message);
    }

    @Test void aBadLineIsOneMessageNamingFileLineAndField() {
        bad("{not json", "f.json:2: not JSON (expected: one Hubble flow object a line, as hubble observe -o json prints them)");
        bad("[1]", "f.json:2: array (expected: a Hubble flow object)");
        bad("{\"flow\":{\"IP\":{}}}", "f.json:2: verdict: missing (expected: FORWARDED, DROPPED, AUDIT, TRANSLATED, ...)");
        bad("{\"flow\":{\"verdict\":\"forwarded\",\"IP\":{}}}", "f.json:2: verdict: forwarded (expected: one of FORWARDED, DROPPED, AUDIT, TRANSLATED, ...)");
        bad("{\"flow\":{\"verdict\":\"FORWARDED\"}}", "f.json:2: IP: missing (expected: an object with source and destination addresses)");
        bad("{\"flow\":{\"verdict\":\"FORWARDED\",\"IP\":{\"source\":\"10.0.0.1\",\"destination\":\"::1\"}}}",
                "f.json:2: IP.destination: ::1 (expected: an IPv4 address)");
        bad("{\"flow\":{\"verdict\":\"FORWARDED\",\"IP\":{\"source\":\"10.0.0.1\",\"destination\":\"10.0.0.2\"},\"l4\":{\"TCP\":{\"destination_port\":70000}}}}",
                "f.json:2: l4.TCP.destination_port: 70000 (expected: 0-65535)");
        bad("{\"flow\":{\"verdict\":\"FORWARDED\",\"IP\":{\"source\":\"10.0.0.1\",\"destination\":\"10.0.0.2\"},\"l4\":{\"GRE\":{}}}}",
                "f.json:2: l4.GRE: unknown (expected: TCP, UDP, SCTP or ICMPv4)");
        bad("{\"flow\":{\"verdict\":\"FORWARDED\",\"IP\":{\"source\":\"10.0.0.1\",\"destination\":\"10.0.0.2\"},\"source\":{\"pod_name\":\"a\"}}}",
                "f.json:2: source.namespace: missing (expected: pod_name and namespace together)");
        bad("{\"flow\":{\"verdict\":\"FORWARDED\",\"IP\":{\"source\":\"10.0.0.1\",\"destination\":\"10.0.0.2\"},\"traffic_direction\":\"UP\"}}",
                "f.json:2: traffic_direction: UP (expected: INGRESS, EGRESS or TRAFFIC_DIRECTION_UNKNOWN)");
    }

    @Test void workloadsAndStableLabels() {
        assertThat(Workloads.of("web-5c9d7f6b8-abcde", java.util.Map.of("pod-template-hash", "5c9d7f6b8"))).isEqualTo("web");
        assertThat(Workloads.of("db-12", java.util.Map.of("statefulset.kubernetes.io/pod-name", "db-12"))).isEqualTo("db");
        assertThat(Workloads.of("agent-x7k2p", java.util.Map.of("controller-revision-hash", "6d4c"))).isEqualTo("agent");
        assertThat(Workloads.of("backup-29001-q8z7r", java.util.Map.of("job-name", "backup-29001"))).isEqualTo("backup-29001");
        assertThat(Workloads.of("web-1", java.util.Map.of())).as("no controller label: the pod itself").isEqualTo("web-1");
        assertThat(Workloads.stable(java.util.Map.of("app", "web", "pod-template-hash", "5c9", "controller-revision-hash", "x",
                "statefulset.kubernetes.io/pod-name", "db-0", "io.cilium.k8s.policy.serviceaccount", "default")))
                .containsExactly(java.util.Map.entry("app", "web"));
    }
}
