package dev.sluice.agent.hubble;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.hubble.Transport;
import dev.sluice.hubble.api.peer.ChangeNotification;
import dev.sluice.hubble.api.peer.NotifyRequest;
import dev.sluice.hubble.api.peer.PeerGrpc;
import io.grpc.Context;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PeerServiceTest {
    @Test
    void notifyNamesEveryPeerThenItsChanges(@TempDir Path dir) throws Exception {
        var nodes = new AtomicReference<Map<String, String>>(Map.of("node-1", "172.30.0.11:4244", "node-2", "172.30.0.12:4244"));
        String sock = "unix://" + dir.resolve("hubble.sock");
        try (var servers = Transport.serve(List.of(sock), List.of(new PeerService(nodes::get)))) {
            var ch = Transport.channel("peer", sock);
            var ctx = Context.current().withCancellation();
            try {
                var it = ctx.call(() -> PeerGrpc.newBlockingStub(ch).withDeadlineAfter(20, TimeUnit.SECONDS).notify(NotifyRequest.getDefaultInstance()));
                assertThat(List.of(text(it.next()), text(it.next()))).containsExactlyInAnyOrder("PEER_ADDED node-1 172.30.0.11:4244",
                        "PEER_ADDED node-2 172.30.0.12:4244");
                nodes.set(Map.of("node-1", "172.30.0.21:4244"));
                assertThat(List.of(text(it.next()), text(it.next()))).containsExactlyInAnyOrder("PEER_UPDATED node-1 172.30.0.21:4244",
                        "PEER_DELETED node-2 172.30.0.12:4244");
            } finally {
                ctx.cancel(null);
                ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        }
    }

    static String text(ChangeNotification n) { return n.getType() + " " + n.getName() + " " + n.getAddress(); }
}
