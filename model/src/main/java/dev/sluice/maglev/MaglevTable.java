package dev.sluice.maglev;

import java.util.Arrays;

/**
 * A filled Maglev lookup table: slot -> index into the backend list it was built from. Held in the
 * narrowest array that fits (a byte per slot up to 256 backends) because a cluster has one table of
 * M slots per service frontend: 10,000 services at M=16381 are 164 MB as bytes, 655 MB as ints.
 * {@link #map(int[])} expands it to backend ids when the data path loads it.
 */
public final class MaglevTable {
    private final int size;
    private final int backends;
    private final byte[] bytes;
    private final short[] shorts;
    private final int[] ints;

    private MaglevTable(int size, int backends, byte[] b, short[] s, int[] i) {
        this.size = size;
        this.backends = backends;
        this.bytes = b;
        this.shorts = s;
        this.ints = i;
    }

    static MaglevTable empty(int m) { return new MaglevTable(m, 0, null, null, null); }

    static MaglevTable of(int[] table, int n) {
        if (n <= 256) {
            byte[] b = new byte[table.length];
            for (int i = 0; i < table.length; i++) b[i] = (byte) table[i];
            return new MaglevTable(table.length, n, b, null, null);
        }
        if (n <= 65536) {
            short[] s = new short[table.length];
            for (int i = 0; i < table.length; i++) s[i] = (short) table[i];
            return new MaglevTable(table.length, n, null, s, null);
        }
        return new MaglevTable(table.length, n, null, null, table.clone());
    }

    /** M, the number of slots. */
    public int size() { return size; }

    /** How many backends the table spreads over; 0 for an empty table (every slot -1). */
    public int backendCount() { return backends; }

    /** The backend index owning {@code slot}, or -1 when there are no backends. */
    public int indexAt(int slot) {
        if (backends == 0) return -1;
        if (bytes != null) return bytes[slot] & 0xff;
        if (shorts != null) return shorts[slot] & 0xffff;
        return ints[slot];
    }

    /** Slot -> backend index, as a fresh array. */
    public int[] indices() {
        int[] out = new int[size];
        for (int i = 0; i < size; i++) out[i] = indexAt(i);
        return out;
    }

    /** Slot -> {@code ids[index]}: the table the data path loads (a fresh array; 0 where no backend). */
    public int[] map(int[] ids) {
        if (backends != 0 && ids.length != backends)
            throw new IllegalArgumentException(ids.length + " ids for a table over " + backends + " backends");
        int[] out = new int[size];
        if (backends == 0) return out;
        for (int i = 0; i < size; i++) out[i] = ids[indexAt(i)];
        return out;
    }

    /** How many slots each backend index owns. */
    public int[] counts() {
        int[] c = new int[backends];
        for (int i = 0; i < size && backends > 0; i++) c[indexAt(i)]++;
        return c;
    }

    @Override public boolean equals(Object o) {
        return o instanceof MaglevTable t && t.size == size && t.backends == backends && Arrays.equals(t.indices(), indices());
    }

    @Override public int hashCode() { return 31 * size + Arrays.hashCode(indices()); }

    @Override public String toString() { return "MaglevTable[M=" + size + ", backends=" + backends + "]"; }
}
