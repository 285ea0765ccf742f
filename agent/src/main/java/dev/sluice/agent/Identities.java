package dev.sluice.agent;

import dev.sluice.config.Values;
import dev.sluice.identity.IdentityAllocator;
import dev.sluice.identity.IdentityLabels;
import dev.sluice.k8s.KubeObject;
import dev.sluice.k8s.Namespace;
import dev.sluice.k8s.Pod;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** Security identities of the pods in the current snapshot, from the model's cluster-wide allocator. */
final class Identities {
    private final Map<String, Integer> byPod = new ConcurrentHashMap<>();

    void update(List<Pod> pods, Map<String, KubeObject> namespaces, Values values) {
        IdentityAllocator alloc = new IdentityAllocator();
        List<IdentityLabels> sets = new ArrayList<>();
        Map<String, IdentityLabels> perPod = new java.util.HashMap<>();
        for (Pod p : pods) {
            KubeObject ns = namespaces.get(p.namespace());
            Map<String, String> nsLabels = ns == null ? new Namespace(p.namespace(), Map.of()).labels() : Namespace.decode(ns).labels();
            IdentityLabels l = IdentityLabels.pod(p.namespace(), p.labels(), nsLabels);
            sets.add(l);
            perPod.put(p.key(), l);
        }
        alloc.reset(sets, List.of());
        byPod.clear();
        perPod.forEach((k, l) -> byPod.put(k, alloc.identity(l).id()));
    }

    int of(Pod p) { return ofKey(p.key()); }

    int ofKey(String podKey) { return byPod.getOrDefault(podKey, 0); }
}
