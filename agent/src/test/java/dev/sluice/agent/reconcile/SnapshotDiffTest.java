package dev.sluice.agent.reconcile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.agent.store.ResourceStore;
import dev.sluice.k8s.KubeObject;
import dev.sluice.k8s.ManifestReader;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.LongStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/** The changes between two store snapshots, applied to the first, give the second. */
class SnapshotDiffTest {
    static LongStream seeds() { return new SplittableRandom(0xd1ff).longs(30); }

    static KubeObject object(SplittableRandom r, int i) {
        String kind = List.of("Pod", "Service", "Namespace").get(i % 3);
        String yaml = kind.equals("Namespace")
                ? "{apiVersion: v1, kind: Namespace, metadata: {name: n" + i + ", labels: {v: \"" + r.nextInt(3) + "\"}}}"
                : "{apiVersion: v1, kind: " + kind + ", metadata: {name: o" + i + ", namespace: n" + r.nextInt(2) + ", labels: {v: \"" + r.nextInt(3) + "\"}}}";
        return ManifestReader.parse("t", yaml).get(0);
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void changesTurnOneSnapshotIntoTheNext(long seed) {
        System.out.println("SnapshotDiffTest seed=" + seed);
        var r = new SplittableRandom(seed);
        var store = new ResourceStore();
        var diff = new SnapshotDiff();
        var merged = new SnapshotDiff(); // the same snapshots as plain lists: the merge, not the views' structural difference
        Map<ResourceStore.Key, KubeObject> mirror = new HashMap<>();
        for (int step = 0; step < 60; step++) {
            List<KubeObject> puts = new ArrayList<>();
            List<ResourceStore.Key> removes = new ArrayList<>();
            for (int n = r.nextInt(0, 6); n > 0; n--) {
                KubeObject o = object(r, r.nextInt(30));
                if (r.nextInt(4) == 0 && store.get(ResourceStore.Key.of(o)).isPresent()) removes.add(ResourceStore.Key.of(o));
                else puts.add(o);
            }
            puts.removeIf(o -> removes.contains(ResourceStore.Key.of(o)));
            store.apply(puts, removes);
            var snapshot = store.snapshot().objects();
            var c = diff.next(snapshot);
            assertThat(snapshot).isInstanceOf(ResourceStore.View.class);
            assertThat(c).as("views and lists, seed %d step %d", seed, step).isEqualTo(merged.next(new ArrayList<>(snapshot)));
            for (KubeObject o : c.removed()) assertThat(mirror.remove(ResourceStore.Key.of(o))).as("removed %s", o.displayName()).isEqualTo(o);
            for (KubeObject o : c.upserted()) assertThat(mirror.put(ResourceStore.Key.of(o), o)).as("upserted %s", o.displayName()).isNotEqualTo(o);
            Map<ResourceStore.Key, KubeObject> want = new HashMap<>();
            snapshot.forEach(o -> want.put(ResourceStore.Key.of(o), o));
            assertThat(mirror).as("seed %d step %d", seed, step).isEqualTo(want);
        }
    }

    @Test
    void refusesObjectsOutOfKeyOrder() {
        var r = new SplittableRandom(1);
        var a = object(r, 1);
        var b = object(r, 4);
        var diff = new SnapshotDiff();
        var sorted = new ArrayList<>(List.of(a, b));
        sorted.sort(java.util.Comparator.comparing(ResourceStore.Key::of));
        diff.next(List.of(object(r, 7)));
        assertThatThrownBy(() -> diff.next(sorted.reversed())).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("key order");
    }
}
