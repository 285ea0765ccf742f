package dev.sluice.agent.lb;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

/** The Services API's records keep the JSON the CLI reads: field names, a flat conntrack part, no null backend. */
class LbViewsJsonTest {
    static final JsonMapper JSON = JsonMapper.builder().build();

    @Test void fieldNamesAndShape() {
        var svc = new LbRuntime.ServiceView("a/web", "ClusterIP", "10.96.0.10", List.of(), List.of(), List.of("80/TCP"), List.of(0),
                Map.of("http", 2), List.of(new LbRuntime.ConditionView("INFO", "NoBackends", "m")), true);
        assertThat(JSON.writeValueAsString(svc)).isEqualTo("{\"service\":\"a/web\",\"type\":\"ClusterIP\",\"clusterIP\":\"10.96.0.10\","
                + "\"externalIPs\":[],\"ingressIPs\":[],\"ports\":[\"80/TCP\"],\"nodePorts\":[0],\"backends\":{\"http\":2},"
                + "\"conditions\":[{\"level\":\"INFO\",\"reason\":\"NoBackends\",\"message\":\"m\"}],\"ok\":true}");
        var ct = new LbRuntime.ConntrackView(new CtGc.StatusView(1, 2, 3, 4, 5, 6, 7, 8, 9), 10, 11, 12, 13, 14);
        var tree = JSON.valueToTree(ct);
        assertThat(tree.path("runs").asLong()).isEqualTo(1);
        assertThat(tree.path("lastMicros").asLong()).isEqualTo(9);
        assertThat(tree.path("refusedFull").asLong()).isEqualTo(14);
        assertThat(tree.has("gc")).as("the GC counters sit beside the fill counts, as before").isFalse();
        var entry = new LbRuntime.CtView("TCP", "10.0.0.1:1", "10.0.0.2:80", "out", 5, 0, 0, null, "", 0, 1, 2);
        assertThat(JSON.valueToTree(entry).has("backend")).isFalse();
    }
}
