package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.agent.flow.FlowObserver;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** {@code sluice status}'s table from an agent's answer, and the flow counters' JSON names. */
class StatusCommandTest {
    static final String STATUS = """
            {"node":"node2","health":"ok","programmedGeneration":7,"routing":"tunnel","nodeIP":"172.30.0.12",
             "mtu":{"underlay":1500,"pod":1450},"ipam":{"cidr":"10.0.1.0/24","used":2,"capacity":254},
             "endpoints":[{"pod":"fl/server","ip":"10.0.1.4","identity":52340,"interface":"lxc1a2b"}],
             "programs":[{"program":"from_container","device":"lxc1a2b","direction":"ingress"}],
             "maps":[{"name":"sl_ct_tcp","entries":3,"max":524288}],
             "flows":%s,
             "errors":[]}
            """;

    static String table(String flows) {
        JsonNode n = Output.JSON.readTree(STATUS.formatted(flows));
        var buf = new ByteArrayOutputStream();
        StatusCommand.printNode(n, new PrintStream(buf, true, StandardCharsets.UTF_8));
        return buf.toString(StandardCharsets.UTF_8);
    }

    @Test
    void theTableShowsTheFlowRingAndWhatWasLost() {
        String flows = Output.JSON.writeValueAsString(new FlowObserver.Counters(4095, 4095, 10_240, 6145, 17, 0, 34.13));
        assertThat(table(flows)).isEqualTo("""
                Node node2: ok
                  Routing:     tunnel (node IP 172.30.0.12)
                  MTU:         underlay 1500, pod 1450
                  IPAM:        10.0.1.0/24, 2/254 used
                  Generation:  7 programmed
                  Endpoints:   1
                    fl/server                10.0.1.4        identity 52340  lxc1a2b
                  Flows:       4095/4095 (100.00%), 34.13 flows/s, 10240 seen, 6145 overwritten, 17 lost by the data path
                  Programs:    1 attached
                    lxc1a2b         ingress  from_container
                  Maps:
                    sl_ct_tcp      3/524288
                """);
    }

    @Test
    void eventsNotEnrichedAndAnUnreadableLostCounterAreSaid() {
        assertThat(StatusCommand.flows(Output.JSON.valueToTree(new FlowObserver.Counters(4095, 12, 12, 0, -1, 2, 0.5))))
                .isEqualTo("12/4095 (0.29%), 0.50 flows/s, 12 seen, 0 overwritten, lost events unreadable, 2 not enriched");
    }

    @Test
    void theJsonNamesTheCounters() {
        JsonNode j = Output.JSON.valueToTree(new FlowObserver.Counters(4095, 1, 2, 3, 4, 5, 6.5));
        assertThat(j.toString()).isEqualTo(
                "{\"capacity\":4095,\"flows\":1,\"seen\":2,\"overwritten\":3,\"lostEvents\":4,\"notEnriched\":5,\"flowsPerSecond\":6.5}");
    }

    @Test
    void theSocketLbLineSaysWhereItIsAttachedAndWhatItDid() {
        JsonNode on = Output.JSON.readTree(Output.JSON.writeValueAsString(new dev.sluice.agent.lb.SocketLb.StatusView(true, false, "on",
                "/sys/fs/cgroup/unified/sluice-lab-node1", "", java.util.List.of("INET4_CONNECT=12"), 3,
                new java.util.LinkedHashMap<>(java.util.Map.of("connect", 12L)))));
        assertThat(StatusCommand.socketLb(on)).isEqualTo("on (cgroup /sys/fs/cgroup/unified/sluice-lab-node1, node and pods, 3 namespaces; connect 12)");
        JsonNode off = Output.JSON.readTree("{\"state\":\"off\",\"reason\":\"socketLB.enabled is false\"}");
        assertThat(StatusCommand.socketLb(off)).isEqualTo("off (socketLB.enabled is false)");
    }
}
