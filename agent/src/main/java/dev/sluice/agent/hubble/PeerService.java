package dev.sluice.agent.hubble;

import dev.sluice.hubble.api.peer.ChangeNotification;
import dev.sluice.hubble.api.peer.ChangeNotificationType;
import dev.sluice.hubble.api.peer.NotifyRequest;
import dev.sluice.hubble.api.peer.PeerGrpc;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Hubble's Peer service: every node of the cluster with its Observer address, then additions,
 * changes and removals as the cluster state changes (checked every second).
 */
public final class PeerService extends PeerGrpc.PeerImplBase {
    private final Supplier<Map<String, String>> peers;

    /** @param peers node name to Observer address ({@code InternalIP:4244}), read anew each second */
    public PeerService(Supplier<Map<String, String>> peers) { this.peers = peers; }

    @Override public void notify(NotifyRequest request, StreamObserver<ChangeNotification> responses) {
        var call = (ServerCallStreamObserver<ChangeNotification>) responses;
        Thread t = Thread.ofVirtual().name("hubble-peer").unstarted(() -> {
            Map<String, String> known = new HashMap<>();
            try {
                while (!call.isCancelled()) {
                    Map<String, String> now = peers.get();
                    for (var e : now.entrySet()) {
                        String old = known.put(e.getKey(), e.getValue());
                        if (!e.getValue().equals(old))
                            send(call, e.getKey(), e.getValue(), old == null ? ChangeNotificationType.PEER_ADDED : ChangeNotificationType.PEER_UPDATED);
                    }
                    for (var it = known.entrySet().iterator(); it.hasNext(); ) {
                        var e = it.next();
                        if (!now.containsKey(e.getKey())) {
                            send(call, e.getKey(), e.getValue(), ChangeNotificationType.PEER_DELETED);
                            it.remove();
                        }
                    }
                    Thread.sleep(1000);
                }
            } catch (InterruptedException | RuntimeException e) {
                // cancelled, or the client went away
            }
        });
        call.setOnCancelHandler(t::interrupt);
        t.start();
    }

    private static void send(ServerCallStreamObserver<ChangeNotification> call, String name, String address, ChangeNotificationType type) {
        call.onNext(ChangeNotification.newBuilder().setName(name).setAddress(address).setType(type).build());
    }
}
