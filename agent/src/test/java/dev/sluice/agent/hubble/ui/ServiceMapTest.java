package dev.sluice.agent.hubble.ui;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.agent.flow.Flow;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.SerializationFeature;
import tools.jackson.databind.json.JsonMapper;

class ServiceMapTest {
    static final JsonMapper JSON = JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build();

    static String golden(String name) throws IOException {
        try (InputStream in = ServiceMapTest.class.getResourceAsStream(name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).strip();
        }
    }

    @Test
    void workloadsArePodNamesWithoutTheirHashes() {
        assertThat(ServiceMap.workload("web-7d4b9c8f6d-x2k9p")).isEqualTo("web");
        assertThat(ServiceMap.workload("node-exporter-8zt2w")).isEqualTo("node-exporter");
        assertThat(ServiceMap.workload("client")).isEqualTo("client");
        assertThat(ServiceMap.workload("db-0")).isEqualTo("db-0");
        // "tools" is a word, not a hash: vowels do not occur in Kubernetes' hash alphabet
        assertThat(ServiceMap.workload("dev-tools")).isEqualTo("dev-tools");
        assertThat(ServiceMap.workload(new Flow.Endpoint(0, 9, "x", List.of(), "web-1", List.of(new Flow.Workload("web", "StatefulSet"))))).isEqualTo("web");
    }

    @Test
    void aNamespacesMapAsGolden() throws IOException {
        assertThat(JSON.writeValueAsString(ServiceMap.of(UiFlows.demo(), "demo")).strip()).isEqualTo(golden("demo-map.json"));
    }

    @Test
    void anEdgeIsAsRedAsItsWorstFlow() {
        var g = ServiceMap.of(UiFlows.demo(), null);
        assertThat(g.edges()).extracting(e -> e.source() + " -> " + e.target() + " " + e.verdict()).containsExactly(
                "demo/tool -> demo/api FORWARDED", "demo/web -> demo/api DROPPED", "host -> demo/tool AUDIT",
                "other/db-0 -> other/db-1 FORWARDED", "world -> demo/web FORWARDED");
        var webApi = g.edges().get(1);
        assertThat(webApi.verdicts()).containsExactly(java.util.Map.entry("DROPPED", 1), java.util.Map.entry("FORWARDED", 1));
        assertThat(webApi.deniedBy()).containsExactly("NetworkPolicy demo/server-in");
        assertThat(webApi.ports()).containsExactly("8080/TCP", "9090/TCP");
        assertThat(ServiceMap.of(List.of(), "demo").nodes()).isEmpty();
    }
}
