package dev.sluice.net;

import java.util.regex.Pattern;

/** IPv4 addresses as unsigned 32-bit ints held in an int (network order value, i.e. 10.0.0.1 = 0x0a000001). */
public final class Ip {
    private static final Pattern V4 = Pattern.compile("(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}");

    private Ip() {}

    public static boolean isIpv4(String s) { return s != null && V4.matcher(s).matches(); }

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
        if (!isIpv4(s)) throw new IllegalArgumentException(s + " (expected: an IPv4 address a.b.c.d)");
        String[] p = s.split("\\.");
        return (Integer.parseInt(p[0]) << 24) | (Integer.parseInt(p[1]) << 16) | (Integer.parseInt(p[2]) << 8) | Integer.parseInt(p[3]);
    }

    public static String format(int ip) {
        return ((ip >>> 24) & 0xff) + "." + ((ip >>> 16) & 0xff) + "." + ((ip >>> 8) & 0xff) + "." + (ip & 0xff);
    }
}
