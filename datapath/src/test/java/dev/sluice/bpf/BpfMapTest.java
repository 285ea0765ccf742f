package dev.sluice.bpf;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import dev.sluice.bpf.BpfTestSupport.FfmCounter;
import dev.sluice.bpf.BpfTestSupport.FfmKey;
import dev.sluice.bpf.BpfTestSupport.FfmValue;
import dev.sluice.bpf.BpfTestSupport.LpmKey;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static dev.sluice.bpf.BpfTestSupport.ip;
import static dev.sluice.bpf.BpfTestSupport.keyBytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: network namespaces, BPF, netlink")
class BpfMapTest {
    private BpfObject obj;

    @BeforeEach
    void load() { obj = BpfTestSupport.loadTest(); }

    @AfterEach
    void close() { obj.close(); }

    private static byte[] value(long packets, int verdict) {
        return TypedMap.encode(FfmValue.CODEC, new FfmValue(packets, verdict, 0, 0));
    }

    @Test
    void rawCrud() {
        BpfMap m = obj.map("ffm_hash");
        byte[] k = keyBytes(ip(10, 0, 0, 1), 6);
        assertThat(m.lookup(k)).isEmpty();
        m.update(k, value(1, 2), UpdateFlag.NOEXIST);
        assertThat(m.lookup(k)).hasValueSatisfying(v -> assertThat(v).isEqualTo(value(1, 2)));
        assertThatThrownBy(() -> m.update(k, value(1, 2), UpdateFlag.NOEXIST)).isInstanceOf(BpfException.class)
                .hasMessageStartingWith("map 'ffm_hash': update (NOEXIST): File exists (errno 17)")
                .satisfies(e -> assertThat(((BpfException) e).errno()).isEqualTo(17));
        m.update(k, value(5, 0), UpdateFlag.EXIST);
        assertThat(m.lookup(k).orElseThrow()).isEqualTo(value(5, 0));
        assertThat(m.delete(k)).isTrue();
        assertThat(m.delete(k)).isFalse();
        assertThatThrownBy(() -> m.update(k, value(1, 1), UpdateFlag.EXIST)).isInstanceOf(BpfException.class)
                .hasMessageContaining("errno 2");
        assertThatThrownBy(() -> m.lookup(new byte[3])).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("key: 3 bytes (expected: 8)");
    }

    @Test
    void typedMapWithNetworkOrderFields() {
        TypedMap<FfmKey, FfmValue> t = obj.map("ffm_hash").typed(FfmKey.CODEC, FfmValue.CODEC);
        FfmKey k = new FfmKey(ip(192, 168, 1, 2), 443, 6);
        t.put(k, new FfmValue(7, 2, 0xbeef, 9));
        assertThat(t.get(k)).contains(new FfmValue(7, 2, 0xbeef, 9));
        // the C side sees __be32 / __be16: c0 a8 01 02 | 01 bb | 06
        byte[] raw = obj.map("ffm_hash").keys().getFirst();
        assertThat(HexFormat.of().formatHex(raw)).isEqualTo("c0a8010201bb0600");
        assertThat(t.all()).containsExactly(Map.entry(k, new FfmValue(7, 2, 0xbeef, 9)));
        assertThat(t.remove(k)).isTrue();
        assertThat(t.get(k)).isEmpty();
        assertThatThrownBy(() -> obj.map("ffm_hash").typed(Codec.u32(), FfmValue.CODEC))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("key codec layout is 4 bytes (expected: key size 8)");
    }

    @Test
    void iterateAndBatch() {
        BpfMap m = obj.map("ffm_hash");
        List<BpfMap.Entry> entries = new ArrayList<>();
        for (int i = 0; i < 300; i++) entries.add(new BpfMap.Entry(keyBytes(ip(10, 1, i >> 8, i & 0xff), 17), value(i, 0)));
        m.updateBatch(entries);
        assertThat(m.keys()).hasSize(300);
        List<BpfMap.Entry> read = m.entries();
        assertThat(read).hasSize(300);
        assertThat(m.lookupBatchUnsupported()).as("hash maps are read with bpf_map_lookup_batch").isFalse();
        Map<String, String> byKey = read.stream().collect(Collectors.toMap(
                e -> HexFormat.of().formatHex(e.key()), e -> HexFormat.of().formatHex(e.value())));
        for (BpfMap.Entry e : entries) {
            assertThat(byKey).containsEntry(HexFormat.of().formatHex(e.key()), HexFormat.of().formatHex(e.value()));
        }
        List<byte[]> del = new ArrayList<>();
        for (int i = 0; i < 100; i++) del.add(entries.get(i).key());
        del.add(50, keyBytes(ip(99, 9, 9, 9), 1));  // absent keys are skipped, not an error
        del.add(keyBytes(ip(99, 9, 9, 8), 1));
        assertThat(m.deleteBatch(del)).isEqualTo(100);
        assertThat(m.entries()).hasSize(200);
        assertThat(m.deleteBatch(List.of(entries.get(0).key()))).isZero();
    }

