package dev.sluice.agent.lb;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Where the socket load balancer may attach: never, by default, to every process of a shared host. */
class SocketLbChoiceTest {
    static final Optional<Path> MOUNT = Optional.of(Path.of("/sys/fs/cgroup/unified"));
    static final Path NODE = Path.of("/sys/fs/cgroup/unified/sluice-lab-node1");

    @Test void anAgentThatIsNoNodesTakesNoDefault() {
        var c = SocketLb.choose(Optional.empty(), "", false, MOUNT, true);
        assertThat(c.cgroup()).isEmpty();
        assertThat(c.reason()).contains("no cgroup given").contains("--cgroup-root");
    }

    @Test void aNodesAgentInTheHostNamespaceTakesTheCgroup2Root() {
        assertThat(SocketLb.choose(Optional.empty(), "", true, MOUNT, true).cgroup()).isEqualTo(MOUNT);
    }

    @Test void theRootIsRefusedOutsideTheHostNamespaceHoweverItIsNamed() {
        for (var c : java.util.List.of(SocketLb.choose(Optional.empty(), "", true, MOUNT, false),
                SocketLb.choose(Optional.empty(), "/sys/fs/cgroup/unified/", true, MOUNT, false),
                SocketLb.choose(Optional.of(Path.of("/sys/fs/cgroup/unified/./")), "", false, MOUNT, false))) {
            assertThat(c.cgroup()).isEmpty();
            assertThat(c.reason()).contains("cgroup2 root").contains("outside the host's network namespace");
        }
    }

    @Test void theFlagWinsOverTheValuesKey() {
        var c = SocketLb.choose(Optional.of(NODE), "/sys/fs/cgroup/unified/other", false, MOUNT, false);
        assertThat(c.cgroup()).contains(NODE);
        assertThat(c.reason()).isEmpty();
        assertThat(SocketLb.choose(Optional.empty(), NODE.toString(), false, MOUNT, false).cgroup()).contains(NODE);
    }

    @Test void noCgroup2MountAndNoCgroupGivenSaysSo() {
        assertThat(SocketLb.choose(Optional.empty(), "", true, Optional.empty(), true).reason()).contains("no cgroup2 file system");
    }
}
