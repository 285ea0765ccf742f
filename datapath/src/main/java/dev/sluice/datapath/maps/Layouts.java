package dev.sluice.datapath.maps;

import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemoryLayout.PathElement;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SequenceLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

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

    /**
     * The var handle of member {@code name} of {@code struct}, for a segment holding the struct at
     * offset 0: offset, width and byte order all come from the layout, so a codec follows its LAYOUT
     * (which DatapathLayoutTest checks against the C struct). Coordinates: the segment, then a
     * {@code long} index when the member is an array ({@code __u8 mac[6]}). As in C, the name also
     * finds a member of an anonymous (unnamed) struct or union, e.g. {@code ip4} of the address union.
     *
     * <p>Invocation is exact: a value's static type must be the member's carrier ({@code byte},
     * {@code short}, {@code int}, {@code long}), so a codec that was not updated with its layout fails
     * on its first use instead of silently widening or truncating.
     */
    static VarHandle field(MemoryLayout struct, String name) {
        List<PathElement> path = new ArrayList<>();
        MemoryLayout member = struct instanceof GroupLayout g ? find(g, name, path) : null;
        if (member == null) {
            throw new IllegalArgumentException("member " + name + " of " + struct.name().orElse(struct.toString())
                    + " (expected: one of " + names(struct) + ")");
        }
        if (member instanceof SequenceLayout) path.add(PathElement.sequenceElement());
        VarHandle h = struct.varHandle(path.toArray(PathElement[]::new));
        return MethodHandles.insertCoordinates(h, 1, 0L).withInvokeExactBehavior();
    }

    /** Appends the path to {@code name} (through unnamed groups) and returns its layout; null when absent. */
    private static MemoryLayout find(GroupLayout g, String name, List<PathElement> path) {
        List<MemoryLayout> members = g.memberLayouts();
        for (int i = 0; i < members.size(); i++) {
            MemoryLayout m = members.get(i);
            if (m.name().equals(Optional.of(name))) {
                path.add(PathElement.groupElement(name));
                return m;
            }
            if (m.name().isEmpty() && m instanceof GroupLayout inner) {
                path.add(PathElement.groupElement(i));
                MemoryLayout found = find(inner, name, path);
                if (found != null) return found;
                path.removeLast();
            }
        }
        return null;
    }

    private static List<String> names(MemoryLayout l) {
        List<String> out = new ArrayList<>();
        if (l instanceof GroupLayout g) {
            for (MemoryLayout m : g.memberLayouts()) {
                if (m.name().isPresent()) out.add(m.name().get());
                else out.addAll(names(m));
            }
        }
        return out;
    }

    /** Reads a {@code __u8[6]} member through its {@link #field} handle as aa:bb:cc:dd:ee:ff. */
    static String mac(MemorySegment s, VarHandle mac) {
        var sb = new StringBuilder();
        for (long i = 0; i < 6; i++) {
            if (i > 0) sb.append(':');
            sb.append(String.format("%02x", (byte) mac.get(s, i) & 0xff));
        }
        return sb.toString();
    }

    /** Writes aa:bb:cc:dd:ee:ff into a {@code __u8[6]} member through its {@link #field} handle. */
    static void mac(MemorySegment s, VarHandle mac, String value) {
        String[] p = value.split(":");
        if (p.length != 6) throw new IllegalArgumentException("MAC " + value + " (expected: six hex bytes aa:bb:cc:dd:ee:ff)");
        for (long i = 0; i < 6; i++) mac.set(s, i, (byte) Integer.parseInt(p[(int) i], 16));
    }
}
