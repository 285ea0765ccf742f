package dev.sluice.bpf;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

import static dev.sluice.bpf.BpfTestSupport.loadTest;
import static dev.sluice.bpf.BpfTestSupport.object;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: network namespaces, BPF, netlink")
class BpfObjectTest {

    @Test
    void opensAndLoadsTheTestObject() {
        try (BpfObject o = loadTest()) {
            assertThat(o.path()).isEqualTo(object("ffm_test"));
            assertThat(o.mapNames()).contains("ffm_hash", "ffm_percpu", "ffm_lpm", "ffm_events", "ffm_nested_map");
            assertThat(o.programNames()).containsExactly("ffm_classify");
            BpfMap hash = o.map("ffm_hash");
            assertThat(hash.fd()).isPositive();
            assertThat(hash.type()).isEqualTo(BpfMap.TYPE_HASH);
            assertThat(hash.keySize()).isEqualTo(8);
            assertThat(hash.valueSize()).isEqualTo(16);
            assertThat(hash.maxEntries()).isEqualTo(1024);
            assertThat(o.map("ffm_hash")).isSameAs(hash);
            assertThat(o.program("ffm_classify").fd()).isPositive();
        }
    }

    @Test
    void absentMapOrProgramNamesObjectAndName() {
        try (BpfObject o = loadTest()) {
            assertThatThrownBy(() -> o.map("nope")).isInstanceOf(BpfException.class)
                    .hasMessageContaining("ffm_test.o").hasMessageContaining("map 'nope'").hasMessageContaining("ffm_hash");
            assertThatThrownBy(() -> o.program("nope")).isInstanceOf(BpfException.class)
                    .hasMessageContaining("ffm_test.o").hasMessageContaining("program 'nope'");
        }
    }

    @Test
    void missingFileSaysHowToBuildIt() {
        assertThatThrownBy(() -> BpfObject.open(Path.of("/nonexistent/x.o"), BpfObject.OpenOptions.defaults()))
                .isInstanceOf(BpfException.class).hasMessageContaining("/nonexistent/x.o").hasMessageContaining("make bpf")
                .satisfies(e -> assertThat(((BpfException) e).errno()).isEqualTo(2));
    }

    @Test
    void rejectedProgramCarriesErrnoAndVerifierLog() {
        try (BpfObject o = BpfObject.open(object("ffm_bad"), BpfObject.OpenOptions.defaults())) {
            assertThat(o.programNames()).containsExactlyInAnyOrder("ffm_ok", "ffm_oob");
            assertThatThrownBy(o::load).isInstanceOfSatisfying(BpfException.class, e -> {
                assertThat(e.errno()).isEqualTo(13); // EACCES: the verifier said no
                assertThat(e.subject()).isEqualTo("program 'ffm_oob' (ffm_bad.o)");
                assertThat(e.verifierLog()).hasValueSatisfying(log -> assertThat(log).contains("invalid access to packet"));
                assertThat(e.getMessage()).startsWith("program 'ffm_oob' (ffm_bad.o): load: Permission denied (errno 13)")
                        .contains("verifier log:").contains("invalid access to packet");
            });
            assertThat(o.isLoaded()).isFalse();
        }
    }

    @Test
    void logLevelKeepsTheLogOfASuccessfulLoad() {
        try (BpfObject o = BpfObject.open(object("ffm_test"), BpfObject.OpenOptions.defaults().withLogLevel(2))) {
            o.load();
            assertThat(o.program("ffm_classify").verifierLog()).hasValueSatisfying(l -> assertThat(l).contains("processed"));
        }
    }

    @Test
    void closedObjectInvalidatesItsMaps() {
        BpfMap m;
        try (BpfObject o = loadTest()) {
            m = o.map("ffm_hash");
        }
        assertThatThrownBy(() -> m.keys()).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
    }

    @Test
    void aDetachedProgramOutlivesItsObjectUntilClosed() {
        java.util.Map<String, BpfProgram> progs;
        try (BpfObject o = loadTest()) {
            progs = o.detachPrograms();
            assertThat(progs).containsOnlyKeys("ffm_classify");
            assertThat(progs.get("ffm_classify").fd()).isNotEqualTo(o.program("ffm_classify").fd());
        }
        BpfProgram p = progs.get("ffm_classify");
        // libbpf's object is gone; the program still runs through its own fd
        byte[] frame = new byte[64];
        frame[12] = 0x08; // IPv4 ethertype; the rest zero: whatever the verdict, the run itself must work
        assertThat(p.testRun(TestRun.Input.of(frame)).durationNs()).isNotNegative();
        p.close();
        p.close(); // idempotent
        assertThatThrownBy(() -> p.testRun(TestRun.Input.of(frame))).isInstanceOf(BpfException.class);
    }
}
