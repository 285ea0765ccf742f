package dev.sluice.agent.flow;

import dev.sluice.datapath.maps.FlowEvent;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's flow observer: every data path event, enriched, into the flow ring; readers get the
 * last flows that match their filter and, following, the new ones. The ring buffer's reader thread
 * calls {@link #accept} and never waits on a reader: a follower whose queue is full loses flows
 * and is told how many.
 */
public final class FlowObserver {
    private static final Logger log = LoggerFactory.getLogger(FlowObserver.class);
    static final int FOLLOW_QUEUE = 4096;

    private final Enricher enricher;
    private final FlowRing ring;
    private final LongSupplier lostEvents;
    private final Set<Subscription> followers = ConcurrentHashMap.newKeySet();
    private final AtomicLong enrichFailures = new AtomicLong();
    private final AtomicLong listenerFailures = new AtomicLong();
    private volatile Listener listener = (e, f) -> {};
    private final long started = System.nanoTime();

    /**
     * Sees every flow as it enters the ring: it must not block (the Hubble metrics). Data path flows
     * come on the reader thread with their event; L7 flows ({@link #l7Sink}) on the proxies'
     * threads, with a null event, so it must be thread-safe.
     */
    @FunctionalInterface
    public interface Listener {
        void flow(FlowEvent event, Flow flow);
    }

    /** @param lostEvents the data path's count of events its ring buffer had no room for (sl_events_lost) */
    public FlowObserver(Enricher enricher, int capacity, LongSupplier lostEvents) {
        this.enricher = enricher;
        this.ring = new FlowRing(capacity);
        this.lostEvents = lostEvents;
    }

    public void accept(FlowEvent e) {
        Flow f;
        try {
            f = enricher.enrich(e);
        } catch (RuntimeException ex) {
            // one odd event must not stop the reader; counted and shown in the status
            if (enrichFailures.getAndIncrement() == 0) log.warn("flow event not enriched: {}", ex.toString());
            return;
        }
        ring.add(f);
        try {
            listener.flow(e, f);
        } catch (RuntimeException ex) {
            // the flow is in the ring already; a metric that failed on it must not stop the reader
            if (listenerFailures.getAndIncrement() == 0) log.warn("flow listener failed: {}", ex.toString());
        }
        offer(f);
    }

    /**
     * Where the HTTP and DNS proxies hand what they saw: each observation is enriched
     * ({@link Enricher#enrich(L7Observation)}) into an L7 flow that goes into the ring, to the
     * listener (with a null event) and to every follower, on the proxy's own thread; it never
     * waits (a full follower loses it and is told, as with data path flows) and never throws (an
     * observation that cannot be enriched is counted in {@code notEnriched}).
     */
    public L7Observation.L7Sink l7Sink() { return this::observeL7; }

    private void observeL7(L7Observation o) {
        Flow f;
        try {
            f = enricher.enrich(o);
        } catch (RuntimeException ex) {
            if (enrichFailures.getAndIncrement() == 0) log.warn("L7 observation not enriched: {}", ex.toString());
            return;
        }
        ring.add(f);
        try {
            listener.flow(null, f);
        } catch (RuntimeException ex) {
            if (listenerFailures.getAndIncrement() == 0) log.warn("flow listener failed on an L7 flow: {}", ex.toString());
        }
        offer(f);
    }

    /** An enriched flow (without its event: the listener is not told) into the ring and to every follower; never waits. */
    public void publish(Flow f) {
        ring.add(f);
        offer(f);
    }

    private void offer(Flow f) {
        for (Subscription w : followers) if (w.filter.test(f) && !w.queue.offer(f)) w.dropped.incrementAndGet();
    }

    public FlowRing ring() { return ring; }

    /** One listener: set before the reader starts. */
    public void listen(Listener l) { listener = l; }

    /**
     * The flow ring's and the event path's counters ({@code sluice status}, the end of a query).
     *
     * @param capacity the ring's size (hubble.eventBufferCapacity), {@code flows} how many it holds
     * @param seen flows that entered the ring since the agent started; {@code overwritten} of them
     *     the ring dropped, oldest first, to make room
     * @param lostEvents events the data path's ring buffer had no room for (sl_events_lost, summed
     *     over CPUs); -1 when it could not be read
     * @param notEnriched events the agent could not turn into flows
     * @param flowsPerSecond {@code seen} over the seconds since the observer started
     */
    public record Counters(int capacity, int flows, long seen, long overwritten, long lostEvents, long notEnriched, double flowsPerSecond) {}

    public Counters counters() {
        long lost;
        try {
            lost = lostEvents.getAsLong();
        } catch (RuntimeException ex) {
            lost = -1;
        }
        long seen = ring.written();
        double up = (System.nanoTime() - started) / 1e9;
        return new Counters(ring.capacity(), ring.size(), seen, ring.overwritten(), lost, enrichFailures.get(),
                up <= 0 ? 0 : Math.round(seen / up * 100) / 100.0);
    }

    /** The counters readers see at the end of a query: capacity, flows held and seen, overwritten, lost by the data path, not enriched. */
    public Map<String, Object> status() {
        Counters c = counters();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("capacity", c.capacity());
        m.put("flows", c.flows());
        m.put("seen", c.seen());
        m.put("overwritten", c.overwritten());
        m.put("lostEvents", c.lostEvents());
        m.put("notEnriched", c.notEnriched());
        return m;
    }

    /** Where a query's flows go; false: the reader went away. */
    @FunctionalInterface
    public interface Sink {
        boolean send(Map<String, Object> line);
    }

    /**
     * Sends the last {@code number} flows matching {@code filter} not older than {@code since},
     * then, when {@code follow}, new ones as they come (a heartbeat line every second so that a
     * reader who left is noticed), until the sink refuses; ends with a status line
     * ({@code {"status":{...}}}).
     */
    public void query(Predicate<Flow> filter, int number, Instant since, boolean follow, Sink sink) throws InterruptedException {
        Subscription w = null;
        if (follow) w = subscribe(filter, FOLLOW_QUEUE);   // before reading the ring: no flow falls between the two
        try {
            // a flow both in the ring's answer and in the follower's queue is sent once
            java.util.Set<String> sent = new java.util.HashSet<>();
            for (Flow f : ring.last(number, since, filter)) {
                if (!sink.send(FlowJson.response(f))) return;
                if (w != null) sent.add(f.uuid());
            }
            if (w == null) {
                sink.send(Map.of("status", status()));
                return;
            }
            while (true) {
                Flow f = w.queue.poll(1, TimeUnit.SECONDS);
                if (f == null) {
                    Map<String, Object> hb = new LinkedHashMap<>();
                    hb.put("heartbeat", true);
                    hb.put("dropped", w.dropped.get());
                    if (!sink.send(hb)) return;
                    continue;
                }
                if (sent.remove(f.uuid())) continue;
                if (!sink.send(FlowJson.response(f))) return;
            }
        } finally {
            if (w != null) w.close();
        }
    }

    /**
     * Starts following: new flows that match go into a queue of {@code capacity} that {@link #accept}
     * fills without waiting; when it is full they are dropped and counted. Close it to stop.
     */
    public Subscription subscribe(Predicate<Flow> filter, int capacity) {
        Subscription s = new Subscription(filter, capacity);
        followers.add(s);
        return s;
    }

    /** Readers following now. */
    public int followers() { return followers.size(); }

    /** One follower's queue. */
    public final class Subscription implements AutoCloseable {
        final Predicate<Flow> filter;
        final BlockingQueue<Flow> queue;
        final AtomicLong dropped = new AtomicLong();

        Subscription(Predicate<Flow> filter, int capacity) {
            this.filter = filter;
            this.queue = new ArrayBlockingQueue<>(capacity);
        }

        /** The next new flow, or null after {@code timeout}. */
        public Flow poll(long timeout, TimeUnit unit) throws InterruptedException { return queue.poll(timeout, unit); }

        /** Flows that matched but found the queue full, since the start. */
        public long dropped() { return dropped.get(); }

        @Override public void close() { followers.remove(this); }
    }
}
