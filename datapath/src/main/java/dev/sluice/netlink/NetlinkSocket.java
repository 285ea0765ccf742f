package dev.sluice.netlink;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * One NETLINK_ROUTE socket and the netlink framing around it: message building, request/ACK with
 * sequence numbers, dumps, and errors that carry errno and the kernel's extended-ACK text. The
 * socket belongs to the network namespace of the thread that opened it, for its whole life.
 *
 * <p>Structs and constants are declared here from the kernel's UAPI (linux/netlink.h,
 * linux/rtnetlink.h) for x86_64, host byte order; RtnetlinkTest checks the sizes.
 */
final class NetlinkSocket implements AutoCloseable {
    // ---- linux/netlink.h ----
    static final int AF_NETLINK = 16, SOCK_RAW = 3, SOCK_CLOEXEC = 0x80000, NETLINK_ROUTE = 0;
    static final int SOL_SOCKET = 1, SO_RCVTIMEO = 20, SOL_NETLINK = 270;
    static final int NETLINK_CAP_ACK = 10, NETLINK_EXT_ACK = 11, NETLINK_GET_STRICT_CHK = 12;
    static final int NLMSG_ERROR = 2, NLMSG_DONE = 3;
    static final int NLM_F_REQUEST = 0x1, NLM_F_ACK = 0x4, NLM_F_DUMP_INTR = 0x10, NLM_F_DUMP = 0x300;
    static final int NLM_F_REPLACE = 0x100, NLM_F_EXCL = 0x200, NLM_F_CREATE = 0x400;
    /** In an error message's flags: the request was not echoed / extended-ACK attributes follow. */
    static final int NLM_F_CAPPED = 0x100, NLM_F_ACK_TLVS = 0x200;
    static final int NLMSGERR_ATTR_MSG = 1;
    private static final int NLA_TYPE_MASK = 0x3fff;   // without NLA_F_NESTED and NLA_F_NET_BYTEORDER
    private static final int MSG_TRUNC = 0x20, EINTR = 4, EAGAIN = 11, EMSGSIZE = 90;
    private static final int O_RDONLY = 0, O_CLOEXEC = 0x80000;

    /** A reply never takes longer unless the kernel is stuck: better an error naming the request than a hung agent. */
    static final int RECV_TIMEOUT_SECONDS = 10;
    /** Larger than any single datagram a dump sends (the kernel caps them at 32 KiB). */
    private static final int RECV_BUFFER = 64 * 1024;
    private static final int MAX_REQUEST = 4096;

    static final StructLayout NLMSGHDR = MemoryLayout.structLayout(
            JAVA_INT.withName("nlmsg_len"), JAVA_SHORT.withName("nlmsg_type"), JAVA_SHORT.withName("nlmsg_flags"),
            JAVA_INT.withName("nlmsg_seq"), JAVA_INT.withName("nlmsg_pid"));
    static final StructLayout NLMSGERR = MemoryLayout.structLayout(JAVA_INT.withName("error"), NLMSGHDR.withName("msg"));
    static final StructLayout RTATTR = MemoryLayout.structLayout(JAVA_SHORT.withName("rta_len"), JAVA_SHORT.withName("rta_type"));
    static final StructLayout SOCKADDR_NL = MemoryLayout.structLayout(
            JAVA_SHORT.withName("nl_family"), JAVA_SHORT.withName("nl_pad"), JAVA_INT.withName("nl_pid"), JAVA_INT.withName("nl_groups"));
    static final StructLayout TIMEVAL = MemoryLayout.structLayout(JAVA_LONG.withName("tv_sec"), JAVA_LONG.withName("tv_usec"));

    private static final VarHandle LEN = NLMSGHDR.varHandle(groupElement("nlmsg_len"));
    private static final VarHandle TYPE = NLMSGHDR.varHandle(groupElement("nlmsg_type"));
    private static final VarHandle FLAGS = NLMSGHDR.varHandle(groupElement("nlmsg_flags"));
    private static final VarHandle SEQ = NLMSGHDR.varHandle(groupElement("nlmsg_seq"));
    private static final VarHandle ERROR = NLMSGERR.varHandle(groupElement("error"));
    private static final VarHandle ERR_MSG_LEN = NLMSGERR.varHandle(groupElement("msg"), groupElement("nlmsg_len"));
    private static final VarHandle RTA_LEN = RTATTR.varHandle(groupElement("rta_len"));
    private static final VarHandle RTA_TYPE = RTATTR.varHandle(groupElement("rta_type"));
    private static final VarHandle NL_FAMILY = SOCKADDR_NL.varHandle(groupElement("nl_family"));
    private static final VarHandle TV_SEC = TIMEVAL.varHandle(groupElement("tv_sec"));
    static final ValueLayout.OfInt BE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    static long align(long n) { return (n + 3) & ~3L; }

