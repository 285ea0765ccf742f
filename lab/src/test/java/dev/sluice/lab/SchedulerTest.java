package dev.sluice.lab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.BadInputException;
import dev.sluice.config.Values;
import dev.sluice.k8s.Pod;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SchedulerTest {
    @Test void defaultPoolGivesSlash24PerNodeInOrder() {
        assertThat(Scheduler.podCidrs(Values.defaults(), 3)).extracting(Object::toString)
                .containsExactly("10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24");
    }

    @Test void firstPoolEntryAndMaskSizeFromValues() {
        Values v = Values.parse("v.yaml", """
                ipam:
                  operator:
                    clusterPoolIPv4PodCIDRList: ["10.244.0.0/16", "10.250.0.0/16"]
                    clusterPoolIPv4MaskSize: 26
                """, Map.of());
        assertThat(Scheduler.podCidrs(v, 2)).extracting(Object::toString).containsExactly("10.244.0.0/26", "10.244.0.64/26");
    }

    @Test void aPoolTooSmallForTheNodesIsBadInput() {
        Values v = Values.parse("v.yaml", """
                ipam:
                  operator:
                    clusterPoolIPv4PodCIDRList: ["10.1.0.0/24"]
                    clusterPoolIPv4MaskSize: 25
                """, Map.of());
        assertThat(Scheduler.podCidrs(v, 2)).hasSize(2);
        assertThatThrownBy(() -> Scheduler.podCidrs(v, 3)).isInstanceOf(BadInputException.class)
                .hasMessageContaining("clusterPoolIPv4MaskSize: 25 gives 2 node CIDR(s) in 10.1.0.0/24 for 3 nodes");
    }

    private static Pod pod(String key, String node) {
        String[] k = key.split("/");
        return new Pod(k[0], k[1], Map.of(), node, "", List.of());
    }

    @Test void roundRobinUnlessNodeNameIsSet() {
        var placed = Scheduler.place(List.of(pod("x/a", ""), pod("x/b", ""), pod("x/c", "node1"), pod("y/a", ""), pod("y/b", "")),
                List.of("node1", "node2"), 0);
        assertThat(placed).containsExactly(Map.entry("x/a", "node1"), Map.entry("x/b", "node2"), Map.entry("x/c", "node1"),
                Map.entry("y/a", "node1"), Map.entry("y/b", "node2"));
    }

    @Test void roundRobinContinuesAfterThePodsPlacedSoFar() {
        assertThat(Scheduler.place(List.of(pod("x/d", ""), pod("x/e", "")), List.of("node1", "node2", "node3"), 4))
                .containsExactly(Map.entry("x/d", "node2"), Map.entry("x/e", "node3"));
    }

    @Test void unknownNodeNameIsBadInput() {
        assertThatThrownBy(() -> Scheduler.place(List.of(pod("x/a", "node9")), List.of("node1", "node2"), 0))
                .isInstanceOf(BadInputException.class)
                .hasMessage("Pod x/a: spec.nodeName: node9 (expected one of: node1, node2)");
    }
}
