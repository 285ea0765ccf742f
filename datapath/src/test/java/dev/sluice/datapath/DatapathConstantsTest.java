package dev.sluice.datapath;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** The C enums of every compiled object equal their Java counterparts; a stale object is refused by name. */
class DatapathConstantsTest {
    @ParameterizedTest
    @ValueSource(strings = {"bpf_lxc.o", "bpf_netdev.o", "bpf_overlay.o", "bpf_sock.o", "tests/overlay_test.o", "tests/lxc_test.o"})
    void everyObjectAgreesWithJava(String object) {
        assertThat(DatapathConstants.differences(DatapathLayoutTest.obj(object))).isEmpty();
    }

    @Test
    void aStaleObjectIsRefusedWithEveryDifferenceNamed() {
        var stale = DatapathLayoutTest.obj("tests/stale_constants.o");
        assertThat(DatapathConstants.differences(stale)).contains(
                "sl_reason.DROP_INVALID_SOURCE: 129 in C, 130 in Java",
                "sl_reason.DROP_POLICY: in Java (140), absent in C",
                "sl_reason.DROP_FROM_THE_FUTURE: in C (199), unknown to Java",
                "enum sl_identity: absent from the object's BTF (expected: bpf/lib/constants.h included by every entry file)");
        assertThatThrownBy(() -> DatapathConstants.check(stale)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("stale_constants.o: constants differ from this agent's")
                .hasMessageContaining("run 'make build'");
    }
}
