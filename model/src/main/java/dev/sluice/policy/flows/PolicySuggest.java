package dev.sluice.policy.flows;

import dev.sluice.identity.IdentityLabels;
import dev.sluice.identity.Reserved;
import dev.sluice.k8s.Namespace;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Predicate;
import tools.jackson.dataformat.yaml.YAMLMapper;
import tools.jackson.dataformat.yaml.YAMLWriteFeature;

/**
 * Least-privilege policies from observed flows: for every workload of the target (pods with the
 * same namespace and stable labels, {@link Workloads#stable}), one policy that isolates it in both
 * directions and allows exactly the connections the flows show it opened (egress) and accepted
 * (ingress): each peer with the ports and protocols seen with that peer, and nothing else, plus
 * DNS to kube-dns (UDP and TCP 53), which restricted egress would otherwise break.
 *
 * <p>Peers: a pod by its workload's stable labels (and its namespace's name when it is another
 * namespace); an address outside the cluster by its /32; other reserved ends (remote-node, ...)
 * as Cilium entities, or by address in a NetworkPolicy. The node reaching its own pods is always
 * allowed (policy_check) and gets no rule. Used flows: forwarded and audited ones with a policy
 * verdict, TCP, UDP or SCTP. What cannot be expressed is left out and noted.
 */
public final class PolicySuggest {
    private PolicySuggest() {}

    public enum Kind { NETWORK_POLICY, CILIUM_NETWORK_POLICY }

    /** The manifests (YAML documents, in order) and notes on what was left out. */
    public record Result(List<Map<String, Object>> manifests, List<String> notes) {
        public String yaml() {
            var sb = new StringBuilder();
            for (Map<String, Object> m : manifests) sb.append("---\n").append(YAML.writeValueAsString(m));
            return sb.toString();
        }
    }

    static final YAMLMapper YAML = YAMLMapper.builder().enable(YAMLWriteFeature.MINIMIZE_QUOTES, YAMLWriteFeature.ALWAYS_QUOTE_NUMBERS_AS_STRINGS)
            .disable(YAMLWriteFeature.WRITE_DOC_START_MARKER).build();

    /** A peer of a rule: pods of a workload in a namespace, an entity, or an address. */
    private record PeerKey(String namespace, Map<String, String> labels, String entity, String cidr) {
        String sortKey() { return (namespace == null ? "~" : namespace) + "|" + labels + "|" + entity + "|" + cidr; }
    }

    private record Workload(String namespace, Map<String, String> labels) {}

    /** Ports of one peer: {@code TCP/80} text keeps them sorted. */
    private static final class Rules {
        final Map<PeerKey, TreeSet<String>> ingress = new TreeMap<>(Comparator.comparing(PeerKey::sortKey));
        final Map<PeerKey, TreeSet<String>> egress = new TreeMap<>(Comparator.comparing(PeerKey::sortKey));
        final TreeSet<String> names = new TreeSet<>();
    }

    static final PeerKey KUBE_DNS = new PeerKey("kube-system", Map.of("k8s-app", "kube-dns"), null, null);

