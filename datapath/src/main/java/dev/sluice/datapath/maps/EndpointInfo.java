package dev.sluice.datapath.maps;

import dev.sluice.bpf.Codec;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;

/** Value of sl_endpoints ({@code struct endpoint_info}). MACs as aa:bb:cc:dd:ee:ff. */
public record EndpointInfo(int ifindex, int identity, int id, int flags, String mac, String nodeMac) {
    public static final MemoryLayout LAYOUT = MemoryLayout.structLayout(
            Layouts.U32.withName("ifindex"), Layouts.U32.withName("identity"), Layouts.U16.withName("id"),
            Layouts.U16.withName("flags"), Layouts.bytes(6, "mac"), Layouts.bytes(6, "node_mac"));
    private static final long IFINDEX = Layouts.offset(LAYOUT, "ifindex"), IDENTITY = Layouts.offset(LAYOUT, "identity"),
            ID = Layouts.offset(LAYOUT, "id"), FLAGS = Layouts.offset(LAYOUT, "flags"), MAC = Layouts.offset(LAYOUT, "mac"),
            NODE_MAC = Layouts.offset(LAYOUT, "node_mac");

    public static final Codec<EndpointInfo> CODEC = new Codec<>() {
        public MemoryLayout layout() { return LAYOUT; }
        public void write(MemorySegment s, EndpointInfo v) {
            s.set(Layouts.U32, IFINDEX, v.ifindex);
            s.set(Layouts.U32, IDENTITY, v.identity);
            s.set(Layouts.U16, ID, (short) v.id);
            s.set(Layouts.U16, FLAGS, (short) v.flags);
            Layouts.mac(s, MAC, v.mac);
            Layouts.mac(s, NODE_MAC, v.nodeMac);
        }
        public EndpointInfo read(MemorySegment s) {
            return new EndpointInfo(s.get(Layouts.U32, IFINDEX), s.get(Layouts.U32, IDENTITY), s.get(Layouts.U16, ID) & 0xffff,
                    s.get(Layouts.U16, FLAGS) & 0xffff, Layouts.mac(s, MAC), Layouts.mac(s, NODE_MAC));
        }
    };
}
