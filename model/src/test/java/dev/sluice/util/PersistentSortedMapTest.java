package dev.sluice.util;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PersistentSortedMapTest {

    /** Random puts and removes agree with a TreeMap at every step, and every earlier version stays as it was. */
    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3, 0x5eed, 20261202})
    void agreesWithATreeMapAndKeepsEveryVersion(long seed) {
        System.out.println("PersistentSortedMapTest seed " + seed);
        SplittableRandom rnd = new SplittableRandom(seed);
        PersistentSortedMap<String, Integer> m = PersistentSortedMap.empty();
        TreeMap<String, Integer> ref = new TreeMap<>();
        List<PersistentSortedMap<String, Integer>> versions = new ArrayList<>();
        List<TreeMap<String, Integer>> refs = new ArrayList<>();
        for (int i = 0; i < 3000; i++) {
            String k = "k" + rnd.nextInt(500);
            if (rnd.nextInt(3) == 0) {
                m = m.without(k);
                ref.remove(k);
            } else {
                int v = rnd.nextInt(10);
                m = m.with(k, v);
                ref.put(k, v);
            }
            if (i % 100 == 0) {
                versions.add(m);
                refs.add(new TreeMap<>(ref));
            }
            assertThat(m.size()).isEqualTo(ref.size());
            assertThat(m.get(k)).isEqualTo(ref.get(k));
        }
        assertThat(new ArrayList<>(m.entrySet())).isEqualTo(new ArrayList<>(ref.entrySet()));
        assertThat(m).isEqualTo(ref);
        assertThat(m.height()).isLessThanOrEqualTo((int) Math.ceil(1.45 * (Math.log(m.size() + 2) / Math.log(2))));
        for (int i = 0; i < versions.size(); i++) assertThat(versions.get(i)).as("version %d", i).isEqualTo(refs.get(i));
    }

    @Test
    void unchangedMapsAreTheSameObject() {
        PersistentSortedMap<String, String> m = PersistentSortedMap.<String, String>empty().with("a", "1");
        String one = m.get("a");
        assertThat(m.with("a", one)).isSameAs(m);
        assertThat(m.without("b")).isSameAs(m);
        assertThat(m.with("b", "2").without("b")).isEqualTo(m);
    }

    @Test
    void isReadOnly() {
        PersistentSortedMap<String, String> m = PersistentSortedMap.<String, String>empty().with("a", "1");
        assertThatThrownBy(() -> m.put("b", "2")).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> m.entrySet().iterator().next().setValue("x")).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> m.with(null, "x")).isInstanceOf(NullPointerException.class);
    }

    /** diff reports exactly the TreeMap difference, for maps made from one another and for unrelated ones; entryAt is the i-th entry. */
    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {7, 8, 9, 0xd1ff, 20261202})
    void diffIsTheDifferenceAndEntryAtTheRank(long seed) {
        System.out.println("PersistentSortedMapTest.diff seed " + seed);
        SplittableRandom rnd = new SplittableRandom(seed);
        PersistentSortedMap<String, Integer> m = PersistentSortedMap.empty();
        for (int i = 0; i < 2000; i++) m = m.with("k" + rnd.nextInt(3000), rnd.nextInt(5));
        for (int round = 0; round < 200; round++) {
            PersistentSortedMap<String, Integer> before = m;
            int edits = rnd.nextInt(round % 10 == 0 ? 1500 : 8);
            PersistentSortedMap<String, Integer> after = before;
            if (round % 17 == 0) after = PersistentSortedMap.empty(); // unrelated: built from nothing
            for (int i = 0; i < edits; i++) {
                String k = "k" + rnd.nextInt(3000);
                after = rnd.nextInt(3) == 0 ? after.without(k) : after.with(k, rnd.nextInt(5));
            }
            TreeMap<String, Integer> x = new TreeMap<>(before), y = new TreeMap<>(after);
            List<String> want = new ArrayList<>();
            java.util.TreeSet<String> keys = new java.util.TreeSet<>(x.keySet());
            keys.addAll(y.keySet());
            for (String k : keys) {
                if (!y.containsKey(k)) want.add("-" + k + "=" + x.get(k));
                else if (!x.containsKey(k)) want.add("+" + k + "=" + y.get(k));
                else if (before.get(k) != after.get(k)) want.add("~" + k + "=" + x.get(k) + ">" + y.get(k));
            }
            List<String> got = new ArrayList<>();
            PersistentSortedMap.diff(before, after, new PersistentSortedMap.Differences<>() {
                public void added(String k, Integer v) { got.add("+" + k + "=" + v); }

                public void removed(String k, Integer v) { got.add("-" + k + "=" + v); }

                public void changed(String k, Integer b, Integer a) { got.add("~" + k + "=" + b + ">" + a); }
            });
            assertThat(got).as("round %d (seed %d)", round, seed).isEqualTo(want);
            List<String> ordered = new ArrayList<>(y.keySet());
            for (int i = 0; i < after.size(); i += 1 + rnd.nextInt(50)) assertThat(after.entryAt(i).getKey()).isEqualTo(ordered.get(i));
            if (!after.isEmpty()) assertThat(after.entryAt(after.size() - 1).getKey()).isEqualTo(y.lastKey());
            m = after;
        }
    }
}