    /**
     * @param target which pods get a policy (the local pod of a flow: namespace and name, labels)
     */
    public static Result suggest(List<RecordedFlow> flows, Predicate<RecordedFlow.Peer> target, Kind kind) {
        Map<Workload, Rules> byWorkload = new TreeMap<>(Comparator.comparing(Workload::namespace).thenComparing(w -> w.labels().toString()));
        TreeSet<String> notes = new TreeSet<>();
        for (RecordedFlow f : flows) {
            if (!f.evaluated() || !(f.verdict().equals("FORWARDED") || f.verdict().equals("AUDIT"))) continue;
            if (f.protocol() != 6 && f.protocol() != 17 && f.protocol() != 132) {
                if (target.test(f.opener()) || target.test(f.responder()))
                    notes.add(f.protocolName() + " flows (" + f.opener().display() + " -> " + f.responder().display() + ") are not allowed: only TCP, UDP and SCTP ports are");
                continue;
            }
            String port = f.protocolName() + "/" + f.port();
            RecordedFlow.Peer o = f.opener(), r = f.responder();
            if (r.isPod() && target.test(r)) {
                Rules rules = rules(byWorkload, r, notes);
                PeerKey pk = peer(o, r.namespace(), kind, true, notes);
                if (rules != null && pk != null) rules.ingress.computeIfAbsent(pk, k -> new TreeSet<>()).add(port);
            }
            if (o.isPod() && target.test(o)) {
                Rules rules = rules(byWorkload, o, notes);
                PeerKey pk = peer(r, o.namespace(), kind, false, notes);
                if (rules != null && pk != null) rules.egress.computeIfAbsent(pk, k -> new TreeSet<>()).add(port);
            }
        }
        List<Map<String, Object>> out = new ArrayList<>();
        Set<String> used = new TreeSet<>();
        for (var e : byWorkload.entrySet()) {
            Rules rules = e.getValue();
            rules.egress.computeIfAbsent(KUBE_DNS, k -> new TreeSet<>()).addAll(List.of("TCP/53", "UDP/53"));
            String base = "suggested-" + name(rules.names.first());
            String name = base;
            for (int i = 2; !used.add(e.getKey().namespace() + "/" + name); i++) name = base + "-" + i;
            out.add(kind == Kind.NETWORK_POLICY ? networkPolicy(e.getKey(), name, rules) : cilium(e.getKey(), name, rules));
        }
        return new Result(out, List.copyOf(notes));
    }

    private static Rules rules(Map<Workload, Rules> byWorkload, RecordedFlow.Peer p, Set<String> notes) {
        Map<String, String> stable = Workloads.stable(p.labels());
        if (stable.isEmpty()) {
            notes.add(p.key() + " has no stable labels to select it by: no policy suggested for it");
            return null;
        }
        Rules r = byWorkload.computeIfAbsent(new Workload(p.namespace(), stable), k -> new Rules());
        r.names.add(p.workload());
        return r;
    }

    /** How a rule names a peer; null when it needs no rule (the node reaching its pods). */
    private static PeerKey peer(RecordedFlow.Peer p, String ownNamespace, Kind kind, boolean ingress, Set<String> notes) {
        if (p.isPod()) {
            Map<String, String> stable = Workloads.stable(p.labels());
            if (stable.isEmpty()) {
                notes.add(p.key() + " has no stable labels: selected by its address " + p.ip() + "/32");
                return new PeerKey(null, null, null, p.ip() + "/32");
            }
            return new PeerKey(p.namespace(), stable, null, null);
        }
        String reserved = p.reserved().isEmpty() ? "world" : p.reserved().getFirst();
        if (reserved.equals("host") && ingress) return null;
        if (reserved.equals("world") || kind == Kind.NETWORK_POLICY || Reserved.byLabel(reserved) == null) {
            if (!reserved.equals("world")) notes.add("the " + reserved + " peer " + p.ip() + " is selected by its address (a NetworkPolicy has no entities)");
            return new PeerKey(null, null, null, p.ip() + "/32");
        }
        return new PeerKey(null, null, reserved, null);
    }

    /** A DNS-1123 name from a workload name. */
    static String name(String s) {
        String n = s.toLowerCase().replaceAll("[^a-z0-9-]", "-").replaceAll("^-+|-+$", "");
        if (n.length() > 40) n = n.substring(0, 40).replaceAll("-+$", "");
        return n.isEmpty() ? "workload" : n;
    }

    /** Peers sharing the same ports share a rule. */
    private static Map<TreeSet<String>, List<PeerKey>> byPorts(Map<PeerKey, TreeSet<String>> peers) {
        Map<TreeSet<String>, List<PeerKey>> out = new TreeMap<>(Comparator.comparing(TreeSet::toString));
        peers.forEach((p, ports) -> out.computeIfAbsent(ports, k -> new ArrayList<>()).add(p));
        return out;
    }

