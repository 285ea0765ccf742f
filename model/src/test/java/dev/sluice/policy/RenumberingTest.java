package dev.sluice.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.k8s.Namespace;
import dev.sluice.k8s.Pod;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Identity numbers are a hash with linear probing; a collision recomputes every number, and the
 * engine says so ({@link PolicyEngine#renumberings}) so that whoever patches per changed pod (the
 * agent's ipcache) redoes everything instead. Pods with distinct labels are added until the first
 * collision (the slot space is 2^24: a few thousand label sets make one near certain).
 */
class RenumberingTest {
    @Test void aCollisionIsReportedAndEveryNumberFollowsIt() {
        var engine = new PolicyEngine(EngineConfig.DEFAULT);
        engine.load(new PolicyInputs(List.of(new Namespace("x", Map.of())), List.of(), List.of()));
        Map<String, Integer> before = new HashMap<>();
        int i = 0;
        for (; i < 50_000 && engine.renumberings() == 0; i++) {
            if (i > 0) before.put("x/p" + (i - 1), engine.identityOf("x/p" + (i - 1)));
            engine.apply(new Change.PodUpsert(new Pod("x", "p" + i, Map.of("n", Integer.toString(i)), "node1", "", List.of())));
        }
        assertThat(engine.renumberings()).as("a collision within %d label sets", i).isEqualTo(1);
        // the engine's numbers are the allocator's after the renumbering: a fresh engine agrees
        var fresh = new PolicyEngine(EngineConfig.DEFAULT);
        List<Pod> pods = new java.util.ArrayList<>();
        for (int k = 0; k < i; k++) pods.add(new Pod("x", "p" + k, Map.of("n", Integer.toString(k)), "node1", "", List.of()));
        fresh.load(new PolicyInputs(List.of(new Namespace("x", Map.of())), pods, List.of()));
        boolean moved = false;
        for (var e : before.entrySet()) {
            assertThat(engine.identityOf(e.getKey())).isEqualTo(fresh.identityOf(e.getKey()));
            moved |= !e.getValue().equals(engine.identityOf(e.getKey()));
        }
        assertThat(moved).as("some earlier pod's number moved").isTrue();
    }
}