    @Test
    void perCpuValuesAreRoundedUpPerCpu() {
        BpfMap m = obj.map("ffm_percpu");
        assertThat(m.isPerCpu()).isTrue();
        assertThat(m.valueSize()).isEqualTo(12);
        assertThat(m.perCpuStride()).isEqualTo(16);
        assertThat(m.possibleCpus()).isPositive();
        assertThat(m.valueBufferSize()).isEqualTo(16 * m.possibleCpus());
        TypedMap<Integer, FfmCounter> t = m.typed(Codec.u32(), FfmCounter.CODEC);
        List<FfmCounter> per = new ArrayList<>();
        for (int cpu = 0; cpu < m.possibleCpus(); cpu++) per.add(new FfmCounter(cpu, cpu * 10, 1));
        t.putPerCpu(1, per);
        assertThat(t.getPerCpu(1)).contains(per);
        t.put(2, new FfmCounter(5, 6, 7));
        assertThat(t.getPerCpu(2).orElseThrow()).hasSize(m.possibleCpus()).containsOnly(new FfmCounter(5, 6, 7));
        assertThat(t.allPerCpu()).hasSize(4).containsEntry(1, per);
        assertThatThrownBy(() -> t.get(1)).isInstanceOf(IllegalStateException.class).hasMessageContaining("getPerCpu");
        assertThatThrownBy(() -> m.update(new byte[4], new byte[12], UpdateFlag.ANY)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("expected: " + 16 * m.possibleCpus());
    }

    @Test
    void lpmTrieLongestPrefixMatchAndIteration() {
        BpfMap m = obj.map("ffm_lpm");
        assertThat(m.type()).isEqualTo(BpfMap.TYPE_LPM_TRIE);
        TypedMap<LpmKey, Integer> t = m.typed(LpmKey.CODEC, Codec.u32());
        t.put(new LpmKey(8, ip(10, 0, 0, 0)), 1);
        t.put(new LpmKey(16, ip(10, 1, 0, 0)), 2);
        t.put(new LpmKey(32, ip(10, 1, 2, 3)), 3);
        assertThat(t.get(new LpmKey(32, ip(10, 9, 9, 9)))).contains(1);
        assertThat(t.get(new LpmKey(32, ip(10, 1, 9, 9)))).contains(2);
        assertThat(t.get(new LpmKey(32, ip(10, 1, 2, 3)))).contains(3);
        assertThat(t.get(new LpmKey(32, ip(11, 0, 0, 1)))).isEmpty();
        // no batch ops for tries: entries() falls back to get_next_key + lookup
        assertThat(t.all()).containsOnlyKeys(Set.of(new LpmKey(8, ip(10, 0, 0, 0)), new LpmKey(16, ip(10, 1, 0, 0)),
                new LpmKey(32, ip(10, 1, 2, 3))));
        assertThat(m.lookupBatchUnsupported()).isFalse();   // never tried: tries have no batch ops
        assertThat(m.deleteBatch(List.of(TypedMap.encode(LpmKey.CODEC, new LpmKey(16, ip(10, 1, 0, 0)))))).isEqualTo(1);
        assertThat(t.get(new LpmKey(32, ip(10, 1, 9, 9)))).contains(1);
    }

    @Test
    void arrayBatchLookupCoversAllSlots() {
        BpfMap m = obj.map("ffm_nested_map");
        assertThat(m.entries()).hasSize(8);
        assertThat(m.lookupBatchUnsupported()).isFalse();
        assertThat(m.keys()).hasSize(8);
        assertThat(obj.map("ffm_percpu").entries()).hasSize(4)
                .allSatisfy(e -> assertThat(e.value()).hasSize(obj.map("ffm_percpu").valueBufferSize()));
    }
}
