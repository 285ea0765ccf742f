package dev.sluice.agent.source;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.agent.store.ResourceStore;
import dev.sluice.k8s.KubeObject;
import dev.sluice.k8s.ManifestReader;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class SnapshotFeedTest {
    static KubeObject ns(String name) {
        return ManifestReader.parse("t.yaml", "{apiVersion: v1, kind: Namespace, metadata: {name: " + name + "}}").get(0);
    }

    @Test void aSlowSinkGetsTheLatestStateWithoutHoldingUpWriters() throws Exception {
        ResourceStore store = new ResourceStore();
        LinkedBlockingQueue<Snapshot> got = new LinkedBlockingQueue<>();
        CountDownLatch release = new CountDownLatch(1);
        try (SnapshotFeed feed = new SnapshotFeed(store, () -> List.of("a problem"), java.util.Map::of, s -> {
            got.add(s);
            try {
                release.await(10, TimeUnit.SECONDS); // the sink is busy with the first snapshot
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        })) {
            assertThat(feed.now().generation()).isZero();
            feed.start();
            store.put(ns("a"));
            Snapshot first = got.poll(10, TimeUnit.SECONDS);
            assertThat(first).as("first snapshot within 10 s").isNotNull();
            for (String n : List.of("b", "c", "d")) store.put(ns(n)); // writers go on while the sink is busy
            release.countDown();
            Snapshot last = got.poll(10, TimeUnit.SECONDS);
            while (last != null && last.generation() < 4) last = got.poll(10, TimeUnit.SECONDS);
            assertThat(last).as("latest snapshot within 10 s").isNotNull();
            assertThat(last.objects()).extracting(KubeObject::name).containsExactly("a", "b", "c", "d");
            assertThat(last.errors()).containsExactly("a problem");
        }
    }

    /**
     * While changes keep coming, the feed rests as long as the last snapshot took the sink (up to
     * MAX_PAUSE_MS) before the next: a lower bound on the gaps, which load can only lengthen.
     */
    @Test void inABurstTheFeedRestsAsLongAsTheSinkWorked() throws Exception {
        ResourceStore store = new ResourceStore();
        List<long[]> calls = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        try (SnapshotFeed feed = new SnapshotFeed(store, List::of, java.util.Map::of, s -> {
            long t0 = System.nanoTime();
            try {
                Thread.sleep(20); // the sink's work
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            calls.add(new long[] {t0, System.nanoTime()});
        })) {
            feed.start();
            for (int i = 0; i < 300; i++) { // about 0.6 s of changes, one every 2 ms
                store.put(ns("n" + i));
                Thread.sleep(2);
            }
        }
        List<long[]> c = List.copyOf(calls);
        assertThat(c.size()).isGreaterThan(3);
        for (int i = 1; i < c.size() - 1; i++) { // the last may follow the end of the burst
            long worked = c.get(i - 1)[1] - c.get(i - 1)[0], gap = c.get(i)[0] - c.get(i - 1)[1];
            assertThat(gap).as("gap before snapshot %d (ns)", i).isGreaterThanOrEqualTo(Math.min(worked, SnapshotFeed.MAX_PAUSE_MS * 1_000_000) - 2_000_000);
        }
    }
}
