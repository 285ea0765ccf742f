package dev.sluice.datapath;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import dev.sluice.net.Ip;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * A transparent (IP_TRANSPARENT) IPv4 socket through FFM, as the agent's proxies open them: what a
 * steering test needs from the proxy side (Java's own sockets cannot be transparent, and their fd
 * is not public). Create it inside the node's namespace ({@code Netns.inNetns}); the fd then works
 * from any thread. Every failing call throws with the call and its errno.
 */
final class TransparentSocket implements AutoCloseable {
    static final int AF_INET = 2, SOCK_STREAM = 1, SOCK_DGRAM = 2, SOCK_CLOEXEC = 0x80000;
    static final int SOL_SOCKET = 1, SO_REUSEADDR = 2, SOL_IP = 0, IP_TRANSPARENT = 19, IP_RECVORIGDSTADDR = 20, IP_ORIGDSTADDR = 20;
    static final int SO_MARK = 36, SO_SNDTIMEO = 21;
    static final short POLLIN = 1;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayoutPath.errno());
    private static final ValueLayout.OfShort BE_SHORT = JAVA_SHORT.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt BE_INT = JAVA_INT.withOrder(ByteOrder.BIG_ENDIAN);

    private static MethodHandle libc(String name, FunctionDescriptor fd) {
        return LINKER.downcallHandle(LINKER.defaultLookup().find(name).orElseThrow(), fd, Linker.Option.captureCallState("errno"));
    }

    private static final MethodHandle SOCKET = libc("socket", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle SETSOCKOPT = libc("setsockopt", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle BIND = libc("bind", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle LISTEN = libc("listen", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle ACCEPT = libc("accept4", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
    private static final MethodHandle GETSOCKNAME = libc("getsockname", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle GETPEERNAME = libc("getpeername", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle POLL = libc("poll", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
    private static final MethodHandle READ = libc("read", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle WRITE = libc("write", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle RECVMSG = libc("recvmsg", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle SENDTO = libc("sendto", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle CONNECT = libc("connect", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle CLOSE = libc("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));

    /** An IPv4 address and port. */
    record Addr(int ip, int port) {
        @Override public String toString() { return Ip.format(ip) + ":" + port; }
    }

    /** A datagram with its source and the original destination the kernel reported (IP_ORIGDSTADDR), or null. */
    record Datagram(String payload, Addr source, Addr origDst) {}

    final int fd;

    private TransparentSocket(int fd) { this.fd = fd; }

    private interface Call { long call(MemorySegment errno) throws Throwable; }

    private static long check(String what, Arena a, Call c) {
        MemorySegment st = a.allocate(CAPTURE);
        long r;
        try {
            r = c.call(st);
        } catch (Throwable t) {
            throw new IllegalStateException(what + ": " + t, t);
        }
        if (r < 0) throw new IllegalStateException(what + ": errno " + (int) ERRNO.get(st, 0L));
        return r;
    }

    private static MemorySegment sockaddr(Arena a, Addr addr) {
        MemorySegment s = a.allocate(16, 4);
        s.set(JAVA_SHORT, 0, (short) AF_INET);
        s.set(BE_SHORT, 2, (short) addr.port());
        s.set(BE_INT, 4, addr.ip());
        return s;
    }

    private static Addr addr(MemorySegment s) { return new Addr(s.get(BE_INT, 4), Short.toUnsignedInt(s.get(BE_SHORT, 2))); }

    /** A transparent TCP listener bound to {@code bind}; port 0 picks one. */
    static TransparentSocket tcpListener(Addr bind) {
        TransparentSocket s = open(SOCK_STREAM, bind);
        try (Arena a = Arena.ofConfined()) {
            check("listen", a, st -> (int) LISTEN.invokeExact(st, s.fd, 64));
        }
        return s;
    }

    /**
     * A proxy's upstream connection: a TCP socket with SO_MARK {@code mark} (0: none) connected to
     * {@code to} within {@code millis}; throws naming the errno when it cannot connect.
     */
    static TransparentSocket connect(Addr to, int mark, int millis) {
        TransparentSocket s;
        try (Arena a = Arena.ofConfined()) {
            s = new TransparentSocket((int) check("socket", a, st -> (int) SOCKET.invokeExact(st, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)));
        }
        try (Arena a = Arena.ofConfined()) {
            if (mark != 0) s.setInt(SOL_SOCKET, SO_MARK, mark);
            MemorySegment tv = a.allocate(16, 8);
            tv.set(JAVA_LONG, 0, millis / 1000L);
            tv.set(JAVA_LONG, 8, (millis % 1000) * 1000L);
            check("setsockopt SO_SNDTIMEO", a, st -> (int) SETSOCKOPT.invokeExact(st, s.fd, SOL_SOCKET, SO_SNDTIMEO, tv, 16));
            MemorySegment sa = sockaddr(a, to);
            check("connect " + to, a, st -> (int) CONNECT.invokeExact(st, s.fd, sa, 16));
            return s;
        } catch (RuntimeException e) {
            s.close();
            throw e;
        }
    }

    /** A TCP socket that is neither bound nor listening: what sl_proxy_socks must refuse. */
    static TransparentSocket unboundTcp() {
        try (Arena a = Arena.ofConfined()) {
            return new TransparentSocket((int) check("socket", a, st -> (int) SOCKET.invokeExact(st, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)));
        }
    }

    /** A transparent UDP socket bound to {@code bind}, reporting each datagram's original destination. */
    static TransparentSocket udp(Addr bind) {
        TransparentSocket s = open(SOCK_DGRAM, bind);
        s.setInt(SOL_IP, IP_RECVORIGDSTADDR, 1);
        return s;
    }

    private static TransparentSocket open(int type, Addr bind) {
        int fd;
        try (Arena a = Arena.ofConfined()) {
            fd = (int) check("socket", a, st -> (int) SOCKET.invokeExact(st, AF_INET, type | SOCK_CLOEXEC, 0));
        }
        TransparentSocket s = new TransparentSocket(fd);
        try {
            s.setInt(SOL_IP, IP_TRANSPARENT, 1);
            s.setInt(SOL_SOCKET, SO_REUSEADDR, 1);
            try (Arena a = Arena.ofConfined()) {
                MemorySegment sa = sockaddr(a, bind);
                check("bind " + bind, a, st -> (int) BIND.invokeExact(st, fd, sa, 16));
            }
            return s;
        } catch (RuntimeException e) {
            s.close();
            throw e;
        }
    }

    void setInt(int level, int name, int value) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_INT);
            v.set(JAVA_INT, 0, value);
            check("setsockopt " + level + "/" + name, a, st -> (int) SETSOCKOPT.invokeExact(st, fd, level, name, v, 4));
        }
    }

    Addr local() { return name(GETSOCKNAME, "getsockname"); }

    Addr peer() { return name(GETPEERNAME, "getpeername"); }

    private Addr name(MethodHandle h, String what) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sa = a.allocate(16, 4), len = a.allocate(JAVA_INT);
            len.set(JAVA_INT, 0, 16);
            check(what, a, st -> (int) h.invokeExact(st, fd, sa, len));
            return addr(sa);
        }
    }

    /** Whether the socket becomes readable (a connection to accept, data) within {@code millis}. */
    boolean readable(int millis) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(8, 4);
            p.set(JAVA_INT, 0, fd);
            p.set(JAVA_SHORT, 4, POLLIN);
            return check("poll", a, st -> (int) POLL.invokeExact(st, p, 1L, millis)) > 0;
        }
    }

    /** The next connection, or null when none comes within {@code millis}. */
    TransparentSocket accept(int millis) {
        if (!readable(millis)) return null;
        try (Arena a = Arena.ofConfined()) {
            int c = (int) check("accept", a, st -> (int) ACCEPT.invokeExact(st, fd, MemorySegment.NULL, MemorySegment.NULL, SOCK_CLOEXEC));
            return new TransparentSocket(c);
        }
    }

    /** Up to 4 KiB of text, waiting at most {@code millis}; null when nothing came. */
    String read(int millis) {
        if (!readable(millis)) return null;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment b = a.allocate(4096);
            long n = check("read", a, st -> (long) READ.invokeExact(st, fd, b, 4096L));
            return new String(b.asSlice(0, n).toArray(JAVA_BYTE), StandardCharsets.UTF_8);
        }
    }

    void write(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment b = a.allocateFrom(JAVA_BYTE, bytes);
            check("write", a, st -> (long) WRITE.invokeExact(st, fd, b, (long) bytes.length));
        }
    }

    /** The next datagram within {@code millis}, or null. */
    Datagram receive(int millis) {
        if (!readable(millis)) return null;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(2048), name = a.allocate(16, 4), iov = a.allocate(16, 8), control = a.allocate(256, 8);
            iov.set(ADDRESS, 0, buf);
            iov.set(JAVA_LONG, 8, 2048L);
            MemorySegment msg = a.allocate(56, 8);   // struct msghdr on x86-64
            msg.set(ADDRESS, 0, name);
            msg.set(JAVA_INT, 8, 16);
            msg.set(ADDRESS, 16, iov);
            msg.set(JAVA_LONG, 24, 1L);
            msg.set(ADDRESS, 32, control);
            msg.set(JAVA_LONG, 40, 256L);
            long n = check("recvmsg", a, st -> (long) RECVMSG.invokeExact(st, fd, msg, 0));
            long controlLen = msg.get(JAVA_LONG, 40);
            Addr orig = null;
            for (long off = 0; off + 16 <= controlLen; ) {
                long len = control.get(JAVA_LONG, off);
                int level = control.get(JAVA_INT, off + 8), type = control.get(JAVA_INT, off + 12);
                if (level == SOL_IP && type == IP_ORIGDSTADDR) orig = addr(control.asSlice(off + 16, 16));
                if (len < 16) break;
                off += (len + 7) & ~7L;
            }
            return new Datagram(new String(buf.asSlice(0, n).toArray(JAVA_BYTE), StandardCharsets.UTF_8), addr(name), orig);
        }
    }

    void sendTo(String text, Addr to) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment b = a.allocateFrom(JAVA_BYTE, bytes), sa = sockaddr(a, to);
            check("sendto " + to, a, st -> (long) SENDTO.invokeExact(st, fd, b, (long) bytes.length, 0, sa, 16));
        }
    }

    @Override public void close() {
        try (Arena a = Arena.ofConfined()) {
            check("close", a, st -> (int) CLOSE.invokeExact(st, fd));
        }
    }

    /** The path of errno in the capture layout. */
    private static final class MemoryLayoutPath {
        static java.lang.foreign.MemoryLayout.PathElement errno() { return java.lang.foreign.MemoryLayout.PathElement.groupElement("errno"); }
    }
}
