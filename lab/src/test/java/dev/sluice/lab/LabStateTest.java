package dev.sluice.lab;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LabStateTest {
    static LabState sample() {
        var n1 = new LabState.NodeState("node1", "sl-t-node1", "172.30.0.11", "10.0.0.0/24", "/run/s/node1/agent.sock",
                "/run/s/node1", "/sys/fs/bpf/sluice/t/node1", "/run/s/logs/node1.log", 101);
        var n2 = new LabState.NodeState("node2", "sl-t-node2", "172.30.0.12", "10.0.1.0/24", "/run/s/node2/agent.sock",
                "/run/s/node2", "/sys/fs/bpf/sluice/t/node2", "/run/s/logs/node2.log", 0);
        var p = new LabState.PodState("x/a", "sl-t-p0123456789", "node1", "10.0.0.5", "c".repeat(64), "/run/s/logs/pod-x-a.log", 303);
        return new LabState("t", "native", "/run/s/values.yaml", "/run/s/manifests", List.of(n1, n2),
                new LabState.WorldState("sl-t-world", "172.30.0.200", 202, "", 0), Map.of("x/a", p));
    }

    @Test void jsonRoundTrip() {
        LabState s = sample();
        String json = s.toJson();
        assertThat(json).contains("\"agentPid\" : 101").contains("\"x/a\"").contains("\"routing\" : \"native\"");
        assertThat(LabState.fromJson(json)).isEqualTo(s);
    }

    @Test void recordedPidsAreTheStartedOnes() {
        assertThat(sample().pids()).containsExactly(101L, 202L, 303L);
    }

    @Test void podsStaySortedAndCanBeRemoved() {
        LabState s = sample().withPod(new LabState.PodState("a/z", "sl-t-p1", "node2", "10.0.1.2", "id", "log", 0));
        assertThat(s.pods().keySet()).containsExactly("a/z", "x/a");
        assertThat(s.withoutPod("a/z").pods().keySet()).containsExactly("x/a");
        assertThat(s.withNode(s.nodes().get(1).withAgentPid(7)).node("node2").orElseThrow().agentPid()).isEqualTo(7);
    }

    @Test void savesAtomicallyAndLoadsBack(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("lab.json");
        sample().save(f);
        assertThat(LabState.load(f)).contains(sample());
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString()).toList()).containsExactly("lab.json");
        }
        Files.writeString(f, "{ broken");
        assertThat(LabState.load(f)).isEmpty();
        assertThat(LabState.load(dir.resolve("missing.json"))).isEmpty();
    }
}
