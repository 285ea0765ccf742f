package dev.sluice.datapath.maps;

import dev.sluice.bpf.Codec;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/** Value of sl_endpoints ({@code struct endpoint_info}). MACs as aa:bb:cc:dd:ee:ff. */
public record EndpointInfo(int ifindex, int identity, int id, int flags, String mac, String nodeMac) {
    public static final MemoryLayout LAYOUT = MemoryLayout.structLayout(
            Layouts.U32.withName("ifindex"), Layouts.U32.withName("identity"), Layouts.U16.withName("id"),
            Layouts.U16.withName("flags"), Layouts.bytes(6, "mac"), Layouts.bytes(6, "node_mac"));
    private static final VarHandle IFINDEX = Layouts.field(LAYOUT, "ifindex"), IDENTITY = Layouts.field(LAYOUT, "identity"),
            ID = Layouts.field(LAYOUT, "id"), FLAGS = Layouts.field(LAYOUT, "flags"), MAC = Layouts.field(LAYOUT, "mac"),
            NODE_MAC = Layouts.field(LAYOUT, "node_mac");

    public static final Codec<EndpointInfo> CODEC = new Codec<>() {
        public MemoryLayout layout() { return LAYOUT; }
        public void write(MemorySegment s, EndpointInfo v) {
            IFINDEX.set(s, v.ifindex);
            IDENTITY.set(s, v.identity);
            ID.set(s, (short) v.id);
            FLAGS.set(s, (short) v.flags);
            Layouts.mac(s, MAC, v.mac);
            Layouts.mac(s, NODE_MAC, v.nodeMac);
        }
        public EndpointInfo read(MemorySegment s) {
            return new EndpointInfo((int) IFINDEX.get(s), (int) IDENTITY.get(s), (short) ID.get(s) & 0xffff,
                    (short) FLAGS.get(s) & 0xffff, Layouts.mac(s, MAC), Layouts.mac(s, NODE_MAC));
        }
    };
}
