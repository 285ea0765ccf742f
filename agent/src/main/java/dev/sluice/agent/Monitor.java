package dev.sluice.agent;

import dev.sluice.bpf.BpfMap;
import dev.sluice.bpf.RingBufferReader;
import dev.sluice.datapath.DropReason;
import dev.sluice.datapath.maps.FlowEvent;
import dev.sluice.net.Ip;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the data path's event ring buffer: every event goes to the flow observer ({@code flows},
 * {@code sluice observe}); drops and audits also, with pod names resolved, to every subscriber
 * ({@code sluice monitor}). A slow subscriber loses events rather than slowing the reader.
 */
final class Monitor implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Monitor.class);
    private static final int QUEUE = 4096;

    private final String node;
    private final RingBufferReader reader;
    private final Set<BlockingQueue<Map<String, Object>>> subscribers = ConcurrentHashMap.newKeySet();
    private volatile Map<Integer, String> podsByIp = Map.of();
    private final IntFunction<String> endpointPod;
    private volatile boolean running = true;
    private volatile java.util.function.Consumer<FlowEvent> flows = e -> {};
    private final Thread thread;

    Monitor(String node, BpfMap events, IntFunction<String> endpointPod) {
        this.node = node;
        this.endpointPod = endpointPod;
        this.reader = new RingBufferReader(events, seg -> publish(FlowEvent.read(seg)));
        this.thread = Thread.ofPlatform().name("monitor").daemon().start(this::loop);
    }

    /** Pod address -> pod: a live map the agent keeps current (so it must be safe to read from this thread). */
    void pods(Map<Integer, String> byIp) { this.podsByIp = byIp; }

    private void loop() {
        while (running) {
            try {
                reader.poll(200);
            } catch (RuntimeException e) {
                if (running) log.warn("event ring buffer: {}", e.getMessage());
            }
        }
    }

    /** Where every event goes besides the monitor's subscribers (the flow observer). */
    void flows(java.util.function.Consumer<FlowEvent> sink) { this.flows = sink; }

    private void publish(FlowEvent e) {
        flows.accept(e);
        if (subscribers.isEmpty() || (e.type() != FlowEvent.DROP && e.type() != FlowEvent.AUDIT)) return;
        Map<String, Object> m = event(e);
        for (var q : subscribers) q.offer(m);
    }

    Map<String, Object> event(FlowEvent e) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("time", Instant.now().toString());
        m.put("node", node);
        m.put("type", e.type() == FlowEvent.AUDIT ? "audit" : "drop");
        m.put("reason", DropReason.describe(e.reason()));
        m.put("code", e.reason());
        m.put("direction", e.direction() == 1 ? "ingress" : e.direction() == 2 ? "egress" : "");
        m.put("endpoint", e.endpoint() == 0 ? "" : endpointPod.apply(e.endpoint()));
        m.put("protocol", switch (e.protocol()) { case 6 -> "TCP"; case 17 -> "UDP"; case 1 -> "ICMP"; case 132 -> "SCTP"; default -> Integer.toString(e.protocol()); });
        m.put("source", peer(e.saddr(), e.sport(), e.srcIdentity()));
        m.put("destination", peer(e.daddr(), e.dport(), e.dstIdentity()));
        m.put("length", e.length());
        return m;
    }

    private Map<String, Object> peer(int ip, int port, int identity) {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("ip", Ip.format(ip));
        p.put("port", port);
        p.put("pod", podsByIp.getOrDefault(ip, ""));
        p.put("identity", identity);
        return p;
    }

    /** Subscribes until {@code sink} returns false (the client went away). */
    void subscribe(java.util.function.Predicate<Map<String, Object>> sink) throws InterruptedException {
        BlockingQueue<Map<String, Object>> q = new ArrayBlockingQueue<>(QUEUE);
        subscribers.add(q);
        try {
            while (running) {
                Map<String, Object> m = q.poll(1, java.util.concurrent.TimeUnit.SECONDS);
                if (m == null) {
                    if (!sink.test(Map.of("type", "heartbeat", "node", node))) return;
                    continue;
                }
                if (!sink.test(m)) return;
            }
        } finally {
            subscribers.remove(q);
        }
    }

    @Override public void close() {
        running = false;
        thread.interrupt();
        try {
            thread.join(1000);
        } catch (InterruptedException ignored) {
            Thread.currentThread().interrupt();
        }
        reader.close();
    }
}
