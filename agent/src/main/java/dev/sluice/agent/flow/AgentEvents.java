package dev.sluice.agent.flow;

import dev.sluice.agent.lb.LbRuntime;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The agent's last {@code capacity} events ({@link AgentEvent}), and queues for those who follow
 * them: {@link #add} never waits (a full follower's queue loses the event, as a slow flow reader
 * does).
 */
public final class AgentEvents {
    private final int capacity;
    private final ArrayDeque<AgentEvent> ring = new ArrayDeque<>();
    private final Set<BlockingQueue<AgentEvent>> followers = ConcurrentHashMap.newKeySet();

    public AgentEvents(int capacity) { this.capacity = capacity; }

    public synchronized void add(AgentEvent e) {
        if (ring.size() == capacity) ring.removeFirst();
        ring.addLast(e);
        for (var q : followers) q.offer(e);
    }

    public synchronized List<AgentEvent> snapshot() { return List.copyOf(ring); }

    /** A queue of the events added from now on; {@link #unfollow} it when done. */
    public BlockingQueue<AgentEvent> follow(int queueCapacity) {
        BlockingQueue<AgentEvent> q = new ArrayBlockingQueue<>(queueCapacity);
        followers.add(q);
        return q;
    }

    public void unfollow(BlockingQueue<AgentEvent> q) { followers.remove(q); }

    public int followers() { return followers.size(); }

    /**
     * The service events of one apply: SERVICE_UPSERTED for each frontend the LB reconciler wrote
     * (new, or its backends, type or owner changed), by id, then SERVICE_DELETED for each it removed.
     */
    public static List<AgentEvent> serviceChanges(List<LbRuntime.FrontendView> written, List<Integer> removed, Instant time) {
        List<AgentEvent> out = new ArrayList<>();
        for (var f : written.stream().sorted(java.util.Comparator.comparingInt(LbRuntime.FrontendView::id)).toList()) {
            List<AgentEvent.Address> backends = new ArrayList<>();
            for (var b : f.backends()) if (b.id() != 0) backends.add(AgentEvent.Address.parse(b.backend()));
            int slash = f.service().indexOf('/');
            out.add(new AgentEvent.ServiceUpsert(time, f.id(), AgentEvent.Address.parse(f.frontend()), backends, f.type(),
                    slash < 0 ? "" : f.service().substring(0, slash), slash < 0 ? f.service() : f.service().substring(slash + 1)));
        }
        removed.stream().sorted().forEach(id -> out.add(new AgentEvent.ServiceDelete(time, id)));
        return out;
    }
}
