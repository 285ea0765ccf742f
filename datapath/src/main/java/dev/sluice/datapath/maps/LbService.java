package dev.sluice.datapath.maps;

import dev.sluice.bpf.Codec;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

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
    private static final VarHandle ID = Layouts.field(LAYOUT, "id"), COUNT = Layouts.field(LAYOUT, "count"),
            FLAGS = Layouts.field(LAYOUT, "flags"), AFFINITY_TIMEOUT = Layouts.field(LAYOUT, "affinity_timeout"),
            TYPE = Layouts.field(LAYOUT, "type");

    public static final Codec<LbService> CODEC = new Codec<>() {
        public MemoryLayout layout() { return LAYOUT; }
        public void write(MemorySegment s, LbService v) {
            ID.set(s, v.id);
            COUNT.set(s, (short) v.count);
            FLAGS.set(s, (short) v.flags);
            AFFINITY_TIMEOUT.set(s, v.affinityTimeout);
            TYPE.set(s, (byte) v.type);
        }
        public LbService read(MemorySegment s) {
            return new LbService((int) ID.get(s), (short) COUNT.get(s) & 0xffff, (short) FLAGS.get(s) & 0xffff,
                    (int) AFFINITY_TIMEOUT.get(s), (byte) TYPE.get(s) & 0xff);
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
