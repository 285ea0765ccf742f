package dev.sluice.policy;

import java.util.ArrayList;
import java.util.List;

/**
 * A destination port range, both ends included; {@code 0-0} means any port. The data path keys its
 * policy map by port prefix, so {@link #prefixes()} splits a range into power-of-two aligned blocks.
 */
public record PortRange(int start, int end) implements Comparable<PortRange> {
    public static final PortRange ANY = new PortRange(0, 0);

    public PortRange {
        if (start < 0 || end > 65535 || end < start) throw new IllegalArgumentException("port range " + start + "-" + end + " (expected: 0 <= start <= end <= 65535)");
    }

    public static PortRange of(int port) { return new PortRange(port, port); }

    public boolean isAny() { return start == 0 && end == 0; }

    public boolean contains(int port) { return isAny() || (port >= start && port <= end); }

    /**
     * A block of ports sharing their top {@code prefixLength} bits (16 = exactly {@code port},
     * 0 = all ports), as an LPM key over the 16-bit port.
     */
    public record PortPrefix(int port, int prefixLength) {
        public int first() { return port; }
        public int last() { return port | ((1 << (16 - prefixLength)) - 1); }
        @Override public String toString() { return port + "/" + prefixLength; }
    }

    /** The fewest aligned prefixes covering exactly this range ({@code 0/0} for any port). */
    public List<PortPrefix> prefixes() {
        List<PortPrefix> out = new ArrayList<>();
        if (isAny()) {
            out.add(new PortPrefix(0, 0));
            return out;
        }
        int p = start;
        while (p <= end) {
            int size = p == 0 ? 1 << 16 : Integer.lowestOneBit(p);
            while (p + size - 1 > end) size >>= 1;
            out.add(new PortPrefix(p, 16 - Integer.numberOfTrailingZeros(size)));
            p += size;
        }
        return out;
    }

    @Override public int compareTo(PortRange o) {
        int c = Integer.compare(start, o.start);
        return c != 0 ? c : Integer.compare(end, o.end);
    }

    @Override public String toString() {
        if (isAny()) return "any";
        return start == end ? Integer.toString(start) : start + "-" + end;
    }
}