    // ---- libc, bound once; errno captured ----
    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(groupElement("errno"));

    private static MethodHandle libc(String name, FunctionDescriptor fd, Linker.Option... extra) {
        MemorySegment sym = LIBC.find(name).orElseThrow(() -> new UnsatisfiedLinkError("libc: no symbol " + name));
        Linker.Option[] opts = new Linker.Option[extra.length + 1];
        System.arraycopy(extra, 0, opts, 0, extra.length);
        opts[extra.length] = Linker.Option.captureCallState("errno");
        return LINKER.downcallHandle(sym, fd, opts);
    }

    private static final MethodHandle SOCKET = libc("socket", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle SETSOCKOPT = libc("setsockopt", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle SENDTO = libc("sendto", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle RECV = libc("recv", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
    private static final MethodHandle CLOSE = libc("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle OPEN = libc("open", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), Linker.Option.firstVariadicArg(2));
    private static final MethodHandle STRERROR = LINKER.downcallHandle(LIBC.find("strerror").orElseThrow(),
            FunctionDescriptor.of(ADDRESS.withTargetLayout(MemoryLayout.sequenceLayout(Long.MAX_VALUE, JAVA_BYTE)), JAVA_INT));

    private final int fd;
    private int seq;
    private long requests;

    private NetlinkSocket(int fd) { this.fd = fd; }

    /** A NETLINK_ROUTE socket in the calling thread's network namespace. */
    static NetlinkSocket open() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cs = a.allocate(CAPTURE);
            int fd = (int) invoke(SOCKET, cs, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
            if (fd < 0) throw new RtnetlinkException("netlink", "socket(AF_NETLINK)", errno(cs));
            NetlinkSocket s = new NetlinkSocket(fd);
            try {
                MemorySegment tv = a.allocate(TIMEVAL);
                TV_SEC.set(tv, 0L, (long) RECV_TIMEOUT_SECONDS);
                s.setsockopt(a, SOL_SOCKET, SO_RCVTIMEO, tv, true);
                MemorySegment one = a.allocateFrom(JAVA_INT, 1);
                // Best effort: the kernel's reason text in errors, no echo of our request in them, and
                // dump filters applied by the kernel (routes() filters again, so older kernels still work).
                s.setsockopt(a, SOL_NETLINK, NETLINK_EXT_ACK, one, false);
                s.setsockopt(a, SOL_NETLINK, NETLINK_CAP_ACK, one, false);
                s.setsockopt(a, SOL_NETLINK, NETLINK_GET_STRICT_CHK, one, false);
            } catch (RuntimeException e) {
                s.close();
                throw e;
            }
            return s;
        }
    }

    private void setsockopt(Arena a, int level, int name, MemorySegment value, boolean required) {
        MemorySegment cs = a.allocate(CAPTURE);
        int r = (int) invoke(SETSOCKOPT, cs, fd, level, name, value, (int) value.byteSize());
        if (r < 0 && required) throw new RtnetlinkException("netlink", "setsockopt(" + level + ", " + name + ")", errno(cs));
    }

    /** Receives each reply message of a request: its type and body (after the netlink header), valid only during the call. */
    @FunctionalInterface
    interface Replies {
        void accept(int type, MemorySegment body);
    }

    /**
     * Sends {@code request} (its flags carry NLM_F_ACK, or NLM_F_DUMP for a dump) and reads until
     * its ACK (or, for a dump, NLMSG_DONE), handing every other message with the request's sequence
     * number to {@code replies}. Messages with another sequence number (the rest of an earlier
     * request that failed half-way) are skipped. A refusal throws naming {@code subject} and
     * {@code operation}. Returns false when a dump was interrupted by a concurrent change (the
     * caller repeats it), else true.
     */
    boolean transact(Message request, String subject, String operation, Replies replies) {
        int mySeq = ++seq;
        requests++;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment req = request.finish(mySeq);
            MemorySegment kernel = a.allocate(SOCKADDR_NL);
            NL_FAMILY.set(kernel, 0L, (short) AF_NETLINK);
            MemorySegment cs = a.allocate(CAPTURE);
            long sent;
            do sent = (long) invoke(SENDTO, cs, fd, req, req.byteSize(), 0, kernel, (int) kernel.byteSize());
            while (sent < 0 && errno(cs) == EINTR);
            if (sent < 0) throw new RtnetlinkException(subject, operation + " (send)", errno(cs));
            MemorySegment buf = a.allocate(RECV_BUFFER, 8);
            boolean consistent = true;
            while (true) {
                long n = (long) invoke(RECV, cs, fd, buf, (long) RECV_BUFFER, MSG_TRUNC);
                if (n < 0) {
                    int e = errno(cs);
                    if (e == EINTR) continue;
                    if (e == EAGAIN) throw new RtnetlinkException(subject, operation + " (no answer within " + RECV_TIMEOUT_SECONDS + " s)", e);
                    throw new RtnetlinkException(subject, operation + " (receive)", e);
                }
                if (n > RECV_BUFFER) throw new RtnetlinkException(subject, operation + " (a reply of " + n + " bytes was truncated)", EMSGSIZE);
                long off = 0;
                while (off + NLMSGHDR.byteSize() <= n) {
                    int len = (int) LEN.get(buf, off);
                    if (len < NLMSGHDR.byteSize() || off + len > n) throw new RtnetlinkException(subject, operation + " (malformed reply)", 0);
                    int type = Short.toUnsignedInt((short) TYPE.get(buf, off));
                    int flags = Short.toUnsignedInt((short) FLAGS.get(buf, off));
                    int replySeq = (int) SEQ.get(buf, off);
                    MemorySegment body = buf.asSlice(off + NLMSGHDR.byteSize(), len - NLMSGHDR.byteSize());
                    off += align(len);
                    if (replySeq != mySeq) continue;
                    if ((flags & NLM_F_DUMP_INTR) != 0) consistent = false;
                    if (type == NLMSG_ERROR) {
                        int error = (int) ERROR.get(body, 0L);
                        if (error == 0) return consistent;   // the ACK
                        throw new RtnetlinkException(subject, operation, -error, extAck(body, flags));
                    }
                    if (type == NLMSG_DONE) {
                        // a dump that failed half-way says so here
                        int error = body.byteSize() >= 4 ? body.get(JAVA_INT, 0) : 0;
                        if (error < 0) throw new RtnetlinkException(subject, operation, -error, extAck(body, flags));
                        return consistent;
                    }
                    replies.accept(type, body);
                }
            }
        }
    }

    /** Requests sent on this socket so far (dumps count once). */
    long requests() { return requests; }

    /** The kernel's own reason (NLMSGERR_ATTR_MSG), when it sent one. */
    private static String extAck(MemorySegment body, int flags) {
        if ((flags & NLM_F_ACK_TLVS) == 0 || body.byteSize() < NLMSGERR.byteSize()) return null;
        long tlvs = NLMSGERR.byteSize();
        if ((flags & NLM_F_CAPPED) == 0) tlvs += align((int) ERR_MSG_LEN.get(body, 0L) - NLMSGHDR.byteSize());
        if (tlvs > body.byteSize()) return null;
        MemorySegment msg = attrs(body.asSlice(tlvs)).get(NLMSGERR_ATTR_MSG);
        return msg == null ? null : string(msg);
    }

    @Override public void close() {
        try (Arena a = Arena.ofConfined()) {
            invoke(CLOSE, a.allocate(CAPTURE), fd);
        }
    }

    // ---- attributes ----

    /** The attributes in {@code s} by type (nested and byte-order flags masked off); the last of a repeated type wins. */
    static Map<Integer, MemorySegment> attrs(MemorySegment s) {
        Map<Integer, MemorySegment> out = new HashMap<>();
        long off = 0, hdr = RTATTR.byteSize();
        while (off + hdr <= s.byteSize()) {
            int len = Short.toUnsignedInt((short) RTA_LEN.get(s, off));
            if (len < hdr || off + len > s.byteSize()) break;
            out.put(Short.toUnsignedInt((short) RTA_TYPE.get(s, off)) & NLA_TYPE_MASK, s.asSlice(off + hdr, len - hdr));
            off += align(len);
        }
        return out;
    }

    static String string(MemorySegment s) {
        byte[] b = s.toArray(JAVA_BYTE);
        int n = 0;
        while (n < b.length && b[n] != 0) n++;
        return new String(b, 0, n, StandardCharsets.UTF_8);
    }

    /** A netlink request under construction: header, one fixed struct, then attributes (nests allowed). */
    static final class Message {
        private final MemorySegment buf;
        private final int flags;
        private long len;

        /** {@code family} is the message's fixed struct (ifinfomsg, rtmsg, ...), zeroed; set its fields through {@link #fixed}. */
        Message(Arena a, int type, int flags, StructLayout family) {
            this.buf = a.allocate(MAX_REQUEST, 8);
            this.flags = flags | NLM_F_REQUEST;
            TYPE.set(buf, 0L, (short) type);
            FLAGS.set(buf, 0L, (short) this.flags);
            len = NLMSGHDR.byteSize() + align(family.byteSize());
        }

        int flags() { return flags; }

        /** The buffer, for writing the fixed struct at {@link #FIXED} or a nested one at the offset {@link #struct} returned. */
        MemorySegment segment() { return buf; }

        static final long FIXED = NLMSGHDR.byteSize();

        /** Reserves a zeroed struct inside the current nest (VETH_INFO_PEER's ifinfomsg); returns its offset. */
        long struct(StructLayout l) { return reserve(l.byteSize()); }

        Message put(int type, byte[] value) {
            long at = reserve(RTATTR.byteSize() + value.length);
            RTA_LEN.set(buf, at, (short) (RTATTR.byteSize() + value.length));
            RTA_TYPE.set(buf, at, (short) type);
            MemorySegment.copy(value, 0, buf, JAVA_BYTE, at + RTATTR.byteSize(), value.length);
            return this;
        }

        Message putInt(int type, int value) {
            long at = reserve(RTATTR.byteSize() + 4);
            RTA_LEN.set(buf, at, (short) (RTATTR.byteSize() + 4));
            RTA_TYPE.set(buf, at, (short) type);
            buf.set(JAVA_INT, at + RTATTR.byteSize(), value);
            return this;
        }

        Message putByte(int type, int value) { return put(type, new byte[] {(byte) value}); }

        /** An IPv4 address, in network order as the kernel keeps it. */
        Message putIpv4(int type, int address) {
            long at = reserve(RTATTR.byteSize() + 4);
            RTA_LEN.set(buf, at, (short) (RTATTR.byteSize() + 4));
            RTA_TYPE.set(buf, at, (short) type);
            buf.set(BE_INT, at + RTATTR.byteSize(), address);
            return this;
        }

        /** A NUL-terminated string, as the kernel's NLA_STRING and NLA_NUL_STRING policies both accept. */
        Message putString(int type, String value) {
            byte[] s = value.getBytes(StandardCharsets.UTF_8);
            byte[] z = new byte[s.length + 1];
            System.arraycopy(s, 0, z, 0, s.length);
            return put(type, z);
        }

        /** Opens a nested attribute; {@link #end} closes it. */
        long begin(int type) {
            long at = reserve(RTATTR.byteSize());
            RTA_TYPE.set(buf, at, (short) type);
            return at;
        }

        Message end(long begin) {
            RTA_LEN.set(buf, begin, (short) (len - begin));
            return this;
        }

        private long reserve(long n) {
            long at = len;
            if (at + align(n) > MAX_REQUEST) throw new IllegalStateException("netlink request: " + (at + n) + " bytes (expected: at most " + MAX_REQUEST + ")");
            len = at + align(n);
            return at;
        }

        MemorySegment finish(int seq) {
            LEN.set(buf, 0L, (int) len);
            SEQ.set(buf, 0L, seq);
            return buf.asSlice(0, len);
        }
    }

    // ---- plumbing ----

    /** open(2) of a namespace file, for IFLA_NET_NS_FD; the caller closes it with {@link #closeFd}. */
    static int openReadOnly(String path, String subject) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cs = a.allocate(CAPTURE);
            int fd = (int) invoke(OPEN, cs, a.allocateFrom(path), O_RDONLY | O_CLOEXEC, 0);
            if (fd < 0) throw new RtnetlinkException(subject, "open " + path, errno(cs));
            return fd;
        }
    }

    static void closeFd(int fd) {
        try (Arena a = Arena.ofConfined()) {
            invoke(CLOSE, a.allocate(CAPTURE), fd);
        }
    }

    static String strerror(int errno) {
        try {
            MemorySegment s = (MemorySegment) STRERROR.invoke(errno);
            return s.equals(MemorySegment.NULL) ? "errno " + errno : s.getString(0);
        } catch (Throwable t) {
            return "errno " + errno;
        }
    }

    private static int errno(MemorySegment capture) { return (int) ERRNO.get(capture, 0L); }

    private static Object invoke(MethodHandle mh, Object... args) {
        try {
            return mh.invokeWithArguments(args);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }
}
