package dev.sluice.policy.flows;

import dev.sluice.k8s.Pod;
import dev.sluice.policy.Direction;
import dev.sluice.policy.EngineConfig;
import dev.sluice.policy.Peer;
import dev.sluice.policy.Policy;
import dev.sluice.policy.PolicyInputs;
import dev.sluice.policy.PortSpec;
import dev.sluice.policy.Rule;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Recorded flows replayed against a proposed set of policies ({@link FlowVerdicts}): which flows
 * would change verdict, FORWARDED to DROPPED or DROPPED to FORWARDED, grouped by the policies
 * behind the new verdict and the pair of workloads (opener to responder) in the checked direction.
 * The proposed set replaces the policies in force when the flows were recorded: it is every policy
 * the cluster would hold. Pure.
 */
public final class PolicyReplay {
    private PolicyReplay() {}

    /** One flow whose verdict changes. */
    public record Change(String where, String time, String node, String from, String to, String l4, boolean reply,
                         String direction, String recorded, String replayed, String reason) {}

    /** Changes with the same new verdict, policies, direction and workload pair. */
    public record Group(String change, List<String> policies, String direction, String from, String to, List<String> ports,
                        List<Change> flows) {}

    /**
     * @param flows every flow read
     * @param evaluated those with a policy verdict to compare
     * @param skipped per reason, the flows without one
     * @param notes what may make the answer differ from the cluster's (named ports of pods known only from flows)
     */
    public record Report(int flows, int evaluated, int changed, Map<String, Integer> skipped, List<Group> groups, List<String> notes) {}

    public static Report replay(PolicyInputs proposed, EngineConfig config, List<RecordedFlow> flows) {
        FlowVerdicts v = new FlowVerdicts(proposed, config, flows);
        Map<String, Integer> skipped = new TreeMap<>();
        record Key(String change, List<String> policies, String direction, String from, String to) {}
        Map<Key, List<Change>> groups = new TreeMap<>(Comparator.comparing(Key::change).reversed()
                .thenComparing(k -> String.join(",", k.policies())).thenComparing(Key::direction)
                .thenComparing(Key::from).thenComparing(Key::to));
        int evaluated = 0, changed = 0;
        for (RecordedFlow f : flows) {
            if (!f.evaluated()) {
                skipped.merge(f.skip(), 1, Integer::sum);
                continue;
            }
            evaluated++;
            FlowVerdicts.Verdict now = v.verdict(f);
            String before = f.policyVerdict();
            if (before.equals(now.verdict())) continue;
            changed++;
            Key k = new Key(before + " -> " + now.verdict(), now.policies(), f.direction().word(), f.opener().workloadKey(), f.responder().workloadKey());
            groups.computeIfAbsent(k, x -> new ArrayList<>()).add(new Change(f.where(), f.time(), f.node(), f.opener().display(),
                    f.responder().display(), f.l4(), f.reply(), f.direction().word(), f.verdict(), now.verdict(), now.reason() + beyond(v, f, now)));
        }
        List<Group> out = new ArrayList<>();
        for (var e : groups.entrySet()) {
            TreeSet<String> ports = new TreeSet<>();
            for (Change c : e.getValue()) ports.add(c.l4());
            Key k = e.getKey();
            out.add(new Group(k.change(), k.policies(), k.direction(), k.from(), k.to(), List.copyOf(ports), e.getValue()));
        }
        return new Report(flows.size(), evaluated, changed, new LinkedHashMap<>(skipped), out, notes(proposed, flows));
    }

    /**
     * A drop at the opener's egress that now passes was never seen at the responder: when the
     * responder is a pod whose ingress would drop it, the reason says so (the connection stays
     * blocked there).
     */
    private static String beyond(FlowVerdicts v, RecordedFlow f, FlowVerdicts.Verdict now) {
        if (!now.verdict().equals("FORWARDED") || f.direction() != Direction.EGRESS || !f.responder().isPod()) return "";
        RecordedFlow in = new RecordedFlow(f.where(), f.time(), f.node(), f.source(), f.destination(), f.protocol(), f.sourcePort(),
                f.destinationPort(), Direction.INGRESS, f.reply(), f.verdict(), f.dropReason(), f.skip());
        FlowVerdicts.Verdict there = v.verdict(in);
        return there.verdict().equals("DROPPED") ? "; but then " + there.reason() + " (the connection stays blocked)" : "";
    }

    /**
     * Named ports resolve against pods' container ports, which flows do not carry: a policy naming a
     * port reaches a pod known only from flows on no port at all. toFQDNs rules allow addresses
     * learned from DNS answers, which replay does not have: flows they allowed replay as dropped.
     */
    static List<String> notes(PolicyInputs proposed, List<RecordedFlow> flows) {
        List<String> out = new java.util.ArrayList<>();
        TreeSet<String> fqdn = new TreeSet<>();
        for (Policy p : proposed.policies()) for (Rule r : p.rules()) for (Peer pe : r.peers()) if (pe instanceof Peer.Fqdn) fqdn.add(p.displayName());
        if (!fqdn.isEmpty())
            out.add(String.join(", ", fqdn) + " use toFQDNs, which allow only addresses learned from DNS answers: replay has none, so flows only they allowed replay as dropped");
        String n = namedPortNote(proposed, flows);
        if (n != null) out.add(n);
        return List.copyOf(out);
    }

    private static String namedPortNote(PolicyInputs proposed, List<RecordedFlow> flows) {
        TreeSet<String> named = new TreeSet<>();
        for (Policy p : proposed.policies()) for (Rule r : p.rules()) for (PortSpec ps : r.ports()) if (ps.named()) named.add(p.displayName());
        if (named.isEmpty()) return null;
        TreeSet<String> manifests = new TreeSet<>();
        for (Pod p : proposed.pods()) manifests.add(p.key());
        TreeSet<String> fromFlows = new TreeSet<>(HubbleFlows.pods(flows).keySet());
        fromFlows.removeAll(manifests);
        if (fromFlows.isEmpty()) return null;
        return String.join(", ", named) + " name ports, which pods known only from flows do not declare (" + fromFlows.size()
                + " pods, e.g. " + fromFlows.first() + "): pass their Pod manifests with -f";
    }
}
