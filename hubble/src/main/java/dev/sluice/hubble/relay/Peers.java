package dev.sluice.hubble.relay;

import dev.sluice.hubble.Transport;
import dev.sluice.hubble.api.peer.ChangeNotification;
import dev.sluice.hubble.api.peer.NotifyRequest;
import dev.sluice.hubble.api.peer.PeerGrpc;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The nodes a relay reads, each with its channel: given once, or learnt from Hubble's Peer service
 * ({@code Peer.Notify} of an agent, which lists every node's Observer address and then reports
 * additions, changes and removals). Listeners hear of each change, so that a following call starts
 * reading a node that joins and stops with one that leaves.
 */
public final class Peers implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Peers.class);
    /** How long discovery waits before asking the Peer service again after its stream ended or failed. */
    static final long RETRY_MS = 1000;

    /** One node the relay reads. */
    public record Peer(String name, String address, ManagedChannel channel) {}

    /** Hears of changes; called on the discovery thread, must not block. */
    public interface Listener {
        void added(Peer p);

        void removed(Peer p);
    }

    private final Map<String, Peer> byName = new ConcurrentSkipListMap<>();
    private final Set<Listener> listeners = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;
    private volatile long lastChange;
    private Thread discovery;
    private ManagedChannel[] services = new ManagedChannel[0];

    /** A fixed set: node name to Observer address ({@code unix:///...} or {@code host:port}). */
    public static Peers of(Map<String, String> nodes) {
        Peers p = new Peers();
        nodes.forEach(p::put);
        return p;
    }

    /**
     * Learnt from the Peer service at {@code addresses} (each an agent's {@code hubble.sock} or
     * {@code host:4244}), tried in turn until one answers; asked again when its stream ends. A node
     * removed while no Peer service answered stays until one does and reports it.
     */
    public static Peers discover(List<String> addresses) {
        Peers p = new Peers();
        p.services = addresses.stream().map(a -> Transport.channel("peer service", a)).toArray(ManagedChannel[]::new);
        p.discovery = Thread.ofVirtual().name("relay-peers").start(p::discoverLoop);
        return p;
    }

    private void discoverLoop() {
        int i = 0;
        while (!closed) {
            ManagedChannel ch = services[i % services.length];
            try {
                PeerGrpc.newBlockingStub(ch).notify(NotifyRequest.getDefaultInstance()).forEachRemaining(this::apply);
            } catch (StatusRuntimeException e) {
                if (!closed) log.debug("peer service {}: {}", ch.authority(), e.getStatus());
            }
            i++;
            try {
                Thread.sleep(RETRY_MS);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    void apply(ChangeNotification n) {
        if (n.getName().isEmpty()) return;
        switch (n.getType()) {
            case PEER_ADDED, PEER_UPDATED -> {
                try {
                    if (!n.getAddress().isEmpty()) put(n.getName(), n.getAddress());
                } catch (IllegalArgumentException e) {
                    // an address the relay cannot dial: that node is left out, discovery goes on
                    log.warn("peer {}: {}", n.getName(), e.getMessage());
                }
            }
            case PEER_DELETED -> remove(n.getName());
            default -> { }
        }
    }

    /** Adds a node, or moves it to a new address (its old channel closes: its streams end). */
    synchronized void put(String name, String address) {
        Peer old = byName.get(name);
        if (old != null && old.address().equals(address)) return;
        Peer p = new Peer(name, address, Transport.channel("node " + name, address));
        byName.put(name, p);
        lastChange = System.nanoTime();
        if (old != null) gone(old);
        for (Listener l : listeners) l.added(p);
    }

    synchronized void remove(String name) {
        Peer old = byName.remove(name);
        if (old != null) {
            lastChange = System.nanoTime();
            gone(old);
        }
    }

    /**
     * Waits, at most {@code timeoutMs}, until a node is known and no change came for
     * {@code settleMs} (the Peer service sends the nodes it knows one after the other, with no end
     * marker); true when one is known. For start-up: a relay that serves before it knows any node
     * answers with nothing.
     */
    public boolean awaitNodes(long settleMs, long timeoutMs) throws InterruptedException {
        long deadline = System.nanoTime() + timeoutMs * 1_000_000;
        while (System.nanoTime() < deadline) {
            if (!byName.isEmpty() && System.nanoTime() - lastChange >= settleMs * 1_000_000) return true;
            Thread.sleep(20);
        }
        return !byName.isEmpty();
    }

    private void gone(Peer p) {
        for (Listener l : listeners) l.removed(p);
        p.channel().shutdownNow();
    }

    /** The nodes now, by name. */
    public List<Peer> list() { return List.copyOf(byName.values()); }

    /**
     * Registers a listener and returns the nodes known at that moment, atomically: every node is
     * either in the answer or reported to the listener, never neither.
     */
    public synchronized List<Peer> listen(Listener l) {
        listeners.add(l);
        return list();
    }

    public void unlisten(Listener l) { listeners.remove(l); }

    @Override public void close() {
        closed = true;
        if (discovery != null) discovery.interrupt();
        for (ManagedChannel c : services) c.shutdownNow();
        synchronized (this) {
            for (Peer p : byName.values()) p.channel().shutdownNow();
            byName.clear();
        }
    }
}
