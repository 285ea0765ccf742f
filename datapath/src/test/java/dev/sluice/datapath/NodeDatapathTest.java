package dev.sluice.datapath;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.bpf.BpfMap;
import dev.sluice.bpf.Bpffs;
import dev.sluice.datapath.maps.NodeConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Loading a node's data path: libbpf's objects are closed after the load, what the agent uses stays
 * usable through the pins; a restarted agent finds the same maps; a pinned event ring of another
 * size (an older agent's) is replaced, a map with state of another shape is refused by name.
 */
@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: BPF")
class NodeDatapathTest {
    static final Path OBJECTS = Path.of(System.getProperty("sluice.home", "."), "build/bpf");
    Path pins;

    @BeforeEach void pins() {
        Bpffs.ensureMounted(Path.of("/sys/fs/bpf"));
        pins = Path.of("/sys/fs/bpf/sl-test-ndp-" + Long.toHexString(System.nanoTime()));
    }

    @AfterEach void remove() throws IOException {
        if (!Files.exists(pins)) return;
        try (Stream<Path> s = Files.walk(pins)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }

    @Test void mapsOutliveTheObjectsAndAreFoundAgainByTheNextLoad() {
        var cfg = new NodeConfig[1];
        try (NodeDatapath dp = NodeDatapath.load(OBJECTS, pins)) {
            assertThat(dp.mapUse()).containsKeys(NodeDatapath.MAPS.toArray(String[]::new));
            cfg[0] = dp.config().get(0).orElseThrow();
            dp.map("sl_metrics"); // opened through its pin, the same instance every time
            assertThat(dp.map("sl_metrics")).isSameAs(dp.map("sl_metrics"));
            assertThatThrownBy(() -> dp.map("nope")).hasMessageContaining("map nope").hasMessageContaining("sl_ipcache");
        }
        try (NodeDatapath again = NodeDatapath.load(OBJECTS, pins)) {
            assertThat(again.config().get(0)).contains(cfg[0]);
        }
    }

    @Test void anOlderAgentsEventRingOfAnotherSizeIsReplaced() throws IOException {
        Files.createDirectories(pins);
        try (BpfMap old = BpfMap.create(BpfMap.TYPE_RINGBUF, "sl_events", 0, 0, 4 << 20, 0)) {
            old.pin(pins.resolve("sl_events"));
        }
        try (NodeDatapath dp = NodeDatapath.load(OBJECTS, pins)) {
            assertThat(dp.events().maxEntries()).isEqualTo(1 << 20);
        }
    }

    @Test void aConntrackMapOfAnOlderLayoutIsRecreatedAtTheConfiguredSize() throws IOException {
        Files.createDirectories(pins);
        // ct_entry before the report times: 48 bytes
        try (BpfMap old = BpfMap.create(BpfMap.TYPE_LRU_HASH, "sl_ct_tcp", 16, 48, 4096, 0)) {
            old.pin(pins.resolve("sl_ct_tcp"));
        }
        try (NodeDatapath dp = NodeDatapath.load(OBJECTS, pins, java.util.Map.of("sl_ct_tcp", 4096))) {
            assertThat(dp.map("sl_ct_tcp").valueSize()).isEqualTo((int) dev.sluice.datapath.maps.CtEntry.LAYOUT.byteSize());
            assertThat(dp.map("sl_ct_tcp").maxEntries()).isEqualTo(4096);
        }
    }

    @Test void aPinnedMapWithStateOfAnotherShapeIsRefusedByName() throws IOException {
        Files.createDirectories(pins);
        try (BpfMap old = BpfMap.create(BpfMap.TYPE_HASH, "sl_endpoints", 8, 8, 16, 0)) {
            old.pin(pins.resolve("sl_endpoints"));
        }
        assertThatThrownBy(() -> NodeDatapath.load(OBJECTS, pins))
                .hasMessageContaining("sl_endpoints").hasMessageContaining("incompatible pinned map");
    }
}
