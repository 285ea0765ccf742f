package dev.sluice.agent;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

/** The endpoint view keeps the JSON the CLI reads, "interface" included (a Java keyword, so renamed in the record). */
class AgentViewsJsonTest {
    @Test void endpointJson() {
        var e = new AgentViews.EndpointView(3, "x/a", "10.0.0.2", 77, true, false, "ok", "lxc1", 9, "c1");
        assertThat(JsonMapper.builder().build().writeValueAsString(e)).isEqualTo("{\"id\":3,\"pod\":\"x/a\",\"ip\":\"10.0.0.2\",\"identity\":77,"
                + "\"ingressEnforced\":true,\"egressEnforced\":false,\"policy\":\"ok\",\"interface\":\"lxc1\",\"ifindex\":9,\"containerID\":\"c1\"}");
    }
}
