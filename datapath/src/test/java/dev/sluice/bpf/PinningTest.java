package dev.sluice.bpf;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import dev.sluice.bpf.BpfTestSupport.FfmKey;
import dev.sluice.bpf.BpfTestSupport.FfmValue;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static dev.sluice.bpf.BpfTestSupport.ip;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: network namespaces, BPF, netlink")
class PinningTest {
    private Path dir;

    @BeforeEach
    void mount() {
        BpfTestSupport.requireRoot();
        Bpffs.ensureMounted(Path.of("/sys/fs/bpf"));
        dir = Path.of("/sys/fs/bpf/sl-test-" + BpfTestSupport.randomSuffix());
        Bpffs.ensureMounted(dir);
        assertThat(Bpffs.isBpffs(dir)).isTrue();
    }

    @AfterEach
    void remove() { BpfTestSupport.deleteTree(dir); }

    private BpfObject openPinned(Path root) {
        return BpfObject.open(BpfTestSupport.object("ffm_test"), BpfObject.OpenOptions.defaults().withPinRoot(root));
    }

    @Test
    void mapsArePinnedAndReusedAcrossLoads() {
        FfmKey k = new FfmKey(ip(10, 0, 0, 1), 80, 6);
        try (BpfObject o = openPinned(dir.resolve("node1"))) {
            o.load();
            o.map("ffm_hash").typed(FfmKey.CODEC, FfmValue.CODEC).put(k, new FfmValue(3, 2, 0, 0));
        }
        assertThat(dir.resolve("node1/ffm_hash")).exists();
        assertThat(dir.resolve("node1/ffm_lpm")).exists();
        assertThat(dir.resolve("node1/ffm_events")).exists();
        try (var stream = Files.list(dir.resolve("node1"))) {
            assertThat(stream.map(p -> p.getFileName().toString())).noneMatch(n -> n.contains("."));   // no .rodata/.bss pins
        } catch (Exception e) {
            throw new RuntimeException(e);
        }
        try (BpfObject o = openPinned(dir.resolve("node1"))) {
            o.load();
            assertThat(o.map("ffm_hash").typed(FfmKey.CODEC, FfmValue.CODEC).get(k)).contains(new FfmValue(3, 2, 0, 0));
        }
        try (BpfMap m = BpfMap.openPinned(dir.resolve("node1/ffm_hash"))) {
            assertThat(m.name()).isEqualTo("ffm_hash");
            assertThat(m.type()).isEqualTo(BpfMap.TYPE_HASH);
            assertThat(m.keySize()).isEqualTo(8);
            assertThat(m.valueSize()).isEqualTo(16);
            assertThat(m.maxEntries()).isEqualTo(1024);
            assertThat(m.typed(FfmKey.CODEC, FfmValue.CODEC).get(k)).contains(new FfmValue(3, 2, 0, 0));
            m.pin(dir.resolve("copy"));
        }
        try (BpfMap m = BpfMap.openPinned(dir.resolve("copy"))) {
            assertThat(m.keys()).hasSize(1);
        }
    }

    @Test
    void incompatiblePinnedMapNamesMapAndPath() {
        Path root = dir.resolve("bad");
        try (BpfObject o = openPinned(dir.resolve("other"))) {
            o.load();
            Bpffs.ensureMounted(root);
            o.map("ffm_percpu").pin(root.resolve("ffm_hash"));   // a per-CPU array where a hash is expected
        }
        try (BpfObject o = openPinned(root)) {
            assertThatThrownBy(o::load).isInstanceOfSatisfying(BpfException.class, e -> {
                assertThat(e.subject()).isEqualTo("map 'ffm_hash' (ffm_test.o)");
                assertThat(e.getMessage()).contains(root.resolve("ffm_hash").toString()).contains("incompatible")
                        .contains("type 6 (expected: 1)").contains("key size 4 (expected: 8)");
                assertThat(e.errno()).isEqualTo(22);
            });
        }
    }

    @Test
    void openPinnedMissingPathFails() {
        assertThatThrownBy(() -> BpfMap.openPinned(dir.resolve("absent"))).isInstanceOf(BpfException.class)
                .hasMessageContaining(dir.resolve("absent").toString()).hasMessageContaining("errno 2");
    }
}
