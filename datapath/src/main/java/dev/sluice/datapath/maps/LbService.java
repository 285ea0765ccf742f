package dev.sluice.datapath.maps;

import dev.sluice.bpf.Codec;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;

/**
 * Value of sl_lb4_services ({@code struct lb4_service}).
 *
 * @param id    frontend id (1..65535): reverse NAT, slot and Maglev key
 * @param count backends, in slots 1..count
 * @param flags {@link #AFFINITY}, {@link #LOCAL}, {@link #PRESERVE_CLIENT}, {@link #EXTERNAL}, {@link #REJECT}, {@link #MAGLEV}
 * @param type  {@link #CLUSTER_IP}, {@link #NODE_PORT}, {@link #EXTERNAL_IP}, {@link #LOAD_BALANCER}
 */
public record LbService(int id, int count, int flags, int affinityTimeout, int type) {
    public static final int AFFINITY = 0x01, LOCAL = 0x02, PRESERVE_CLIENT = 0x04, EXTERNAL = 0x08, REJECT = 0x10, MAGLEV = 0x20;
    public static final int CLUSTER_IP = 1, NODE_PORT = 2, EXTERNAL_IP = 3, LOAD_BALANCER = 4;
    public static final MemoryLayout LAYOUT = MemoryLayout.structLayout(
            Layouts.U32.withName("id"), Layouts.U16.withName("count"), Layouts.U16.withName("flags"),
            Layouts.U32.withName("affinity_timeout"), Layouts.U8.withName("type"), Layouts.bytes(3, "pad"));

    public static final Codec<LbService> CODEC = new Codec<>() {
        public MemoryLayout layout() { return LAYOUT; }
        public void write(MemorySegment s, LbService v) {
            s.set(Layouts.U32, 0, v.id);
            s.set(Layouts.U16, 4, (short) v.count);
            s.set(Layouts.U16, 6, (short) v.flags);
            s.set(Layouts.U32, 8, v.affinityTimeout);
            s.set(Layouts.U8, 12, (byte) v.type);
        }
        public LbService read(MemorySegment s) {
            return new LbService(s.get(Layouts.U32, 0), s.get(Layouts.U16, 4) & 0xffff, s.get(Layouts.U16, 6) & 0xffff,
                    s.get(Layouts.U32, 8), s.get(Layouts.U8, 12) & 0xff);
        }
    };

    public String typeName() {
        return switch (type) {
            case CLUSTER_IP -> "ClusterIP";
            case NODE_PORT -> "NodePort";
            case EXTERNAL_IP -> "ExternalIP";
            case LOAD_BALANCER -> "LoadBalancer";
            default -> "type" + type;
        };
    }
}
