package dev.sluice.net;

/** IPv4 addresses as unsigned 32-bit ints held in an int (network order value, i.e. 10.0.0.1 = 0x0a000001). */
public final class Ip {
    private Ip() {}

    /**
     * True for a dotted quad of four decimal octets 0-255 without leading zeros ("10.0.0.1", not
     * "010.0.0.1" or "10.0.0"). Read by hand, not by a regular expression: it runs for every address
     * of every Service, slice and pod decoded.
     */
    public static boolean isIpv4(String s) { return s != null && read(s) >= 0; }

    public static boolean isIpv6(String s) {
        if (s == null || !s.contains(":") || !s.matches("[0-9a-fA-F:.]+")) return false;
        try {
            return java.net.InetAddress.getByName(s) instanceof java.net.Inet6Address;
        } catch (java.net.UnknownHostException e) {
            return false;
        }
    }

    /** Parses dotted quad; throws IllegalArgumentException naming the value. */
    public static int parse(String s) {
        long v = s == null ? -1 : read(s);
        if (v < 0) throw new IllegalArgumentException(s + " (expected: an IPv4 address a.b.c.d)");
        return (int) v;
    }

    /** The address as an unsigned value, or -1 when {@code s} is not a dotted quad (see {@link #isIpv4}). */
    private static long read(String s) {
        int n = s.length(), i = 0;
        long v = 0;
        for (int octet = 0; octet < 4; octet++) {
            if (octet > 0) {
                if (i >= n || s.charAt(i) != '.') return -1;
                i++;
            }
            int start = i, x = 0;
            while (i < n && i - start < 4) {
                char c = s.charAt(i);
                if (c < '0' || c > '9') break;
                x = x * 10 + (c - '0');
                i++;
            }
            int len = i - start;
            if (len == 0 || len > 3 || x > 255 || (len > 1 && s.charAt(start) == '0')) return -1;
            v = (v << 8) | x;
        }
        return i == n ? v : -1;
    }

    public static String format(int ip) {
        return ((ip >>> 24) & 0xff) + "." + ((ip >>> 16) & 0xff) + "." + ((ip >>> 8) & 0xff) + "." + (ip & 0xff);
    }
}
