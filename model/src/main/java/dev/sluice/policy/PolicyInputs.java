package dev.sluice.policy;

import dev.sluice.k8s.Kinds;
import dev.sluice.k8s.KubeObject;
import dev.sluice.k8s.ManifestException;
import dev.sluice.k8s.Namespace;
import dev.sluice.k8s.Pod;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the policy engine reads: namespaces, pods and policies. Namespaces that pods or policies
 * use but no manifest declares exist implicitly, with only the {@code kubernetes.io/metadata.name}
 * label (as {@code kubectl create namespace} would make them). {@code fqdns}: per toFQDNs selector,
 * the IPv4 addresses the agent's FQDN cache holds (offline: none, so toFQDNs allows nothing).
 */
public record PolicyInputs(List<Namespace> namespaces, List<Pod> pods, List<Policy> policies, Map<FqdnSelector, java.util.Set<Integer>> fqdns) {
    public PolicyInputs {
        namespaces = List.copyOf(namespaces);
        pods = List.copyOf(pods);
        policies = List.copyOf(policies);
        Map<FqdnSelector, java.util.Set<Integer>> f = new TreeMap<>();
        fqdns.forEach((k, v) -> f.put(k, java.util.Set.copyOf(v)));
        fqdns = java.util.Collections.unmodifiableMap(f);
    }

    /** Inputs without learned FQDN addresses. */
    public PolicyInputs(List<Namespace> namespaces, List<Pod> pods, List<Policy> policies) {
        this(namespaces, pods, policies, Map.of());
    }

    /** These inputs with the FQDN cache's addresses per toFQDNs selector (what {@link PolicyEngine#load} then uses). */
    public PolicyInputs withFqdns(Map<FqdnSelector, java.util.Set<Integer>> addresses) {
        return new PolicyInputs(namespaces, pods, policies, addresses);
    }

    /** Decoded inputs plus one error per object that could not be decoded (the rest still count). */
    public record Decoded(PolicyInputs inputs, List<ManifestException> errors) {
        public Decoded {
            errors = List.copyOf(errors);
        }
    }

    /**
     * Decodes every object it can, collecting errors per object: a bad policy is skipped and never
     * changes what the good ones compute. Kinds other than Namespace, Pod and the policy kinds are
     * ignored. A duplicate (same kind, namespace, name) is an error; the first one wins.
     */
    public static Decoded decode(List<KubeObject> objects) {
        Map<String, Namespace> ns = new TreeMap<>();
        Map<String, Pod> pods = new TreeMap<>();
        Map<String, Policy> policies = new TreeMap<>();
        List<ManifestException> errors = new ArrayList<>();
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (KubeObject o : objects) {
            try {
                boolean relevant = o.kind().equals(Kinds.NAMESPACE) || o.kind().equals(Kinds.POD) || PolicyDecoder.isPolicy(o);
                if (!relevant) continue;
                if (!seen.add(o.key())) throw new ManifestException(o.file(), o.displayName(), "metadata.name", "defined twice (expected: one object per kind, namespace and name)");
                switch (o.kind()) {
                    case Kinds.NAMESPACE -> ns.put(o.name(), Namespace.decode(o));
                    case Kinds.POD -> pods.put(o.namespace() + "/" + o.name(), Pod.decode(o));
                    default -> {
                        Policy p = PolicyDecoder.decode(o);
                        policies.put(p.key(), p);
                    }
                }
            } catch (ManifestException e) {
                errors.add(e);
            }
        }
        for (Pod p : pods.values()) ns.putIfAbsent(p.namespace(), new Namespace(p.namespace(), Map.of()));
        for (Policy p : policies.values()) if (!p.namespace().isEmpty()) ns.putIfAbsent(p.namespace(), new Namespace(p.namespace(), Map.of()));
        return new Decoded(new PolicyInputs(List.copyOf(ns.values()), List.copyOf(pods.values()), List.copyOf(policies.values())), errors);
    }

    /**
     * These inputs plus pods that have no Pod object (standalone containers on a node, e.g. podman
     * on Sluice's CNI plugin), each in its namespace (made implicitly when none is declared). A pod
     * whose {@code namespace/name} a Pod object already has is left out: the Pod object keeps the
     * name, whatever the order.
     */
    public PolicyInputs withPods(List<Pod> extra) {
        if (extra.isEmpty()) return this;
        Map<String, Namespace> ns = new TreeMap<>();
        namespaces.forEach(n -> ns.put(n.name(), n));
        Map<String, Pod> all = new TreeMap<>();
        pods.forEach(p -> all.put(p.key(), p));
        for (Pod p : extra) {
            if (all.putIfAbsent(p.key(), p) == null) ns.putIfAbsent(p.namespace(), new Namespace(p.namespace(), Map.of()));
        }
        return new PolicyInputs(List.copyOf(ns.values()), List.copyOf(all.values()), policies, fqdns);
    }

    /** Decodes and throws the first error, for callers that want all-or-nothing. */
    public static PolicyInputs decodeStrict(List<KubeObject> objects) {
        Decoded d = decode(objects);
        if (!d.errors().isEmpty()) throw d.errors().getFirst();
        return d.inputs();
    }
}
