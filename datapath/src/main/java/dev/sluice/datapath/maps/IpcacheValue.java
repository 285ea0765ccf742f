package dev.sluice.datapath.maps;

import dev.sluice.bpf.Codec;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;

/**
 * Value of sl_ipcache ({@code struct ipcache_value}).
 *
 * @param tunnelEndpoint node address (host-order int) to tunnel to, 0 for none
 * @param flags          {@link #LOCAL_NODE}, {@link #POD_CIDR}
 */
public record IpcacheValue(int identity, int tunnelEndpoint, int flags) {
    public static final int LOCAL_NODE = 1;
    public static final int POD_CIDR = 2;
    public static final MemoryLayout LAYOUT = MemoryLayout.structLayout(
            Layouts.U32.withName("identity"), Layouts.BE32.withName("tunnel_ep"), Layouts.U8.withName("flags"), Layouts.bytes(3, "pad"));

    public static final Codec<IpcacheValue> CODEC = new Codec<>() {
        public MemoryLayout layout() { return LAYOUT; }
        public void write(MemorySegment s, IpcacheValue v) {
            s.set(Layouts.U32, 0, v.identity);
            s.set(Layouts.BE32, 4, v.tunnelEndpoint);
            s.set(Layouts.U8, 8, (byte) v.flags);
        }
        public IpcacheValue read(MemorySegment s) {
            return new IpcacheValue(s.get(Layouts.U32, 0), s.get(Layouts.BE32, 4), s.get(Layouts.U8, 8) & 0xff);
        }
    };
}
