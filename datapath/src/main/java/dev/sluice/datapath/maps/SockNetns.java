package dev.sluice.datapath.maps;

import dev.sluice.bpf.Codec;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/**
 * Value of sl_sock_netns ({@code struct sock_netns}, bpf/lib/sock.h), keyed by a network
 * namespace's cookie: a namespace whose sockets the socket load balancer serves.
 *
 * @param endpoint the pod's endpoint id, 0 for the node's own namespace
 * @param address  the pod's address (the source its flow events carry), 0 for the node's namespace
 * @param kind     {@link #HOST} or {@link #POD}
 */
public record SockNetns(int endpoint, int address, int kind) {
    /** enum sl_sock_netns_kind. */
    public static final int HOST = 1, POD = 2;

    public static final MemoryLayout LAYOUT = MemoryLayout.structLayout(
            Layouts.U32.withName("endpoint"), Layouts.BE32.withName("address"), Layouts.U8.withName("kind"), Layouts.bytes(3, "pad"));
    private static final VarHandle ENDPOINT = Layouts.field(LAYOUT, "endpoint"), ADDRESS = Layouts.field(LAYOUT, "address"),
            KIND = Layouts.field(LAYOUT, "kind");

    public static final Codec<SockNetns> CODEC = new Codec<>() {
        public MemoryLayout layout() { return LAYOUT; }
        public void write(MemorySegment s, SockNetns v) {
            ENDPOINT.set(s, v.endpoint);
            ADDRESS.set(s, v.address);
            KIND.set(s, (byte) v.kind);
        }
        public SockNetns read(MemorySegment s) {
            return new SockNetns((int) ENDPOINT.get(s), (int) ADDRESS.get(s), (byte) KIND.get(s) & 0xff);
        }
    };

    /** The netns cookie key. */
    public static final Codec<Long> KEY = Codec.u64();
}
