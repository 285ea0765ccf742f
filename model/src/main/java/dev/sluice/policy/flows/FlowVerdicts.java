package dev.sluice.policy.flows;

import dev.sluice.identity.Reserved;
import dev.sluice.k8s.Namespace;
import dev.sluice.k8s.Pod;
import dev.sluice.net.Ip;
import dev.sluice.policy.EndpointPolicy;
import dev.sluice.policy.EngineConfig;
import dev.sluice.policy.PolicyEngine;
import dev.sluice.policy.PolicyInputs;
import dev.sluice.policy.PolicyState;
import dev.sluice.policymap.PolicyLookup;
import dev.sluice.policymap.PolicyMaps;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The verdict a set of policies gives recorded flows, exactly as the data path would: the policy
 * engine compiles every pod's policy ({@link PolicyEngine}), the compiled state becomes the
 * endpoint's map entries ({@link PolicyMaps#compile}) and the flow is looked up in them as
 * bpf/lib/policy.h does ({@link PolicyLookup}), at the endpoint and in the direction the flow was
 * checked (a reply against the opener's permission, with the connection's destination port).
 *
 * <p>The pods are those of the manifests plus every pod the flows name, with the labels and
 * address the flows show (a Pod manifest wins; it also brings container ports, which named ports
 * need). Namespaces: the manifests', else the labels Cilium's flows carry
 * ({@code io.cilium.k8s.namespace.labels.*}), else only {@code kubernetes.io/metadata.name}.
 * A peer that is no pod has the reserved identity its labels name (world by default), and its
 * address for CIDR rules.
 */
public final class FlowVerdicts {
    private final PolicyEngine engine;
    private final Map<PolicyState, PolicyMaps.EndpointMaps> maps = new IdentityHashMap<>();

    public FlowVerdicts(PolicyInputs manifests, EngineConfig config, List<RecordedFlow> flows) {
        engine = new PolicyEngine(config);
        engine.load(inputs(manifests, flows));
    }

    static PolicyInputs inputs(PolicyInputs manifests, List<RecordedFlow> flows) {
        Map<String, RecordedFlow.Peer> seen = HubbleFlows.pods(flows);
        Map<String, Namespace> ns = new TreeMap<>();
        for (RecordedFlow.Peer p : seen.values()) if (!p.namespaceLabels().isEmpty()) ns.put(p.namespace(), new Namespace(p.namespace(), p.namespaceLabels()));
        for (Namespace n : manifests.namespaces()) ns.put(n.name(), n);
        List<Pod> pods = new ArrayList<>();
        for (Pod p : manifests.pods()) {
            RecordedFlow.Peer f = seen.get(p.key());
            pods.add(p.podIP().isEmpty() && f != null ? p.withPodIP(f.ip()) : p);
        }
        List<Pod> extra = new ArrayList<>();
        for (RecordedFlow.Peer p : new TreeMap<>(seen).values()) extra.add(new Pod(p.namespace(), p.pod(), p.labels(), "", p.ip(), List.of()));
        return new PolicyInputs(List.copyOf(ns.values()), pods, manifests.policies()).withPods(extra);
    }

    /**
     * A flow's verdict under these policies.
     *
     * @param policies the policies behind it ({@code Kind ns/name}): those whose entry decided, or
     *     for a default-deny drop those that isolate the endpoint; empty when nothing enforces
     * @param reason plain words
     */
    public record Verdict(String verdict, List<String> policies, String reason) {}

    /** The verdict of a flow that {@link RecordedFlow#evaluated() is evaluated}. */
    public Verdict verdict(RecordedFlow f) {
        RecordedFlow.Peer local = f.local(), peer = f.peer();
        EndpointPolicy ep = engine.endpoint(local.key());
        PolicyState state = ep.state();
        PolicyMaps.EndpointMaps m = maps.computeIfAbsent(state, PolicyMaps::compile);
        int dir = PolicyMaps.direction(f.direction());
        PolicyLookup.Result r = PolicyLookup.decide(m, dir, peerIdentity(peer), Ip.parse(peer.ip()), f.protocol(), f.port());
        String d = f.direction().word();
        List<String> policies;
        String reason;
        if (r.match() == PolicyLookup.Match.HOST) {
            policies = List.of();
            reason = "the node reaches its pods whatever the policy";
        } else if (r.verdict() != 0) {
            policies = names(r.origins());
            String by = String.join(", ", policies);
            reason = switch (r.verdict()) {
                case PolicyMaps.DENY -> d + " denied by " + by;
                case PolicyMaps.REDIRECT -> d + " needs the L7 proxy of " + by + " (not available: dropped)";
                default -> d + " allowed by " + by;
            };
        } else if (r.enforced()) {
            policies = names(state.policies(f.direction()));
            reason = "default deny: " + local.key() + " is isolated for " + d + " by " + String.join(", ", policies);
        } else {
            policies = List.of();
            reason = "no policy isolates " + local.key() + " for " + d;
        }
        return new Verdict(r.passes() ? "FORWARDED" : "DROPPED", policies, reason);
    }

    private int peerIdentity(RecordedFlow.Peer p) {
        if (p.isPod() && engine.pod(p.key()) != null) return engine.identityOf(p.key());
        for (String r : p.reserved()) {
            Reserved x = Reserved.byLabel(r);
            if (x != null) return x.id;
        }
        if (p.identity() > 0 && p.identity() <= Reserved.values().length) return (int) p.identity();
        return Reserved.WORLD.id;
    }

    /** {@code Kind ns/name} of rule origins ({@code Kind ns/name path}) or policy names, distinct and sorted. */
    static List<String> names(List<String> origins) {
        TreeSet<String> out = new TreeSet<>();
        for (String o : origins) {
            String[] parts = o.strip().split(" ", 3);
            out.add(parts.length >= 2 ? parts[0] + " " + parts[1] : o);
        }
        return List.copyOf(out);
    }

}
