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
}
