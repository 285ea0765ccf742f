package dev.sluice.net;

/**
 * An IPv4 prefix. The address is normalized to the network address.
 */
public record Cidr(int network, int prefixLength) implements Comparable<Cidr> {
    public Cidr {
        if (prefixLength < 0 || prefixLength > 32) throw new IllegalArgumentException("prefix length " + prefixLength + " (expected: 0-32)");
        network = network & mask(prefixLength);
    }

    public static int mask(int len) { return len == 0 ? 0 : -1 << (32 - len); }

    /** Parses {@code a.b.c.d/n}; a bare address is a /32. Throws naming the value and what was expected. */
    public static Cidr parse(String s) {
        String t = s.trim();
        int slash = t.indexOf('/');
        String addr = slash < 0 ? t : t.substring(0, slash);
        if (!Ip.isIpv4(addr)) throw new IllegalArgumentException(s + " (expected: an IPv4 CIDR a.b.c.d/n)");
        int len = 32;
        if (slash >= 0) {
            String l = t.substring(slash + 1);
            if (!l.matches("\\d{1,2}") || Integer.parseInt(l) > 32) throw new IllegalArgumentException(s + " (expected: an IPv4 CIDR a.b.c.d/n with n 0-32)");
            len = Integer.parseInt(l);
        }
        return new Cidr(Ip.parse(addr), len);
    }

    public long size() { return 1L << (32 - prefixLength); }
    public int broadcast() { return network | ~mask(prefixLength); }
    public int address(long offset) { return (int) (Integer.toUnsignedLong(network) + offset); }

    public boolean contains(int ip) { return (ip & mask(prefixLength)) == network; }

    public boolean contains(Cidr other) { return other.prefixLength >= prefixLength && contains(other.network); }

    public boolean overlaps(Cidr other) { return contains(other) || other.contains(this); }

    /** The i-th subnet of the given length inside this prefix. */
    public Cidr subnet(int newLength, long index) {
        if (newLength < prefixLength) throw new IllegalArgumentException("/" + newLength + " is larger than " + this);
        long count = 1L << (newLength - prefixLength);
        if (index < 0 || index >= count) throw new IllegalArgumentException("subnet " + index + " of " + this + " (expected: 0-" + (count - 1) + ")");
        return new Cidr((int) (Integer.toUnsignedLong(network) + (index << (32 - newLength))), newLength);
    }

    @Override public int compareTo(Cidr o) {
        int c = Integer.compareUnsigned(network, o.network);
        return c != 0 ? c : Integer.compare(prefixLength, o.prefixLength);
    }

    @Override public String toString() { return Ip.format(network) + "/" + prefixLength; }
}
