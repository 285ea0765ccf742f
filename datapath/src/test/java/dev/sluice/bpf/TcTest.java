package dev.sluice.bpf;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static dev.sluice.bpf.BpfTestSupport.sh;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** tc attach/detach/query on a veth pair inside a throw-away namespace; nothing in the root namespace. */
@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: network namespaces, BPF, netlink")
class TcTest {
    private static final String NS = "sl-test-" + BpfTestSupport.randomSuffix();
    private static final Path NS_PATH = Path.of("/var/run/netns", NS);

    @BeforeAll
    static void createNamespace() {
        BpfTestSupport.requireRoot();
        sh("ip", "netns", "add", NS);
        sh("ip", "-n", NS, "link", "add", "sv0", "type", "veth", "peer", "name", "sv1");
        sh("ip", "-n", NS, "link", "set", "sv0", "up");
        sh("ip", "-n", NS, "link", "set", "sv1", "up");
    }

    @AfterAll
    static void deleteNamespace() {
        if (Files.exists(NS_PATH)) sh("ip", "netns", "del", NS);
    }

    @Test
    void attachQueryReplaceDetachInsideTheNamespace() {
        try (BpfObject o = BpfTestSupport.loadTest()) {
            BpfProgram p = o.program("ffm_classify");
            int rootIfindex = Netns.ifindex("sv0");
            int ifindex = Netns.inNetns(NS_PATH, () -> Netns.ifindex("sv0"));
            assertThat(ifindex).isPositive();
            assertThat(rootIfindex).as("sv0 exists only in the test namespace").isZero();

            Optional<Integer> attached = Netns.inNetns(NS_PATH, () -> {
                assertThat(Tc.attachedProgramId(ifindex, Tc.Direction.INGRESS, 1, 1)).isEmpty(); // no clsact yet
                Tc.ensureClsact(ifindex);
                Tc.ensureClsact(ifindex);   // EEXIST is fine
                Tc.attach(ifindex, Tc.Direction.INGRESS, p, 1, 1);
                Tc.attach(ifindex, Tc.Direction.INGRESS, p, 1, 1);   // replace
                Tc.attach(ifindex, Tc.Direction.EGRESS, p, 2, 3);
                return Tc.attachedProgramId(ifindex, Tc.Direction.INGRESS, 1, 1);
            });
            assertThat(attached).hasValueSatisfying(id -> assertThat(id).isPositive());

            Netns.run(NS_PATH, () -> {
                assertThat(Tc.attachedProgramId(ifindex, Tc.Direction.EGRESS, 2, 3)).isEqualTo(attached);
                assertThat(Tc.attachedProgramId(ifindex, Tc.Direction.EGRESS, 1, 1)).isEmpty();
                Tc.detach(ifindex, Tc.Direction.INGRESS, 1, 1);
                Tc.detach(ifindex, Tc.Direction.INGRESS, 1, 1);   // idempotent
                assertThat(Tc.attachedProgramId(ifindex, Tc.Direction.INGRESS, 1, 1)).isEmpty();
                assertThat(Tc.attachedProgramId(ifindex, Tc.Direction.EGRESS, 2, 3)).isEqualTo(attached);
                Tc.detach(ifindex, Tc.Direction.EGRESS, 2, 3);
                assertThat(Tc.attachedProgramId(ifindex, Tc.Direction.EGRESS, 2, 3)).isEmpty();
                int peer = Netns.ifindex("sv1");
                Tc.detach(peer, Tc.Direction.EGRESS, 1, 1);   // no clsact there at all: still fine
                assertThat(Tc.attachedProgramId(peer, Tc.Direction.EGRESS, 1, 1)).isEmpty();
            });
        }
    }

    @Test
    void errorsNameTheInterface() {
        try (BpfObject o = BpfTestSupport.loadTest()) {
            BpfProgram p = o.program("ffm_classify");
            assertThatThrownBy(() -> Netns.run(NS_PATH, () -> Tc.attach(999_999, Tc.Direction.INGRESS, p, 1, 1)))
                    .isInstanceOf(BpfException.class).hasMessageContaining("tc ifindex 999999");
            assertThatThrownBy(() -> Tc.attach(1, Tc.Direction.INGRESS, p, 1, 0))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("priority: 0 (expected: 1-65535)");
        }
    }

    @Test
    void netnsPropagatesFailuresAndBadPaths() {
        assertThatThrownBy(() -> Netns.inNetns(NS_PATH, () -> { throw new IllegalStateException("boom"); }))
                .isInstanceOf(IllegalStateException.class).hasMessage("boom");
        assertThatThrownBy(() -> Netns.inNetns(Path.of("/var/run/netns/sl-test-absent"), () -> 1))
                .isInstanceOf(BpfException.class).hasMessageContaining("sl-test-absent").hasMessageContaining("errno 2");
    }
}
