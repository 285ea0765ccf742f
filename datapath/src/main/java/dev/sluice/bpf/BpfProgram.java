package dev.sluice.bpf;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Optional;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * A loaded program of a {@link BpfObject}: its fd is owned by the object, or, for a program
 * {@link BpfObject#detachPrograms detached} from it, by this program until {@link #close}.
 */
public final class BpfProgram implements AutoCloseable {
    private final String name;
    private final int fd;
    private final Optional<String> verifierLog;
    private final boolean ownsFd;
    private volatile boolean closed;

    BpfProgram(String name, int fd, Optional<String> verifierLog) { this(name, fd, verifierLog, false); }

    BpfProgram(String name, int fd, Optional<String> verifierLog, boolean ownsFd) {
        this.name = name;
        this.fd = fd;
        this.verifierLog = verifierLog;
        this.ownsFd = ownsFd;
    }

    public String name() { return name; }

    public int fd() { return fd; }

    /** The kernel's id of the loaded program (bpf_prog_info.id), as bpftool and bpf_prog_query name it. */
    public int id() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment info = a.allocate(8, 8);   // struct bpf_prog_info starts with type, id
            MemorySegment len = a.allocate(JAVA_INT);
            len.set(JAVA_INT, 0, 8);
            int r = Libbpf.call(Libbpf.OBJ_GET_INFO_BY_FD, a, fd, info, len);
            if (r < 0) throw new BpfException("program '" + name + "'", "bpf_obj_get_info_by_fd", -r);
            return info.get(JAVA_INT, 4);
        }
    }

    /** The verifier log of a successful load, when the object was opened with logLevel > 0. */
    public Optional<String> verifierLog() { return verifierLog; }

    /**
     * BPF_PROG_TEST_RUN (bpf_prog_test_run_opts): runs the program on {@code in.data()} without
     * attaching it. For tc programs the data is a whole Ethernet frame (at least 14 bytes).
     */
    public TestRun.Result testRun(TestRun.Input in) {
        var L = Libbpf.TEST_RUN_OPTS;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment o = a.allocate(L);
            MemorySegment dataIn = a.allocate(Math.max(in.data().length, 1), 8);
            MemorySegment.copy(in.data(), 0, dataIn, JAVA_BYTE, 0, in.data().length);
            MemorySegment dataOut = a.allocate(Math.max(in.dataSizeOut(), 1), 8);
            o.set(JAVA_LONG, Libbpf.off(L, "sz"), L.byteSize());
            o.set(ADDRESS, Libbpf.off(L, "data_in"), dataIn);
            o.set(JAVA_INT, Libbpf.off(L, "data_size_in"), in.data().length);
            if (in.dataSizeOut() > 0) {
                o.set(ADDRESS, Libbpf.off(L, "data_out"), dataOut);
                o.set(JAVA_INT, Libbpf.off(L, "data_size_out"), in.dataSizeOut());
            }
            MemorySegment ctxOut = MemorySegment.NULL;
            if (in.ctxIn() != null) {
                MemorySegment ctxIn = a.allocate(Math.max(in.ctxIn().length, 1), 8);
                MemorySegment.copy(in.ctxIn(), 0, ctxIn, JAVA_BYTE, 0, in.ctxIn().length);
                ctxOut = a.allocate(Math.max(in.ctxIn().length, 1), 8);
                o.set(ADDRESS, Libbpf.off(L, "ctx_in"), ctxIn);
                o.set(JAVA_INT, Libbpf.off(L, "ctx_size_in"), in.ctxIn().length);
                o.set(ADDRESS, Libbpf.off(L, "ctx_out"), ctxOut);
                o.set(JAVA_INT, Libbpf.off(L, "ctx_size_out"), in.ctxIn().length);
            }
            o.set(JAVA_INT, Libbpf.off(L, "repeat"), in.repeat());
            int r = Libbpf.call(Libbpf.PROG_TEST_RUN_OPTS, a, fd, o);
            if (r < 0) {
                String detail = -r == Libbpf.ENOSPC ? "output larger than dataSizeOut " + in.dataSizeOut() : null;
                throw new BpfException("program '" + name + "'", "test_run", -r, detail);
            }
            int outLen = in.dataSizeOut() > 0 ? o.get(JAVA_INT, Libbpf.off(L, "data_size_out")) : 0;
            byte[] data = dataOut.asSlice(0, Math.min(outLen, in.dataSizeOut())).toArray(JAVA_BYTE);
            byte[] ctx = null;
            if (in.ctxIn() != null) {
                int ctxLen = o.get(JAVA_INT, Libbpf.off(L, "ctx_size_out"));
                ctx = ctxOut.asSlice(0, Math.min(ctxLen, in.ctxIn().length)).toArray(JAVA_BYTE);
            }
            return new TestRun.Result(o.get(JAVA_INT, Libbpf.off(L, "retval")), data,
                    Integer.toUnsignedLong(o.get(JAVA_INT, Libbpf.off(L, "duration"))), ctx);
        }
    }

    /** Closes the fd if this program owns it (a detached program); the kernel keeps what is attached. Idempotent. */
    @Override
    public void close() {
        if (!ownsFd || closed) return;
        closed = true;
        try (Arena a = Arena.ofConfined()) {
            Libbpf.call(Libbpf.CLOSE, a, fd);
        }
    }

    @Override
    public String toString() { return "BpfProgram[" + name + " fd=" + fd + "]"; }
}
