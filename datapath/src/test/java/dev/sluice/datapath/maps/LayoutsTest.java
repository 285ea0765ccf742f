package dev.sluice.datapath.maps;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.lang.invoke.WrongMethodTypeException;
import org.junit.jupiter.api.Test;

class LayoutsTest {
    static final MemoryLayout KEY = MemoryLayout.structLayout(
            Layouts.U32.withName("prefixlen"), Layouts.U8.withName("family"), Layouts.bytes(3, "pad"),
            MemoryLayout.unionLayout(Layouts.BE32.withName("ip4"), Layouts.bytes(16, "ip6"))).withName("ipcache_key");

    @Test
    void fieldTakesOffsetAndByteOrderFromTheLayout() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(KEY);
            Layouts.field(KEY, "prefixlen").set(s, 0x01020304);
            Layouts.field(KEY, "ip4").set(s, 0x0a000001);      // in the anonymous union, big-endian
            assertThat(s.get(Layouts.U32, 0)).isEqualTo(0x01020304);
            assertThat(s.toArray(Layouts.U8)).startsWith(4, 3, 2, 1, 0, 0, 0, 0, 10, 0, 0, 1);
            assertThat((int) Layouts.field(KEY, "ip4").get(s)).isEqualTo(0x0a000001);
        }
    }

    @Test
    void arrayMembersTakeAnIndex() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(KEY);
            VarHandle ip6 = Layouts.field(KEY, "ip6");
            ip6.set(s, 15L, (byte) 7);
            assertThat(s.get(Layouts.U8, 8 + 15)).isEqualTo((byte) 7);
            Layouts.mac(s, ip6, "aa:bb:cc:dd:ee:0f");
            assertThat(Layouts.mac(s, ip6)).isEqualTo("aa:bb:cc:dd:ee:0f");
            assertThat(s.get(Layouts.U8, 8)).isEqualTo((byte) 0xaa);
        }
    }

    @Test
    void unknownMemberNamesTheMembers() {
        assertThatThrownBy(() -> Layouts.field(KEY, "ip5")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("member ip5 of ipcache_key (expected: one of [prefixlen, family, pad, ip4, ip6])");
    }

    @Test
    void valueOfTheWrongWidthIsRefused() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(KEY);
            VarHandle family = Layouts.field(KEY, "family");
            assertThatThrownBy(() -> family.set(s, 2)).isInstanceOf(WrongMethodTypeException.class);
            assertThatThrownBy(() -> { int f = (int) family.get(s); }).isInstanceOf(WrongMethodTypeException.class);
        }
    }
}
