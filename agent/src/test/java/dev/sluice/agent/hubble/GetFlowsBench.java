package dev.sluice.agent.hubble;

import dev.sluice.agent.flow.Enricher;
import dev.sluice.agent.flow.Flow;
import dev.sluice.agent.flow.FlowObserver;
import dev.sluice.agent.flow.PolicySource;
import dev.sluice.hubble.Transport;
import dev.sluice.hubble.api.observer.GetFlowsRequest;
import dev.sluice.hubble.api.observer.ObserverGrpc;
import java.nio.file.Files;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Flows per second one following GetFlows client receives over a Unix socket while a thread
 * publishes enriched flows as fast as it can (a benchmark, not a test): {@code java -cp ...
 * dev.sluice.agent.hubble.GetFlowsBench [flows]}. Prints published, received, lost and the rate.
 */
public final class GetFlowsBench {
    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 500_000;
        var obs = new FlowObserver(new Enricher("node-1", ObserverServiceTest.NONE, PolicySource.NONE, k -> Instant.EPOCH), 4095, () -> 0);
        var dir = Files.createTempDirectory("getflows-bench");
        String sock = "unix://" + dir.resolve("hubble.sock");
        Flow[] flows = new Flow[1024];
        for (int i = 0; i < flows.length; i++) flows[i] = Flows.denied(i);
        try (var servers = Transport.serve(List.of(sock), List.of(new ObserverService(obs, "node-1", sock, HubbleApi.CLIENT_QUEUE)))) {
            var ch = Transport.channel("bench", sock);
            AtomicLong got = new AtomicLong(), lost = new AtomicLong();
            Thread reader = Thread.ofPlatform().start(() -> {
                try {
                    ObserverGrpc.newBlockingStub(ch).getFlows(GetFlowsRequest.newBuilder().setFollow(true).build()).forEachRemaining(r -> {
                        if (r.hasFlow()) got.incrementAndGet();
                        else if (r.hasLostEvents()) lost.addAndGet(r.getLostEvents().getNumEventsLost());
                    });
                } catch (RuntimeException e) {
                    // the channel is shut down at the end
                }
            });
            while (obs.followers() == 0) Thread.sleep(5);
            long t0 = System.nanoTime();
            for (int i = 0; i < n; i++) obs.publish(flows[i & 1023]);
            long pubNs = System.nanoTime() - t0;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (got.get() + lost.get() < n && System.nanoTime() < deadline) Thread.sleep(10);
            long allNs = System.nanoTime() - t0;
            System.out.printf("GetFlowsBench: published %d flows in %d ms (%.0f/s); the client received %d (%.0f/s over %d ms), lost %d%n",
                    n, pubNs / 1_000_000, n * 1e9 / pubNs, got.get(), got.get() * 1e9 / allNs, allNs / 1_000_000, lost.get());
            ch.shutdownNow();
            reader.join(5000);
        }
    }
}
