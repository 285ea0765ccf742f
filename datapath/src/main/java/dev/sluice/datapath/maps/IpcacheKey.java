package dev.sluice.datapath.maps;

import dev.sluice.bpf.Codec;
import dev.sluice.net.Cidr;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/** Key of the sl_ipcache LPM trie ({@code struct ipcache_key}); prefixlen = 32 fixed bits + the CIDR's length. */
public record IpcacheKey(Cidr cidr) {
    public static final MemoryLayout LAYOUT = MemoryLayout.structLayout(
            Layouts.U32.withName("prefixlen"), Layouts.U8.withName("family"), Layouts.bytes(3, "pad"),
            MemoryLayout.unionLayout(Layouts.BE32.withName("ip4"), Layouts.bytes(16, "ip6")));
    private static final VarHandle PREFIXLEN = Layouts.field(LAYOUT, "prefixlen"), FAMILY = Layouts.field(LAYOUT, "family"),
            IP4 = Layouts.field(LAYOUT, "ip4");

    public static final Codec<IpcacheKey> CODEC = new Codec<>() {
        public MemoryLayout layout() { return LAYOUT; }
        public void write(MemorySegment s, IpcacheKey k) {
            PREFIXLEN.set(s, 32 + k.cidr.prefixLength());
            FAMILY.set(s, (byte) Layouts.AF_INET4);
            IP4.set(s, k.cidr.network());
        }
        public IpcacheKey read(MemorySegment s) {
            return new IpcacheKey(new Cidr((int) IP4.get(s), (int) PREFIXLEN.get(s) - 32));
        }
    };
}
