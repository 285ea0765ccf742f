package dev.sluice.agent.flow;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * The flows one agent keeps (hubble.eventBufferCapacity): a ring that, once full, overwrites the
 * oldest and counts it. The writer never waits on a reader: reads copy under a short lock.
 */
public final class FlowRing {
    private final Flow[] slots;
    private long written;

    /** @param capacity a power of two minus one, as Hubble's ring (checked again here: the values reader is not the only caller) */
    public FlowRing(int capacity) {
        if (capacity < 1 || (capacity & (capacity + 1)) != 0)
            throw new IllegalArgumentException("hubble.eventBufferCapacity: " + capacity + " (expected: a power of two minus one, e.g. 4095)");
        slots = new Flow[capacity];
    }

    public int capacity() { return slots.length; }

    public synchronized void add(Flow f) {
        slots[(int) (written % slots.length)] = f;
        written++;
    }

    /** Flows written since start. */
    public synchronized long written() { return written; }

    /** Flows overwritten before anyone could read them from the ring. */
    public synchronized long overwritten() { return Math.max(0, written - slots.length); }

    public synchronized int size() { return (int) Math.min(written, slots.length); }

    /** The flows held now, oldest first. */
    public List<Flow> snapshot() {
        synchronized (this) {
            int n = size();
            List<Flow> out = new ArrayList<>(n);
            for (long i = written - n; i < written; i++) out.add(slots[(int) (i % slots.length)]);
            return out;
        }
    }

    /**
     * The newest {@code number} flows that match and are not older than {@code since} (null: any),
     * oldest first; {@code number <= 0}: all that match.
     */
    public List<Flow> last(int number, Instant since, Predicate<Flow> filter) {
        List<Flow> snapshot = snapshot();
        List<Flow> out = new ArrayList<>();
        for (int i = snapshot.size() - 1; i >= 0 && (number <= 0 || out.size() < number); i--) {
            Flow f = snapshot.get(i);
            if (since != null && f.time().isBefore(since)) continue;
            if (filter.test(f)) out.add(f);
        }
        java.util.Collections.reverse(out);
        return out;
    }
}
