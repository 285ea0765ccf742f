package dev.sluice.agent.reconcile;

import dev.sluice.agent.store.ResourceStore;
import dev.sluice.agent.store.ResourceStore.Key;
import dev.sluice.k8s.KubeObject;
import java.util.ArrayList;
import java.util.List;

/**
 * What changed from one snapshot's objects to the next, for consumers that program only changes.
 * Two views of the store ({@link ResourceStore.View}) share every part a change did not touch, so
 * their difference costs about k log n for k changes, whatever the size of the cluster. Other lists
 * (a directory of manifests) are in {@link Key} order and hand out the very same object for what
 * did not change, so a merge of the two costs one reference comparison per object.
 *
 * <p>Not thread-safe: one consumer (the agent's apply path).
 */
public final class SnapshotDiff {
    /**
     * @param upserted objects added or changed (changed: a different, unequal object at the same key)
     * @param removed  the previous objects of keys no longer listed
     */
    public record Changes(List<KubeObject> upserted, List<KubeObject> removed) {
        public boolean isEmpty() { return upserted.isEmpty() && removed.isEmpty(); }
    }

    private List<KubeObject> previous = List.of();

    /**
     * The changes since the previous call (from nothing, the first time).
     *
     * @param objects in {@link Key} order, as {@code ResourceStore.snapshot()} lists them
     * @throws IllegalArgumentException when they are not
     */
    public Changes next(List<KubeObject> objects) {
        List<KubeObject> up = new ArrayList<>(), gone = new ArrayList<>();
        List<KubeObject> prev = previous;
        if (prev instanceof ResourceStore.View a && objects instanceof ResourceStore.View b) {
            ResourceStore.View.diff(a, b, up::add, gone::add);
            previous = objects;
            return new Changes(up, gone);
        }
        int i = 0, j = 0, n = prev.size(), m = objects.size();
        while (i < n && j < m) {
            KubeObject a = prev.get(i), b = objects.get(j);
            if (a == b) {
                i++;
                j++;
                continue;
            }
            Key kb = Key.of(b);
            if (j > 0 && Key.of(objects.get(j - 1)).compareTo(kb) >= 0)
                throw new IllegalArgumentException("snapshot: " + kb + " listed after " + Key.of(objects.get(j - 1)) + " (expected: objects in key order)");
            int c = Key.of(a).compareTo(kb);
            if (c == 0) {
                if (!a.equals(b)) up.add(b);
                i++;
                j++;
            } else if (c < 0) {
                gone.add(a);
                i++;
            } else {
                up.add(b);
                j++;
            }
        }
        while (i < n) gone.add(prev.get(i++));
        while (j < m) {
            KubeObject b = objects.get(j);
            if (j > 0 && Key.of(objects.get(j - 1)).compareTo(Key.of(b)) >= 0)
                throw new IllegalArgumentException("snapshot: " + Key.of(b) + " listed after " + Key.of(objects.get(j - 1)) + " (expected: objects in key order)");
            up.add(b);
            j++;
        }
        previous = objects;
        return new Changes(up, gone);
    }
}
