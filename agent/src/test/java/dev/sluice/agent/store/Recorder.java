package dev.sluice.agent.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.agent.store.ResourceStore.Delta;
import dev.sluice.agent.store.ResourceStore.Key;
import dev.sluice.k8s.KubeObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A subscriber that records every change and replays it into its own view, checking as it goes
 * that each delta fits what it has seen (an add of an unknown key, an update or delete of the
 * object it holds) and that generations only grow.
 */
public final class Recorder implements ResourceStore.Subscriber {
    public final List<ResourceStore.Change> changes = new ArrayList<>();
    final Map<Key, KubeObject> view = new TreeMap<>();
    long lastGeneration = -1;

    @Override public synchronized void onChange(ResourceStore.Change c) {
        assertThat(c.generation()).as("generation after %d", lastGeneration).isGreaterThanOrEqualTo(lastGeneration);
        assertThat(c.deltas()).isNotEmpty();
        assertThat(c.deltas()).extracting(Delta::key).isSorted();
        lastGeneration = c.generation();
        changes.add(c);
        for (Delta d : c.deltas()) {
            switch (d) {
                case Delta.Added a -> assertThat(view.put(a.key(), a.newObject())).as("add of %s", a.key()).isNull();
                case Delta.Updated u -> {
                    assertThat(u.oldObject()).as("update of %s", u.key()).isNotEqualTo(u.newObject());
                    assertThat(view.put(u.key(), u.newObject())).as("old object of %s", u.key()).isEqualTo(u.oldObject());
                }
                case Delta.Deleted x -> assertThat(view.remove(x.key())).as("delete of %s", x.key()).isEqualTo(x.oldObject());
            }
        }
    }

    /** The deltas of all changes, as "Added Pod x/a" lines. */
    public synchronized List<String> lines() {
        List<String> out = new ArrayList<>();
        for (var c : changes) for (Delta d : c.deltas()) out.add(d.getClass().getSimpleName() + " " + d.key());
        return out;
    }

    public synchronized void clear() { changes.clear(); }

    public synchronized List<KubeObject> objects() { return List.copyOf(view.values()); }
}
