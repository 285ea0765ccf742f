package dev.sluice.lab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.BadInputException;
import org.junit.jupiter.api.Test;

class LabNamesTest {
    @Test void labNamesAreShortAndPlain() {
        assertThat(LabNames.validateLab("sluice")).isEqualTo("sluice");
        assertThat(LabNames.validateLab("a1")).isEqualTo("a1");
        for (String bad : new String[] {"", "toolongname", "Upper", "a-b", "a_b", "a.b", "a b"})
            assertThatThrownBy(() -> LabNames.validateLab(bad)).isInstanceOf(BadInputException.class)
                    .hasMessageContaining("--name").hasMessageContaining("expected: 1-8 characters");
    }

    @Test void nodeCountIsBounded() {
        assertThat(LabNames.validateNodes(1)).isEqualTo(1);
        assertThat(LabNames.validateNodes(16)).isEqualTo(16);
        assertThatThrownBy(() -> LabNames.validateNodes(0)).hasMessage("--nodes: 0 (expected: 1-16)");
        assertThatThrownBy(() -> LabNames.validateNodes(17)).isInstanceOf(BadInputException.class);
    }

    @Test void namespacesAreNamedAfterTheLab() {
        assertThat(LabNames.fabricNetns("sluice")).isEqualTo("sl-sluice-fabric");
        assertThat(LabNames.nodeNetns("sluice", 3)).isEqualTo("sl-sluice-node3");
        assertThat(LabNames.worldNetns("x")).isEqualTo("sl-x-world");
        assertThat(LabNames.nodeIp(1)).isEqualTo("172.30.0.11");
        assertThat(LabNames.nodeIp(16)).isEqualTo("172.30.0.26");
        assertThat(LabNames.fabricPort(2)).isEqualTo("n2");
        assertThat(LabNames.nodeIndex("node12")).isEqualTo(12);
        assertThat(LabNames.nodeIndex("node0")).isEqualTo(-1);
        assertThat(LabNames.nodeIndex("world")).isEqualTo(-1);
    }

    @Test void podNamespacesAreStableShortAndDistinct() {
        String a = LabNames.podNetns("abcdefgh", "some-long-namespace-name/a-very-long-pod-name-that-goes-on-and-on");
        assertThat(a).startsWith("sl-abcdefgh-p").hasSizeLessThanOrEqualTo(32);
        assertThat(LabNames.podNetns("abcdefgh", "some-long-namespace-name/a-very-long-pod-name-that-goes-on-and-on")).isEqualTo(a);
        assertThat(LabNames.podNetns("abcdefgh", "x/a")).isNotEqualTo(LabNames.podNetns("abcdefgh", "x/b"));
        assertThat(LabNames.podNetns("lab", "x/a")).matches("sl-lab-p[0-9a-f]{10}");
        // another lab's prefix never matches: names have no '-'
        assertThat(LabNames.podNetns("ab", "x/a")).doesNotStartWith(LabNames.prefix("a"));
    }

    @Test void containerIdsLookLikeARuntimes() {
        assertThat(LabNames.containerId("sluice", "x/a")).matches("[0-9a-f]{64}")
                .isEqualTo(LabNames.containerId("sluice", "x/a")).isNotEqualTo(LabNames.containerId("other", "x/a"));
        assertThat(LabNames.podLogName("x/a")).isEqualTo("pod-x-a");
    }
}
