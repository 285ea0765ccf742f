package dev.sluice.bpf;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.function.Consumer;

/**
 * Reads a BPF_MAP_TYPE_RINGBUF map through libbpf's ring_buffer (epoll + mmap). Records are passed
 * to {@code onRecord} on the thread calling {@link #poll}/{@link #consume}, as a segment valid only
 * during that call (copy what you keep). Use from one thread; close from that thread too.
 *
 * <p>An exception thrown by {@code onRecord} stops the current poll (the record counts as consumed)
 * and is rethrown from poll.
 */
public final class RingBufferReader implements AutoCloseable {
    private static final MethodHandle SAMPLE;

    static {
        try {
            SAMPLE = MethodHandles.lookup().findVirtual(RingBufferReader.class, "onSample",
                    MethodType.methodType(int.class, MemorySegment.class, MemorySegment.class, long.class));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final String name;
    private final Consumer<MemorySegment> onRecord;
    private final Arena arena = Arena.ofShared();
    private MemorySegment rb;
    private Throwable failure;

    public RingBufferReader(BpfMap ringbuf, Consumer<MemorySegment> onRecord) {
        if (ringbuf.type() != BpfMap.TYPE_RINGBUF)
            throw new IllegalArgumentException("map '" + ringbuf.name() + "': type " + ringbuf.type() + " (expected: ringbuf "
                    + BpfMap.TYPE_RINGBUF + ")");
        this.name = ringbuf.name();
        this.onRecord = onRecord;
        MemorySegment stub = Libbpf.LINKER.upcallStub(SAMPLE.bindTo(this), Libbpf.RINGBUF_SAMPLE_FN, arena);
        try (Arena a = Arena.ofConfined()) {
            int[] err = {0};
            rb = Libbpf.callPtr(Libbpf.RING_BUFFER_NEW, a, err, ringbuf.fd(), stub, MemorySegment.NULL, MemorySegment.NULL);
            if (rb.equals(MemorySegment.NULL)) {
                arena.close();
                throw new BpfException("map '" + name + "'", "ring_buffer__new", err[0]);
            }
        }
    }

    @SuppressWarnings("unused") // upcall
    private int onSample(MemorySegment ctx, MemorySegment data, long size) {
        try {
            onRecord.accept(data.reinterpret(size));
            return 0;
        } catch (Throwable t) {
            // never let an exception cross the upcall: it would kill the JVM
            failure = t;
            return -1;
        }
    }

    /** Waits up to {@code timeoutMs} (-1: forever) for records and delivers them; returns how many. */
    public int poll(int timeoutMs) {
        return run(Libbpf.RING_BUFFER_POLL, "ring_buffer__poll", timeoutMs);
    }

    /** Delivers the records available now without waiting; returns how many. */
    public int consume() {
        return run(Libbpf.RING_BUFFER_CONSUME, "ring_buffer__consume", null);
    }

    private int run(MethodHandle mh, String op, Integer timeout) {
        if (rb == null) throw new IllegalStateException("ring buffer '" + name + "': closed");
        try (Arena a = Arena.ofConfined()) {
            int r = timeout == null ? Libbpf.call(mh, a, rb) : Libbpf.call(mh, a, rb, (int) timeout);
            Throwable t = failure;
            if (t != null) {
                failure = null;
                if (t instanceof RuntimeException re) throw re;
                if (t instanceof Error e) throw e;
                throw new RuntimeException(t);
            }
            if (r == -Libbpf.EINTR) return 0;
            if (r < 0) throw new BpfException("ring buffer '" + name + "'", op, -r);
            return r;
        }
    }

    @Override
    public void close() {
        if (rb == null) return;
        Libbpf.plain(Libbpf.RING_BUFFER_FREE, rb);
        rb = null;
        arena.close();
    }
}
