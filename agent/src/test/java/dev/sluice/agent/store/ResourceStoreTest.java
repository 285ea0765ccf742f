package dev.sluice.agent.store;

import static dev.sluice.agent.store.TestObjects.namespace;
import static dev.sluice.agent.store.TestObjects.pod;
import static dev.sluice.agent.store.TestObjects.service;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.agent.store.ResourceStore.Delta;
import dev.sluice.agent.store.ResourceStore.Key;
import dev.sluice.k8s.Kinds;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ResourceStoreTest {
    final ResourceStore store = new ResourceStore();
    final Recorder all = new Recorder();

    ResourceStoreTest() throws Exception {
        store.subscribe(Set.copyOf(ResourceStore.KINDS), all);
    }

    @Test void addUpdateDeleteCarryOldAndNewObjects() {
        var a1 = pod("x", "a", "one");
        var a2 = pod("x", "a", "two");
        store.put(a1);
        store.put(a2);
        store.remove(Key.of(a2));
        assertThat(all.changes).hasSize(3);
        assertThat(all.changes.get(0).deltas()).containsExactly(new Delta.Added(a1));
        assertThat(all.changes.get(1).deltas()).containsExactly(new Delta.Updated(a1, a2));
        assertThat(all.changes.get(2).deltas()).containsExactly(new Delta.Deleted(a2));
        assertThat(all.changes).extracting(ResourceStore.Change::generation).containsExactly(1L, 2L, 3L);
        assertThat(store.get(Key.of(a1))).isEmpty();
    }

    @Test void anUpdateThatChangesNothingEmitsNothing() {
        store.put(pod("x", "a", "one"));
        store.put(pod("x", "a", "one")); // an equal object read again, as a relist or a rewritten file gives it
        store.remove(new Key(Kinds.POD, "x", "missing"));
        assertThat(all.changes).hasSize(1);
        assertThat(store.generation()).isEqualTo(1);
    }

    @Test void replaceEmitsExactlyTheDifferenceAsOneChange() {
        store.apply(List.of(pod("x", "a", "1"), pod("x", "b", "1"), pod("x", "c", "1"), service("x", "s", 80)), List.of());
        all.clear();
        store.replace(Kinds.POD, List.of(pod("x", "d", "1"), pod("x", "c", "2"), pod("x", "b", "1")));
        assertThat(all.lines()).containsExactly("Deleted Pod x/a", "Updated Pod x/c", "Added Pod x/d");
        assertThat(all.changes).hasSize(1);
        assertThat(store.list(Kinds.SERVICE)).hasSize(1); // other kinds untouched
        store.replace(Kinds.POD, List.of(pod("x", "d", "1"), pod("x", "c", "2"), pod("x", "b", "1")));
        assertThat(all.changes).hasSize(1);
        assertThat(store.generation()).isEqualTo(2);
    }

    @Test void deltasComeInKindOrderAndSubscribersSeeOnlyTheirKinds() throws Exception {
        Recorder pods = new Recorder();
        store.subscribe(Set.of(Kinds.POD), pods);
        store.apply(List.of(service("x", "s", 80), pod("x", "b", "1"), namespace("x"), pod("w", "a", "1")), List.of());
        assertThat(all.lines()).containsExactly("Added Namespace x", "Added Pod w/a", "Added Pod x/b", "Added Service x/s");
        assertThat(pods.lines()).containsExactly("Added Pod w/a", "Added Pod x/b");
        store.put(service("x", "s", 81));
        assertThat(pods.changes).hasSize(1); // nothing of its kinds changed: not called
    }

    @Test void aLateSubscriberGetsTheCurrentStateFirstThenEveryChange() throws Exception {
        store.put(pod("x", "a", "1"));
        store.put(namespace("x"));
        Recorder late = new Recorder();
        AutoCloseable sub = store.subscribe(Set.of(Kinds.POD, Kinds.NAMESPACE), late);
        assertThat(late.lines()).containsExactly("Added Namespace x", "Added Pod x/a");
        assertThat(late.changes.get(0).generation()).isEqualTo(2);
        store.put(pod("x", "b", "1"));
        sub.close();
        store.put(pod("x", "c", "1"));
        assertThat(late.lines()).containsExactly("Added Namespace x", "Added Pod x/a", "Added Pod x/b");
    }

    @Test void aSubscriberReadingTheStoreSeesTheWholeChange() throws Exception {
        List<Integer> seen = new ArrayList<>();
        store.subscribe(Set.of(Kinds.POD), c -> seen.add(store.list(Kinds.POD).size()));
        store.apply(List.of(pod("x", "a", "1"), pod("x", "b", "1"), pod("x", "c", "1")), List.of());
        assertThat(seen).containsExactly(3);
        assertThat(store.snapshot().generation()).isEqualTo(1);
    }

    @Test void aSubscriberCannotChangeTheStoreAndAFailingOneBlocksNoOther() throws Exception {
        List<Throwable> refused = new ArrayList<>();
        store.subscribe(Set.of(Kinds.POD), c -> {
            try {
                store.put(namespace("sneaky"));
            } catch (IllegalStateException e) {
                refused.add(e);
            }
            throw new IllegalStateException("this subscriber fails");
        });
        Recorder after = new Recorder();
        store.subscribe(Set.of(Kinds.POD), after);
        store.put(pod("x", "a", "1"));
        assertThat(refused).singleElement().extracting(Throwable::getMessage)
                .isEqualTo("store changed from inside a subscriber (expected: subscribers only read)");
        assertThat(store.list(Kinds.NAMESPACE)).isEmpty();
        assertThat(after.lines()).containsExactly("Added Pod x/a");
    }

    @Test void badCallsAreRefusedWithOneLine() {
        assertThatThrownBy(() -> store.list("Deployment")).hasMessageStartingWith("kind: Deployment (expected one of: Namespace, Node, Pod,");
        var a = pod("x", "a", "1");
        assertThatThrownBy(() -> store.apply(List.of(a), List.of(Key.of(a))))
                .hasMessage("Pod x/a: both put and removed in one change (expected: one of them)");
        assertThatThrownBy(() -> store.replace(Kinds.SERVICE, List.of(a))).hasMessage("Pod x/a: kind Pod (expected: Service)");
        assertThat(all.changes).isEmpty();
    }

    @Test void snapshotIsOrderedByKindThenNamespaceThenName() {
        store.apply(List.of(service("b", "s", 80), pod("b", "a", "1"), pod("a", "z", "1"), namespace("b"), namespace("a")), List.of());
        var s = store.snapshot();
        assertThat(s.generation()).isEqualTo(1);
        assertThat(s.objects()).extracting(o -> o.displayName())
                .containsExactly("Namespace a", "Namespace b", "Pod a/z", "Pod b/a", "Service b/s");
        assertThat(all.objects()).isEqualTo(s.objects());
    }

    @Test void concurrentWritersAreSeenInOneOrderByEverySubscriber() throws Exception {
        Recorder second = new Recorder();
        store.subscribe(Set.of(Kinds.POD), second);
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            int id = t;
            threads.add(Thread.ofPlatform().start(() -> {
                for (int i = 0; i < 500; i++) {
                    String name = "p" + (i % 7);
                    if (i % 3 == 2) store.remove(new Key(Kinds.POD, "ns" + id % 2, name));
                    else store.put(pod("ns" + id % 2, name, "v" + (i % 5)));
                }
            }));
        }
        for (Thread t : threads) t.join(30_000);
        assertThat(threads).noneMatch(Thread::isAlive);
        var snap = store.snapshot();
        assertThat(all.objects()).isEqualTo(snap.objects());
        assertThat(second.objects()).isEqualTo(snap.objects());
        assertThat(all.changes).extracting(ResourceStore.Change::generation)
                .isEqualTo(java.util.stream.LongStream.rangeClosed(1, snap.generation()).boxed().toList());
    }
}
