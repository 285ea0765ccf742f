package dev.sluice.agent.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.agent.store.ResourceStore.Key;
import dev.sluice.k8s.KubeObject;
import dev.sluice.k8s.Kinds;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Random sequences of puts, removes, batches and replaces over a small universe of keys (so
 * updates, no-op updates and deletes of missing keys are frequent): after every step, each
 * subscriber's replayed view equals the store, a late subscriber's too, and the generation counts
 * exactly the steps that changed something. Reproduce a failure with {@code -Dsluice.seed=N}.
 */
class ResourceStorePropertyTest {
    static final List<String> NAMES = List.of("a", "b", "c");
    static final List<String> NAMESPACES = List.of("x", "y");
    static final List<String> VERSIONS = List.of("1", "2", "3");

    @Test void replayedDeltasAlwaysEqualTheStore() throws Exception {
        long seed = Long.getLong("sluice.seed", System.nanoTime());
        System.out.println("ResourceStorePropertyTest seed " + seed + " (rerun with -Dsluice.seed=" + seed + ")");
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int run = 0; run < 200; run++) {
            try {
                run(rnd.split(), 60);
            } catch (AssertionError e) {
                throw new AssertionError("seed " + seed + ", run " + run + ": " + e.getMessage(), e);
            }
        }
    }

    private void run(SplittableRandom rnd, int steps) throws Exception {
        ResourceStore store = new ResourceStore();
        Recorder all = new Recorder();
        store.subscribe(Set.copyOf(ResourceStore.KINDS), all);
        Set<String> someKinds = Set.of(Kinds.POD, Kinds.NAMESPACE, Kinds.CILIUM_NETWORK_POLICY);
        Recorder some = new Recorder();
        store.subscribe(someKinds, some);
        Map<Key, KubeObject> expected = new TreeMap<>();
        Recorder late = null;
        for (int step = 0; step < steps; step++) {
            long before = store.generation();
            Map<Key, KubeObject> was = new TreeMap<>(expected);
            switch (rnd.nextInt(4)) {
                case 0 -> {
                    KubeObject o = random(rnd);
                    expected.put(Key.of(o), o);
                    store.put(o);
                }
                case 1 -> {
                    KubeObject o = random(rnd);
                    expected.remove(Key.of(o));
                    store.remove(Key.of(o));
                }
                case 2 -> {
                    Map<Key, KubeObject> puts = new HashMap<>();
                    List<Key> removes = new ArrayList<>();
                    for (int i = rnd.nextInt(6); i > 0; i--) {
                        KubeObject o = random(rnd);
                        if (rnd.nextBoolean()) {
                            puts.put(Key.of(o), o);
                            removes.removeIf(k -> k.equals(Key.of(o)));
                        } else if (!puts.containsKey(Key.of(o))) {
                            removes.add(Key.of(o));
                        }
                    }
                    removes.forEach(expected::remove);
                    expected.putAll(puts);
                    store.apply(puts.values(), removes);
                }
                default -> {
                    String kind = ResourceStore.KINDS.get(rnd.nextInt(ResourceStore.KINDS.size()));
                    List<KubeObject> list = new ArrayList<>();
                    for (int i = rnd.nextInt(5); i > 0; i--) list.add(random(rnd, kind));
                    expected.keySet().removeIf(k -> k.kind().equals(kind));
                    list.forEach(o -> expected.put(Key.of(o), o));
                    store.replace(kind, list);
                }
            }
            if (step == steps / 2) {
                late = new Recorder();
                store.subscribe(someKinds, late);
            }
            var snap = store.snapshot();
            assertThat(snap.objects()).as("store after step %d", step).containsExactlyElementsOf(expected.values());
            assertThat(all.objects()).as("replay of all kinds after step %d", step).isEqualTo(snap.objects());
            List<KubeObject> ofSome = snap.objects().stream().filter(o -> someKinds.contains(o.kind())).toList();
            assertThat(some.objects()).as("replay of some kinds after step %d", step).isEqualTo(ofSome);
            if (late != null) assertThat(late.objects()).as("late replay after step %d", step).isEqualTo(ofSome);
            assertThat(snap.generation()).as("generation after step %d", step).isEqualTo(was.equals(expected) ? before : before + 1);
        }
    }

    static KubeObject random(SplittableRandom rnd) {
        return random(rnd, ResourceStore.KINDS.get(rnd.nextInt(ResourceStore.KINDS.size())));
    }

    static KubeObject random(SplittableRandom rnd, String kind) {
        return TestObjects.of(kind, NAMESPACES.get(rnd.nextInt(NAMESPACES.size())), NAMES.get(rnd.nextInt(NAMES.size())),
                VERSIONS.get(rnd.nextInt(VERSIONS.size())));
    }
}
