package dev.sluice.datapath.maps;

import dev.sluice.bpf.Codec;
import dev.sluice.net.Cidr;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;

/** Key of the sl_ipcache LPM trie ({@code struct ipcache_key}); prefixlen = 32 fixed bits + the CIDR's length. */
public record IpcacheKey(Cidr cidr) {
    public static final MemoryLayout LAYOUT = MemoryLayout.structLayout(
            Layouts.U32.withName("prefixlen"), Layouts.U8.withName("family"), Layouts.bytes(3, "pad"),
            MemoryLayout.unionLayout(Layouts.BE32.withName("ip4"), Layouts.bytes(16, "ip6")));

    public static final Codec<IpcacheKey> CODEC = new Codec<>() {
        public MemoryLayout layout() { return LAYOUT; }
        public void write(MemorySegment s, IpcacheKey k) {
            s.set(Layouts.U32, 0, 32 + k.cidr.prefixLength());
            s.set(Layouts.U8, 4, (byte) Layouts.AF_INET4);
            s.set(Layouts.BE32, 8, k.cidr.network());
        }
        public IpcacheKey read(MemorySegment s) {
            return new IpcacheKey(new Cidr(s.get(Layouts.BE32, 8), s.get(Layouts.U32, 0) - 32));
        }
    };
}
