package dev.sluice.agent.proxy;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/** The proxy's counters: thread-safe, cheap on the event loops. */
final class ProxyCounters {
    final LongAdder forwarded = new LongAdder();
    final LongAdder denied = new LongAdder();
    final LongAdder error = new LongAdder();
    final AtomicLong downstreamOpen = new AtomicLong();
    final AtomicLong upstreamOpen = new AtomicLong();
    final AtomicLong upstreamIdle = new AtomicLong();
    final LongAdder upstreamReused = new LongAdder();
    final LongAdder upstreamCreated = new LongAdder();
    final LongAdder h2Connections = new LongAdder();
    private final Map<String, LongAdder> rejected = new ConcurrentHashMap<>();

    void reject(Reject r) { rejected.computeIfAbsent(r.reason, k -> new LongAdder()).increment(); }

    long rejected(String reason) {
        LongAdder a = rejected.get(reason);
        return a == null ? 0 : a.sum();
    }

    Map<String, Long> rejections() {
        Map<String, Long> out = new TreeMap<>();
        rejected.forEach((k, v) -> out.put(k, v.sum()));
        return out;
    }
}
