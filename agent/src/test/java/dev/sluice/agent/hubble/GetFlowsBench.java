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
 * Flows per second through GetFlows (a benchmark, not a test): one following client over a Unix
 * socket. First a burst, published as fast as a thread can (the publisher never waits: the
 * client's queue fills and the rest is lost and reported); then a paced run, the publisher keeping
 * at most 2,000 flows ahead of what the client received, which gives the rate the API sustains.
 * {@code java -cp ... dev.sluice.agent.hubble.GetFlowsBench [flows]}.
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
            System.out.printf("GetFlowsBench burst: published %d flows in %d ms (%.0f/s, never waiting); the client received %d, lost %d (reported)%n",
                    n, pubNs / 1_000_000, n * 1e9 / pubNs, got.get(), lost.get());
            long base = got.get() + lost.get(), lostBefore = lost.get();
            t0 = System.nanoTime();
            for (int i = 0; i < n; i++) {
                while (base + i - got.get() - lost.get() > 2000) Thread.onSpinWait();
                obs.publish(flows[i & 1023]);
            }
            while (got.get() + lost.get() < base + n && System.nanoTime() < deadline + TimeUnit.SECONDS.toNanos(60)) Thread.sleep(1);
            long ns = System.nanoTime() - t0;
            System.out.printf("GetFlowsBench paced: %d flows in %d ms: %.0f flows/s received, lost %d%n", n, ns / 1_000_000,
                    (got.get() + lost.get() - base) * 1e9 / ns, lost.get() - lostBefore);
            ch.shutdownNow();
            reader.join(5000);
        }
    }
}
