package dev.sluice.datapath.maps;

import dev.sluice.bpf.Codec;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

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
    private static final VarHandle IDENTITY = Layouts.field(LAYOUT, "identity"), TUNNEL_EP = Layouts.field(LAYOUT, "tunnel_ep"),
            FLAGS = Layouts.field(LAYOUT, "flags");

    public static final Codec<IpcacheValue> CODEC = new Codec<>() {
        public MemoryLayout layout() { return LAYOUT; }
        public void write(MemorySegment s, IpcacheValue v) {
            IDENTITY.set(s, v.identity);
            TUNNEL_EP.set(s, v.tunnelEndpoint);
            FLAGS.set(s, (byte) v.flags);
        }
        public IpcacheValue read(MemorySegment s) {
            return new IpcacheValue((int) IDENTITY.get(s), (int) TUNNEL_EP.get(s), (byte) FLAGS.get(s) & 0xff);
        }
    };
}
