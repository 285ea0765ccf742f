package dev.sluice.agent;

import com.sun.management.HotSpotDiagnosticMXBean;
import com.sun.management.VMOption;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.management.ManagementFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gives memory back after a burst (the first snapshot, a resync, a relist: thousands of objects
 * decoded and programmed at once), so the agent's resident size follows what it holds rather than
 * the peak of its largest apply.
 *
 * <p>The agent runs the serial collector, which keeps the heap it grew to until a full collection
 * finds more than {@code MaxHeapFreeRatio} (70% by default) of it free: after 10,000 Services the
 * heap stayed at ~200-230 MiB with ~60-80 MiB live. So: unless set on the command line, the free
 * ratios are narrowed ({@link #MIN_FREE}-{@link #MAX_FREE}%, both flags are manageable), and after a
 * burst, once no apply came for a second (at the latest 30 s after it), full collections run (on
 * their own thread; they stop every thread for 0.1-0.25 s each, so not while changes stream in), followed
 * by glibc's {@code malloc_trim(0)}, which returns the native memory libbpf and the JDK freed
 * (absent elsewhere, e.g. musl: skipped).
 *
 * <p>Native memory freed outside bursts (the compiler's arenas, released by the JVM a few seconds
 * after it compiled; libbpf's copy of the objects after the load) also stays in glibc's arenas until
 * trimmed: so once the agent has been idle for {@link #IDLE_NS} after any apply, malloc_trim alone
 * runs (no collection: a few milliseconds, no pause). That is 5 MiB of an idle agent's 83.
 */
final class MemoryTrim {
    private static final Logger log = LoggerFactory.getLogger(MemoryTrim.class);
    static final int MIN_FREE = 10, MAX_FREE = 25;
    /** This many changed objects since the last trim (in one apply or many) are a burst. */
    static final int BURST = 1000;

    private static final MethodHandle MALLOC_TRIM = mallocTrim();
    private final Object lock = new Object();
    private boolean requested;
    private long requestedAt;
    private volatile long lastApply = System.nanoTime();
    private Thread worker;
    /** Trims once no apply came for this long (full collections stop every thread: not while changes stream in)... */
    static final long QUIET_NS = 1_000_000_000L;
    /** ...or this long after the request at the latest. */
    static final long LATEST_NS = 30_000_000_000L;
    /** Idle this long after an apply: native memory only is trimmed. */
    static final long IDLE_NS = 10_000_000_000L;
    private final java.util.concurrent.ScheduledExecutorService idle = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().daemon().name("memory-idle-trim").factory());
    /** The apply the last idle trim came after. */
    private long idleTrimmedAfter;

    /** Starts the idle trim (see the class comment); {@link #close} stops it. */
    void startIdleTrim() {
        idle.scheduleWithFixedDelay(() -> {
            long last = lastApply;
            if (last == idleTrimmedAfter || System.nanoTime() - last < IDLE_NS) return;
            idleTrimmedAfter = last;
            mallocTrim0();
        }, 2, 2, java.util.concurrent.TimeUnit.SECONDS);
    }

    void close() { idle.shutdownNow(); }

    /** Narrows the heap's free ratios unless the command line set them. */
    static void configureHeap() {
        try {
            var hs = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
            if (hs.getVMOption("MinHeapFreeRatio").getOrigin() != VMOption.Origin.DEFAULT
                    || hs.getVMOption("MaxHeapFreeRatio").getOrigin() != VMOption.Origin.DEFAULT) return;
            hs.setVMOption("MinHeapFreeRatio", Integer.toString(MIN_FREE)); // first: Min <= Max at every step
            hs.setVMOption("MaxHeapFreeRatio", Integer.toString(MAX_FREE));
        } catch (RuntimeException e) {
            log.debug("heap free ratios not set: {}", e.toString());
        }
    }

    /** Notes an apply: a trim waits for a quiet second. */
    void applied() { lastApply = System.nanoTime(); }

    /** Trims once the agent is quiet (requests meanwhile are one), on a daemon thread. */
    void request() {
        synchronized (lock) {
            if (!requested) requestedAt = System.nanoTime();
            requested = true;
            if (worker != null) return;
            worker = Thread.ofPlatform().daemon().name("memory-trim").start(this::run);
        }
    }

    private void run() {
        while (true) {
            try {
                Thread.sleep(250);
            } catch (InterruptedException e) {
                return;
            }
            synchronized (lock) {
                if (!requested) {
                    worker = null;
                    return;
                }
                long now = System.nanoTime();
                if (now - lastApply < QUIET_NS && now - requestedAt < LATEST_NS) continue;
                requested = false;
            }
            trimNow();
        }
    }

    /**
     * Full collections, then malloc_trim. Four: the serial collector shrinks in steps (ShrinkHeapInSteps,
     * on by default) of 0%, 10%, 40%, then 100% of the excess over consecutive full collections;
     * after the first the heap is compact, so the others cost only their marking.
     */
    static void trimNow() {
        for (int i = 0; i < 4; i++) System.gc();
        mallocTrim0();
    }

    private static void mallocTrim0() {
        if (MALLOC_TRIM != null) {
            try {
                int unused = (int) MALLOC_TRIM.invokeExact(0L);
            } catch (Throwable t) {
                log.debug("malloc_trim: {}", t.toString());
            }
        }
    }

    private static MethodHandle mallocTrim() {
        try {
            var linker = Linker.nativeLinker();
            return linker.defaultLookup().find("malloc_trim")
                    .map(a -> linker.downcallHandle(a, FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG)))
                    .orElse(null);
        } catch (RuntimeException e) {
            return null;
        }
    }
}
