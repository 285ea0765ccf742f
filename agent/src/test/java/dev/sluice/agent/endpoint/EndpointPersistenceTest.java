package dev.sluice.agent.endpoint;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.json.JsonMapper;

/**
 * What an earlier run persisted, read without adopting it (the agent's first computation includes
 * the standalone containers among it), and files from before standalone containers existed.
 */
class EndpointPersistenceTest {
    static final JsonMapper JSON = JsonMapper.builder().build();
    @TempDir Path dir;

    @Test
    void persistedEndpointsAreReadAsTheyWereWritten() throws IOException {
        var m = new EndpointManager(dir, null, null, null, null);
        assertThat(m.persisted()).isEmpty();
        Endpoint web = new Endpoint(3, "c".repeat(64), "eth0", "podman/web", "/run/netns/netns-1", "10.0.0.7",
                EndpointManager.hostIfname("c".repeat(64), "eth0"), 200, "0e:00:00:00:00:03", "0a:00:00:00:00:03", 1450, true);
        Files.writeString(dir.resolve(web.hostIfname() + ".json"), JSON.writeValueAsString(web));
        // the temporary file of a write a crash interrupted is no endpoint (restore used to fail on it)
        Files.writeString(dir.resolve("." + web.hostIfname() + ".json"), "{\"id\":3,");
        assertThat(m.persisted()).containsExactly(web);
        assertThat(m.list()).as("read, not adopted").isEmpty();
    }

    @Test
    void anEndpointPersistedBeforeStandaloneExistedReadsAsAKubernetesPod() throws IOException {
        Files.writeString(dir.resolve("lxca.json"), "{\"id\":7,\"containerId\":\"c-a\",\"ifname\":\"eth0\",\"pod\":\"x/a\",\"netns\":\"/dev/null\","
                + "\"ip\":\"10.0.0.5\",\"hostIfname\":\"lxca\",\"hostIfindex\":100,\"hostMac\":\"0e:00:00:00:00:01\",\"podMac\":\"0a:00:00:00:00:01\","
                + "\"mtu\":1450}");
        assertThat(new EndpointManager(dir, null, null, null, null).persisted()).singleElement()
                .satisfies(e -> assertThat(e.standalone()).isFalse());
    }
}
