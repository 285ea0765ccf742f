package dev.sluice.datapath.maps;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Field layouts as C declares them: host order (little-endian here) or network order (__be*). */
final class Layouts {
    static final ValueLayout.OfByte U8 = ValueLayout.JAVA_BYTE;
    static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT.withOrder(ByteOrder.nativeOrder());
    static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT.withOrder(ByteOrder.nativeOrder());
    static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG.withOrder(ByteOrder.nativeOrder());
    static final ValueLayout.OfShort BE16 = ValueLayout.JAVA_SHORT.withOrder(ByteOrder.BIG_ENDIAN);
    static final ValueLayout.OfInt BE32 = ValueLayout.JAVA_INT.withOrder(ByteOrder.BIG_ENDIAN);

    static final int AF_INET4 = 2;

    private Layouts() {}

    static MemoryLayout bytes(int n, String name) { return MemoryLayout.sequenceLayout(n, U8).withName(name); }

    static long offset(MemoryLayout struct, String field) {
        return struct.byteOffset(MemoryLayout.PathElement.groupElement(field));
    }

    static String mac(MemorySegment s, long off) {
        var sb = new StringBuilder();
        for (int i = 0; i < 6; i++) {
            if (i > 0) sb.append(':');
            sb.append(String.format("%02x", s.get(U8, off + i) & 0xff));
        }
        return sb.toString();
    }

    static void mac(MemorySegment s, long off, String mac) {
        String[] p = mac.split(":");
        if (p.length != 6) throw new IllegalArgumentException("MAC " + mac + " (expected: six hex bytes aa:bb:cc:dd:ee:ff)");
        for (int i = 0; i < 6; i++) s.set(U8, off + i, (byte) Integer.parseInt(p[i], 16));
    }
}
