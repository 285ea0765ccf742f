package dev.sluice.maglev;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * Maglev consistent hashing (Eisenbud et al., "Maglev: A Fast and Reliable Software Network Load
 * Balancer", NSDI 2016, section 3.4): each backend gets a permutation of the M table slots from two
 * hashes of its name; backends take turns claiming their next free preferred slot until the table is
 * full. M is prime, so every skip in [1, M-1] walks all slots.
 *
 * <p>Guarantees of this implementation, which the tests assert: with equal weights each round gives
 * every backend exactly one slot, so slot counts differ by at most one; the table depends only on
 * the backend names in the order given, M and the seed (callers pass names in a canonical order so
 * the table does not depend on history); removing a backend moves its slots and only a few others.
 *
 * <p>Cost: O(M log M) permutation steps for a typical table (the last free slots take the longest
 * to find); measured in the bench module (MaglevBench).
 */
public final class Maglev {
    private Maglev() {}

    /** The two 64-bit hash seeds from the configured 16-character seed (maglev.hashSeed). */
    public record Seed(long offsetSeed, long skipSeed) {
        public static Seed of(String sixteenChars) {
            byte[] b = sixteenChars.getBytes(StandardCharsets.UTF_8);
            if (b.length != 16) throw new IllegalArgumentException("maglev.hashSeed: \"" + sixteenChars + "\" (expected: 16 characters)");
            return new Seed(MaglevHash.word(b, 0, 8), MaglevHash.word(b, 8, 8));
        }
    }

    /** Equal weights. */
    public static MaglevTable build(List<String> names, int m, Seed seed) {
        int[] w = new int[names.size()];
        Arrays.fill(w, 1);
        return build(names, w, m, seed);
    }

    /**
     * @param names   backend names (we use "ip:port"), distinct, in a canonical order
     * @param weights per backend, at least 1: a backend of weight w claims w slots per round, so its
     *                share is proportional to w (within w slots)
     * @param m       the table size, a prime (one of Values.MAGLEV_SIZES)
     */
    public static MaglevTable build(List<String> names, int[] weights, int m, Seed seed) {
        int n = names.size();
        if (m < 2 || !isPrime(m)) throw new IllegalArgumentException("maglev table size " + m + " (expected: a prime)");
        if (weights.length != n) throw new IllegalArgumentException("weights: " + weights.length + " for " + n + " backends");
        if (n == 0) return MaglevTable.empty(m);
        if (n > m) throw new IllegalArgumentException(n + " backends for a table of " + m + " (expected: at most the table size)");
        int[] pos = new int[n];
        int[] skip = new int[n];
        for (int i = 0; i < n; i++) {
            byte[] name = names.get(i).getBytes(StandardCharsets.UTF_8);
            pos[i] = (int) Long.remainderUnsigned(MaglevHash.hash64(name, seed.offsetSeed()), m);
            skip[i] = (int) Long.remainderUnsigned(MaglevHash.hash64(name, seed.skipSeed()), m - 1) + 1;
            if (weights[i] < 1) throw new IllegalArgumentException("weight " + weights[i] + " of " + names.get(i) + " (expected: at least 1)");
        }
        int[] table = new int[m];
        Arrays.fill(table, -1);
        int filled = 0;
        // pos[i] is backend i's next preference: permutation[i][next[i]] = (offset + next*skip) mod M,
        // advanced by addition to avoid a multiply and a division per step.
        while (true) {
            for (int i = 0; i < n; i++) {
                for (int turn = 0; turn < weights[i]; turn++) {
                    int c = pos[i];
                    int s = skip[i];
                    while (table[c] >= 0) {
                        c += s;
                        if (c >= m) c -= m;
                    }
                    table[c] = i;
                    c += s;
                    if (c >= m) c -= m;
                    pos[i] = c;
                    if (++filled == m) return MaglevTable.of(table, n);
                }
            }
        }
    }

    static boolean isPrime(int m) {
        if (m < 2) return false;
        for (int d = 2; (long) d * d <= m; d++) if (m % d == 0) return false;
        return true;
    }
}
