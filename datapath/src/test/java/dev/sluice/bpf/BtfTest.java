package dev.sluice.bpf;

import dev.sluice.bpf.BpfTestSupport.FfmCounter;
import dev.sluice.bpf.BpfTestSupport.FfmKey;
import dev.sluice.bpf.BpfTestSupport.FfmValue;
import dev.sluice.bpf.BpfTestSupport.LpmKey;
import java.lang.foreign.MemoryLayout;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BtfTest {
    private final Path obj = BpfTestSupport.object("ffm_test");

    @Test
    void readsStructMembers() {
        Btf.Struct s = Btf.struct(obj, "ffm_value").orElseThrow();
        assertThat(s.size()).isEqualTo(16);
        assertThat(s.members()).containsExactly(new Btf.Member("packets", 0, 8), new Btf.Member("verdict", 8, 4),
                new Btf.Member("flags", 12, 2), new Btf.Member("mark", 14, 1), new Btf.Member("pad", 15, 1));
        // anonymous union members are flattened
        assertThat(Btf.struct(obj, "ffm_nested").orElseThrow().members()).containsExactly(
                new Btf.Member("key", 0, 8), new Btf.Member("id", 8, 4), new Btf.Member("raw", 8, 4), new Btf.Member("stamp", 16, 8));
        assertThat(Btf.struct(obj, "no_such_struct")).isEmpty();
    }

    @Test
    void javaLayoutsMatchTheCStructs() {
        Btf.assertLayout(obj, "ffm_key", FfmKey.LAYOUT);        // C 'pad' lies in Java padding
        Btf.assertLayout(obj, "ffm_value", FfmValue.LAYOUT);
        Btf.assertLayout(obj, "ffm_counter", FfmCounter.LAYOUT);
        Btf.assertLayout(obj, "ffm_lpm_key", LpmKey.LAYOUT);
        MemoryLayout nested = MemoryLayout.structLayout(
                FfmKey.LAYOUT.withName("key"),
                MemoryLayout.unionLayout(JAVA_INT.withName("id"), MemoryLayout.sequenceLayout(4, JAVA_BYTE).withName("raw")),
                MemoryLayout.paddingLayout(4),
                JAVA_LONG.withName("stamp"));
        Btf.assertLayout(obj, "ffm_nested", nested);
    }

    @Test
    void wrongLayoutListsEveryMismatch() {
        MemoryLayout wrong = MemoryLayout.structLayout(
                JAVA_INT.withName("packets"),          // C: __u64 at 0
                JAVA_INT.withName("verdict"),          // C: at 8
                JAVA_SHORT.withName("flags"),          // C: at 12
                JAVA_SHORT.withName("colour")).withName("WrongValue");   // not in C
        assertThatThrownBy(() -> Btf.assertLayout(obj, "ffm_value", wrong)).isInstanceOf(AssertionError.class)
                .hasMessageContaining("layout of struct ffm_value (ffm_test.o) does not match Java layout WrongValue")
                .hasMessageContaining("size: Java 12 bytes, C 16 bytes")
                .hasMessageContaining("packets: size Java 4, C 8")
                .hasMessageContaining("verdict: offset Java 4, C 8")
                .hasMessageContaining("flags: offset Java 8, C 12")
                .hasMessageContaining("colour: in Java at offset 10 (2 bytes), absent in C")
                .hasMessageContaining("mark: in C at offset 14 (1 bytes), absent in Java");
        MemoryLayout nestedWrong = MemoryLayout.structLayout(
                MemoryLayout.structLayout(JAVA_SHORT.withName("port"), MemoryLayout.paddingLayout(6)).withName("key"),
                MemoryLayout.paddingLayout(16));
        assertThatThrownBy(() -> Btf.assertLayout(obj, "ffm_nested", nestedWrong)).isInstanceOf(AssertionError.class)
                .hasMessageContaining("key.port: offset Java 0, C 4")
                .hasMessageContaining("key.addr: in C at offset 0 (4 bytes), absent in Java")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("stamp"));   // C members inside Java padding are fine
        assertThatThrownBy(() -> Btf.assertLayout(obj, "nope", wrong)).isInstanceOf(AssertionError.class)
                .hasMessageContaining("struct nope not found");
    }
}
