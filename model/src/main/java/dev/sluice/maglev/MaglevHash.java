package dev.sluice.maglev;

import java.nio.charset.StandardCharsets;

/**
 * The 64-bit hash the Maglev permutations are derived from. Our own construction, documented so any
 * other implementation (a test, a C tool) can reproduce a table bit for bit:
 * <pre>
 *   h = seed ^ (len * P1)
 *   for each 8-byte little-endian word k (a short tail is zero-padded, and only mixed if present):
 *       k *= P2; k = rotl(k, 31); k *= P3
 *       h ^= k; h = rotl(h, 27) * P1 + P4
 *   return fmix64(h)       // the MurmurHash3 finalizer: full avalanche
 * </pre>
 * with P1..P4 the odd constants below. Not cryptographic; it only has to spread backend names
 * evenly and independently for the two seeds.
 */
public final class MaglevHash {
    static final long P1 = 0x9E3779B97F4A7C15L;
    static final long P2 = 0xC2B2AE3D27D4EB4FL;
    static final long P3 = 0x165667B19E3779F9L;
    static final long P4 = 0x85EBCA77C2B2AE63L;

    private MaglevHash() {}

    public static long hash64(String s, long seed) { return hash64(s.getBytes(StandardCharsets.UTF_8), seed); }

    public static long hash64(byte[] d, long seed) {
        long h = seed ^ (d.length * P1);
        int i = 0;
        for (; i + 8 <= d.length; i += 8) h = round(h, word(d, i, 8));
        if (i < d.length) h = round(h, word(d, i, d.length - i));
        return fmix64(h);
    }

    private static long round(long h, long k) {
        k *= P2;
        k = Long.rotateLeft(k, 31);
        k *= P3;
        h ^= k;
        return Long.rotateLeft(h, 27) * P1 + P4;
    }

    /** Little-endian word of {@code n} bytes from {@code d[i]}. */
    static long word(byte[] d, int i, int n) {
        long k = 0;
        for (int j = 0; j < n; j++) k |= (d[i + j] & 0xffL) << (8 * j);
        return k;
    }

    static long fmix64(long h) {
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb9fe1a85ec53L;
        h ^= h >>> 33;
        return h;
    }
}