    private static Map<String, Object> networkPolicy(Workload w, String name, Rules rules) {
        Map<String, Object> spec = new LinkedHashMap<>();
        spec.put("podSelector", Map.of("matchLabels", w.labels()));
        spec.put("policyTypes", List.of("Ingress", "Egress"));
        for (boolean ingress : new boolean[] {true, false}) {
            List<Object> list = new ArrayList<>();
            for (var e : byPorts(ingress ? rules.ingress : rules.egress).entrySet()) {
                List<Object> peers = new ArrayList<>();
                for (PeerKey p : e.getValue()) {
                    Map<String, Object> m = new LinkedHashMap<>();
                    if (p.cidr() != null) m.put("ipBlock", Map.of("cidr", p.cidr()));
                    else {
                        if (!p.namespace().equals(w.namespace())) m.put("namespaceSelector", Map.of("matchLabels", Map.of(Namespace.NAME_LABEL, p.namespace())));
                        m.put("podSelector", Map.of("matchLabels", p.labels()));
                    }
                    peers.add(m);
                }
                Map<String, Object> rule = new LinkedHashMap<>();
                rule.put(ingress ? "from" : "to", peers);
                List<Object> ports = new ArrayList<>();
                for (String port : e.getKey()) {
                    Map<String, Object> pm = new LinkedHashMap<>();
                    pm.put("protocol", port.substring(0, port.indexOf('/')));
                    pm.put("port", Integer.parseInt(port.substring(port.indexOf('/') + 1)));
                    ports.add(pm);
                }
                rule.put("ports", ports);
                list.add(rule);
            }
            if (!list.isEmpty()) spec.put(ingress ? "ingress" : "egress", list);
        }
        return manifest("networking.k8s.io/v1", "NetworkPolicy", name, w.namespace(), spec);
    }

    private static Map<String, Object> cilium(Workload w, String name, Rules rules) {
        Map<String, Object> spec = new LinkedHashMap<>();
        spec.put("endpointSelector", Map.of("matchLabels", w.labels()));
        Map<String, Object> deny = new LinkedHashMap<>();
        deny.put("ingress", true);
        deny.put("egress", true);
        spec.put("enableDefaultDeny", deny);
        for (boolean ingress : new boolean[] {true, false}) {
            String pre = ingress ? "from" : "to";
            List<Object> list = new ArrayList<>();
            for (var e : byPorts(ingress ? rules.ingress : rules.egress).entrySet()) {
                List<Object> endpoints = new ArrayList<>(), cidrs = new ArrayList<>(), entities = new ArrayList<>();
                for (PeerKey p : e.getValue()) {
                    if (p.cidr() != null) cidrs.add(p.cidr());
                    else if (p.entity() != null) entities.add(p.entity());
                    else {
                        Map<String, String> labels = new TreeMap<>(p.labels());
                        if (!p.namespace().equals(w.namespace())) labels.put("k8s:" + IdentityLabels.NAMESPACE_KEY, p.namespace());
                        endpoints.add(Map.of("matchLabels", labels));
                    }
                }
                List<Object> ports = new ArrayList<>();
                for (String port : e.getKey()) {
                    Map<String, Object> pm = new LinkedHashMap<>();
                    pm.put("port", port.substring(port.indexOf('/') + 1));
                    pm.put("protocol", port.substring(0, port.indexOf('/')));
                    ports.add(pm);
                }
                List<Object> toPorts = List.of(Map.of("ports", ports));
                // one rule per kind of peer: a Cilium rule's peer fields are each a separate set
                if (!endpoints.isEmpty()) list.add(rule(pre + "Endpoints", endpoints, toPorts));
                if (!cidrs.isEmpty()) list.add(rule(pre + "CIDR", cidrs, toPorts));
                if (!entities.isEmpty()) list.add(rule(pre + "Entities", entities, toPorts));
            }
            if (!list.isEmpty()) spec.put(ingress ? "ingress" : "egress", list);
        }
        return manifest("cilium.io/v2", "CiliumNetworkPolicy", name, w.namespace(), spec);
    }

    private static Map<String, Object> rule(String field, List<Object> peers, List<Object> toPorts) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put(field, peers);
        r.put("toPorts", toPorts);
        return r;
    }

    private static Map<String, Object> manifest(String api, String kind, String name, String ns, Map<String, Object> spec) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("apiVersion", api);
        m.put("kind", kind);
        Map<String, Object> meta = new LinkedHashMap<>();
        meta.put("name", name);
        meta.put("namespace", ns);
        m.put("metadata", meta);
        m.put("spec", spec);
        return m;
    }
}
