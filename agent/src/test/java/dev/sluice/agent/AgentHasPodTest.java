package dev.sluice.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.agent.store.ResourceStore;
import dev.sluice.k8s.KubeObject;
import dev.sluice.k8s.ManifestReader;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** {@link Agent#hasPod}: a binary search of a snapshot gives what a set of its pod names would. */
class AgentHasPodTest {
    @Test
    void binarySearchAgreesWithASetOfPodNames() {
        long seed = Long.getLong("sluice.seed", System.nanoTime());
        System.out.println("binarySearchAgreesWithASetOfPodNames seed=" + seed);
        var r = new SplittableRandom(seed);
        for (int round = 0; round < 30; round++) {
            var store = new ResourceStore();
            StringBuilder y = new StringBuilder();
            int n = r.nextInt(40);
            for (int i = 0; i < n; i++) {
                String ns = "ns" + r.nextInt(4), name = "p" + r.nextInt(20);
                switch (r.nextInt(3)) {
                    case 0 -> y.append("---\n{apiVersion: v1, kind: Pod, metadata: {name: ").append(name).append(", namespace: ").append(ns).append("}}\n");
                    case 1 -> y.append("---\n{apiVersion: v1, kind: Service, metadata: {name: ").append(name).append(", namespace: ").append(ns).append("}}\n");
                    default -> y.append("---\n{apiVersion: v1, kind: Namespace, metadata: {name: ").append(ns).append("}}\n");
                }
            }
            List<KubeObject> objs = y.isEmpty() ? List.of() : ManifestReader.parse("t", y.toString());
            store.apply(objs, List.of());
            List<KubeObject> snap = store.snapshot().objects();
            Set<String> pods = new HashSet<>();
            for (KubeObject o : snap) if (o.kind().equals("Pod")) pods.add(o.namespace() + "/" + o.name());
            List<String> probes = new ArrayList<>(pods);
            for (int i = 0; i < 20; i++) probes.add("ns" + r.nextInt(5) + "/p" + r.nextInt(22));
            probes.add("nosuch");
            probes.add("/");
            for (String k : probes) assertThat(Agent.hasPod(snap, k)).as("seed " + seed + " " + k).isEqualTo(pods.contains(k));
        }
    }
}
