package dev.sluice.netlink;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * Sends whole Ethernet frames out of one interface through an AF_PACKET socket that receives
 * nothing (protocol 0): the gratuitous ARP a node sends when it starts announcing an address. The
 * socket belongs to the network namespace of the calling thread; one socket per send.
 */
public final class PacketSocket {
    private PacketSocket() {}

    private static final int AF_PACKET = 17, SOCK_RAW = 3, SOCK_CLOEXEC = 0x80000;
    /** struct sockaddr_ll (linux/if_packet.h). */
    static final StructLayout SOCKADDR_LL = MemoryLayout.structLayout(JAVA_SHORT.withName("sll_family"), JAVA_SHORT.withName("sll_protocol"),
            JAVA_INT.withName("sll_ifindex"), JAVA_SHORT.withName("sll_hatype"), JAVA_BYTE.withName("sll_pkttype"),
            JAVA_BYTE.withName("sll_halen"), MemoryLayout.sequenceLayout(8, JAVA_BYTE).withName("sll_addr"));
    private static final VarHandle FAMILY = SOCKADDR_LL.varHandle(groupElement("sll_family"));
    private static final VarHandle IFINDEX = SOCKADDR_LL.varHandle(groupElement("sll_ifindex"));
    private static final VarHandle HALEN = SOCKADDR_LL.varHandle(groupElement("sll_halen"));

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(groupElement("errno"));
    private static final MethodHandle SOCKET = libc("socket", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle SENDTO = libc("sendto", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle CLOSE = libc("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));

    private static MethodHandle libc(String name, FunctionDescriptor fd) {
        return LINKER.downcallHandle(LINKER.defaultLookup().find(name).orElseThrow(() -> new UnsatisfiedLinkError("libc: no symbol " + name)), fd,
                Linker.Option.captureCallState("errno"));
    }

    /** Sends {@code frame} (Ethernet header included) out of interface {@code ifindex}; errors name the interface and errno. */
    public static void send(int ifindex, byte[] frame) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cs = a.allocate(CAPTURE);
            int fd = (int) SOCKET.invokeExact(cs, AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
            if (fd < 0) throw new IllegalStateException("ifindex " + ifindex + ": socket(AF_PACKET): " + NetlinkSocket.strerror((int) ERRNO.get(cs, 0L)));
            try {
                MemorySegment sll = a.allocate(SOCKADDR_LL);
                FAMILY.set(sll, 0L, (short) AF_PACKET);
                IFINDEX.set(sll, 0L, ifindex);
                HALEN.set(sll, 0L, (byte) 6);
                MemorySegment buf = a.allocateFrom(JAVA_BYTE, frame);
                long n = (long) SENDTO.invokeExact(cs, fd, buf, (long) frame.length, 0, sll, (int) SOCKADDR_LL.byteSize());
                if (n != frame.length)
                    throw new IllegalStateException("ifindex " + ifindex + ": sending a " + frame.length + "-byte frame: "
                            + (n < 0 ? NetlinkSocket.strerror((int) ERRNO.get(cs, 0L)) : "sent " + n));
            } finally {
                int ignored = (int) CLOSE.invokeExact(cs, fd);
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /**
     * A gratuitous ARP request (RFC 5227's announcement): broadcast, sender and target address both
     * {@code ip}, sender hardware address {@code mac}, target hardware address zero. Neighbours that
     * hold an entry for {@code ip} move it to {@code mac}.
     */
    public static byte[] gratuitousArp(String mac, int ip) {
        byte[] m = mac(mac);
        ByteBuffer b = ByteBuffer.allocate(14 + 28);
        b.put(new byte[] {-1, -1, -1, -1, -1, -1}).put(m).putShort((short) 0x0806);
        b.putShort((short) 1).putShort((short) 0x0800).put((byte) 6).put((byte) 4).putShort((short) 1)
                .put(m).putInt(ip).put(new byte[6]).putInt(ip);
        return b.array();
    }

    static byte[] mac(String s) {
        String[] p = s.split(":");
        if (p.length != 6) throw new IllegalArgumentException("MAC " + s + " (expected: six hex bytes aa:bb:cc:dd:ee:ff)");
        byte[] b = new byte[6];
        for (int i = 0; i < 6; i++) b[i] = (byte) Integer.parseInt(p[i], 16);
        return b;
    }
}
