package dev.sluice.cli.audit;

import dev.sluice.config.Values;
import dev.sluice.identity.LabelFilter;
import dev.sluice.k8s.ClusterNode;
import dev.sluice.k8s.Kinds;
import dev.sluice.k8s.KubeObject;
import dev.sluice.k8s.Pod;
import dev.sluice.k8s.Protocol;
import dev.sluice.k8s.Service;
import dev.sluice.net.Cidr;
import dev.sluice.net.Mtu;
import dev.sluice.policy.EngineConfig;
import dev.sluice.policy.PolicyAnalysis;
import dev.sluice.policy.PolicyDecoder;
import dev.sluice.policy.PolicyEngine;
import dev.sluice.policy.PolicyInputs;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import tools.jackson.databind.JsonNode;

/**
 * The seed's pitfall guide and action checklist as checks: pure functions of an {@link AuditInput}
 * (no I/O), so each is tested on crafted inputs. Thresholds: a pool or table at 90% or more fails,
 * at 75% or more warns.
 */
public final class Checks {
    static final double FAIL_AT = 0.90, WARN_AT = 0.75;
    /** An address outside every cluster range (TEST-NET-3): "the world" for the policy engine. */
    static final String WORLD_ADDRESS = "203.0.113.1";
    /** Namespaces the audit leaves out of the default-deny check: the control plane's own. */
    static final Set<String> SYSTEM_NAMESPACES = Set.of("kube-system", "kube-public", "kube-node-lease");
    static final int MAX_EVIDENCE = 8;

    private Checks() {}

    /** Every check, in the order the report lists them. */
    public static final List<String> NAMES = List.of("mtu", "ipam", "conntrack", "dns-egress", "dns-ndots", "service-cidr",
            "nodeport-exposure", "default-deny", "kube-proxy", "identity-labels");

    public static List<Finding> run(AuditInput in) {
        Model m = new Model(in);
        return List.of(mtu(in), ipam(in, m), conntrack(in), dnsEgress(m), dnsNdots(m), serviceCidr(in, m), nodePortExposure(m),
                defaultDeny(m), kubeProxy(in), identityLabels(in, m));
    }

    /** The overall result: fail if any check fails, else warn if any warns, else pass. */
    public static String overall(List<Finding> fs) {
        if (fs.stream().anyMatch(f -> f.status().equals(Finding.FAIL))) return Finding.FAIL;
        if (fs.stream().anyMatch(f -> f.status().equals(Finding.WARN))) return Finding.WARN;
        return Finding.PASS;
    }

    /**
     * The decoded objects the checks share. An object that does not decode is left out: offline,
     * the command refused it beforehand (bad input); in a lab, the agents report it in their status.
     */
    static final class Model {
        final List<KubeObject> objects;
        final List<Pod> pods = new ArrayList<>();
        final List<Service> services = new ArrayList<>();
        final List<ClusterNode> nodes = new ArrayList<>();
        final List<KubeObject> policies = new ArrayList<>();
        /** Namespaces that have pods: the ones a missing default deny exposes. */
        final Set<String> podNamespaces = new TreeSet<>();
        final PolicyEngine engine;
        final PolicyAnalysis analysis;

        Model(AuditInput in) {
            objects = in.objects();
            for (KubeObject o : in.objects()) {
                try {
                    switch (o.kind()) {
                        case Kinds.POD -> pods.add(Pod.decode(o));
                        case Kinds.SERVICE -> services.add(Service.decode(o));
                        case Kinds.NODE -> nodes.add(ClusterNode.decode(o));
                        default -> {
                            if (PolicyDecoder.isPolicy(o)) policies.add(o);
                        }
                    }
                } catch (RuntimeException e) {
                    // left out, see above
                }
            }
            pods.forEach(p -> podNamespaces.add(p.namespace()));
            engine = new PolicyEngine(EngineConfig.from(in.values()));
            engine.load(PolicyInputs.decode(in.objects()).inputs());
            analysis = new PolicyAnalysis(engine);
        }
    }

    // --- MTU -------------------------------------------------------------------------------------

    static Finding mtu(AuditInput in) {
        String c = "mtu";
        Values v = in.values();
        int underlay = v.mtu() != 0 ? v.mtu() : 1500;
        String derived = "pod MTU " + Mtu.podMtu(underlay, v.routingMode()) + " (" + (v.mtu() != 0 ? "mtu " + v.mtu() : "underlay 1500 assumed")
                + (v.routingMode() == Values.RoutingMode.TUNNEL ? " - 50 VXLAN" : ", native routing") + ")";
        if (!in.live()) return new Finding(c, Finding.SKIP, "configured " + derived + "; the real path MTU needs a live lab (--name)", List.of(), "");
        List<String> ev = new ArrayList<>();
        Set<Integer> podMtus = new TreeSet<>();
        for (var n : in.nodes()) {
            podMtus.add(n.podMtu());
            ev.add(n.node() + ": underlay " + n.underlayMtu() + ", pod " + n.podMtu());
        }
        if (podMtus.size() > 1)
            return new Finding(c, Finding.FAIL, "nodes give pods different MTUs " + podMtus, ev,
                    "give every node the same underlay MTU, or set values mtu to the smallest underlay MTU");
        var p = in.mtuProbe();
        if (p == null) return new Finding(c, Finding.SKIP, "no two pods on different nodes to probe between", ev, "");
        ev.addFirst("DF pings " + p.from() + " -> " + p.to() + " (" + p.toIp() + "): " + String.join(", ", p.tried()));
        if (p.pathMtu() == 0)
            return new Finding(c, Finding.WARN, "could not probe: no DF ping from " + p.from() + " to " + p.to() + " was answered", ev,
                    "allow ICMP echo between two pods on different nodes, or check the underlay between the nodes");
        if (p.pathMtu() < p.podMtu()) {
            int overhead = v.routingMode() == Values.RoutingMode.TUNNEL ? Mtu.VXLAN_OVERHEAD : 0;
            return new Finding(c, Finding.FAIL, "pods use MTU " + p.podMtu() + " but the path between nodes carries only " + p.pathMtu(), ev,
                    "set values mtu to " + (p.pathMtu() + overhead) + " (the underlay's real MTU" + (overhead > 0 ? "; pods get it minus 50 for VXLAN" : "")
                            + "), or raise the underlay's MTU; check with ping -M do -s " + (p.podMtu() - 28) + " between pods on different nodes");
        }
        return Finding.pass(c, "path MTU " + p.pathMtu() + " between nodes carries the pod MTU " + p.podMtu(), ev);
    }

    // --- IPAM ------------------------------------------------------------------------------------

    static Finding ipam(AuditInput in, Model m) {
        String c = "ipam";
        Values v = in.values();
        long subnets = 0;
        for (Cidr pool : v.clusterPoolIPv4PodCIDRList()) subnets += 1L << Math.max(0, v.clusterPoolIPv4MaskSize() - pool.prefixLength());
        int nodes = in.live() ? in.nodes().size() : m.nodes.size();
        long perNode = Math.max(0, (1L << (32 - v.clusterPoolIPv4MaskSize())) - 2);
        List<String> ev = new ArrayList<>();
        String status = Finding.PASS;
        String summary;
        ev.add("cluster pool " + v.clusterPoolIPv4PodCIDRList() + " /" + v.clusterPoolIPv4MaskSize() + ": " + nodes + " of " + subnets
                + " node subnets used, " + (subnets - nodes) + " nodes can still join");
        if (nodes >= subnets) status = Finding.FAIL;
        else if (nodes >= WARN_AT * subnets) status = Finding.WARN;
        summary = status.equals(Finding.PASS) ? "" : "the pod CIDR pool has room for " + (subnets - nodes) + " more node(s)";
        String worst = "";
        double worstUse = -1;
        if (in.live()) {
            for (var n : in.nodes()) {
                double use = n.ipamCapacity() == 0 ? 1 : (double) n.ipamUsed() / n.ipamCapacity();
                ev.add(n.node() + " " + n.podCIDR() + ": " + n.ipamUsed() + "/" + n.ipamCapacity() + " addresses (" + pct(use) + "), "
                        + (n.ipamCapacity() - n.ipamUsed()) + " pods more");
                if (use > worstUse) { worstUse = use; worst = n.node(); }
            }
        } else {
            Map<String, Integer> perNodePods = new TreeMap<>();
            for (Pod p : m.pods) if (!p.nodeName().isEmpty()) perNodePods.merge(p.nodeName(), 1, Integer::sum);
            for (var e : perNodePods.entrySet()) {
                double use = perNode == 0 ? 1 : (double) e.getValue() / perNode;
                ev.add(e.getKey() + ": " + e.getValue() + " pods in the manifests of " + perNode + " addresses per node (" + pct(use) + ")");
                if (use > worstUse) { worstUse = use; worst = e.getKey(); }
            }
        }
        if (worstUse >= FAIL_AT) status = Finding.FAIL;
        else if (worstUse >= WARN_AT && !status.equals(Finding.FAIL)) status = Finding.WARN;
        if (worstUse >= WARN_AT) summary = (summary.isEmpty() ? "" : summary + "; ") + worst + "'s pod CIDR is " + pct(worstUse) + " used";
        if (status.equals(Finding.PASS)) return Finding.pass(c, "pod CIDRs have room" + (worstUse >= 0 ? " (fullest node " + pct(worstUse) + ")" : ""), ev);
        return new Finding(c, status, summary, ev,
                "widen ipam.operator.clusterPoolIPv4PodCIDRList (e.g. a /16 for a large cluster) or choose clusterPoolIPv4MaskSize for the "
                        + "pods per node you expect (a /24 holds 254); a pod beyond its node's CIDR fails its CNI ADD");
    }

    // --- conntrack -------------------------------------------------------------------------------

    static Finding conntrack(AuditInput in) {
        String c = "conntrack";
        if (!in.live())
            return new Finding(c, Finding.SKIP, "configured bpf.ctTcpMax " + in.values().ctTcpMax() + ", bpf.ctAnyMax " + in.values().ctAnyMax()
                    + "; the fill needs a live lab (--name)", List.of(), "");
        List<String> ev = new ArrayList<>();
        double worst = 0;
        long refused = 0;
        for (var n : in.nodes()) {
            double tcp = n.ctMaxTcp() == 0 ? 0 : (double) n.ctFillTcp() / n.ctMaxTcp(), any = n.ctMaxAny() == 0 ? 0 : (double) n.ctFillAny() / n.ctMaxAny();
            ev.add(n.node() + ": TCP " + n.ctFillTcp() + "/" + n.ctMaxTcp() + " (" + pct(tcp) + "), other " + n.ctFillAny() + "/" + n.ctMaxAny()
                    + " (" + pct(any) + "), " + n.ctRefused() + " refused (DROP_CT_FULL)");
            worst = Math.max(worst, Math.max(tcp, any));
            refused += n.ctRefused();
        }
        String fix = "raise bpf.ctTcpMax (TCP) / bpf.ctAnyMax (UDP, ICMP, ...), or find what opens so many connections (sluice observe)";
        if (refused > 0) return new Finding(c, Finding.FAIL, refused + " new flows refused: the conntrack table was full", ev, fix);
        if (worst >= FAIL_AT) return new Finding(c, Finding.FAIL, "a conntrack table is " + pct(worst) + " full", ev, fix);
        if (worst >= WARN_AT) return new Finding(c, Finding.WARN, "a conntrack table is " + pct(worst) + " full", ev, fix);
        return Finding.pass(c, "conntrack tables at most " + pct(worst) + " full", ev);
    }

    // --- DNS -------------------------------------------------------------------------------------

    /** Every pod's egress to the cluster DNS (pods labelled k8s-app=kube-dns, or a stand-in) on UDP 53, through the policy engine. */
    static Finding dnsEgress(Model m) {
        String c = "dns-egress";
        List<Pod> dns = m.pods.stream().filter(Checks::isDns).toList();
        PolicyAnalysis analysis = m.analysis;
        String target;
        List<String> ev = new ArrayList<>();
        if (dns.isEmpty()) {
            // a stand-in CoreDNS pod, as a cluster has one: kube-system/coredns, k8s-app=kube-dns, at an
            // address no pod or Service range of the lab uses (it matters only to ipBlock rules)
            Pod standIn = new Pod("kube-system", "coredns", Map.of("k8s-app", "kube-dns"), "", "10.255.255.253", List.of());
            var engine = new PolicyEngine(m.engine.config());
            engine.load(m.engine.inputs().withPods(List.of(standIn)));
            analysis = new PolicyAnalysis(engine);
            target = standIn.key();
            ev.add("no pod labelled k8s-app=kube-dns: checked against a stand-in kube-system/coredns with that label");
        } else {
            target = dns.getFirst().key();
        }
        List<String> blocked = new ArrayList<>();
        int checked = 0;
        for (Pod p : m.pods) {
            if (isDns(p)) continue;
            checked++;
            var t = analysis.trace(p.key(), target, "53", Protocol.UDP, null);
            if (!t.verdict().equals("allow")) blocked.add(p.key() + " -> " + target + " UDP 53: " + t.reason());
        }
        if (!blocked.isEmpty()) {
            List<String> all = new ArrayList<>(capped(blocked));
            all.addAll(ev);
            return new Finding(c, Finding.FAIL, blocked.size() + " of " + checked + " pods cannot reach the cluster DNS", all,
                    "add an egress rule to those pods' policies: to pods k8s-app=kube-dns in namespace kube-system, UDP and TCP port 53");
        }
        ev.addFirst(checked + " pods may send UDP 53 to " + target);
        return Finding.pass(c, "every pod may reach the cluster DNS", ev);
    }

    static boolean isDns(Pod p) { return "kube-dns".equals(p.labels().get("k8s-app")); }

    /** Pods whose dnsConfig raises ndots above Kubernetes' 5: every name with fewer dots tries each search domain first. */
    static Finding dnsNdots(Model m) {
        String c = "dns-ndots";
        List<String> high = new ArrayList<>();
        int set = 0;
        for (KubeObject o : m.objects) {
            if (!o.kind().equals(Kinds.POD)) continue;
            for (JsonNode opt : o.body().json().path("spec").path("dnsConfig").path("options")) {
                if (!opt.path("name").asString("").equals("ndots")) continue;
                set++;
                int n = parseInt(opt.path("value").asString(opt.path("value").toString()));
                if (n > 5) high.add(o.namespace() + "/" + o.name() + ": ndots " + n);
            }
        }
        if (!high.isEmpty())
            return new Finding(c, Finding.WARN, high.size() + " pods set ndots above 5", capped(high),
                    "lower ndots in spec.dnsConfig.options (2 is common) or use fully qualified names ending in '.'; "
                            + "each lookup otherwise tries every search domain first");
        return Finding.pass(c, set == 0 ? "no pod raises ndots (Kubernetes' default 5 applies)" : "ndots at most 5", List.of());
    }

    // --- Service CIDR ----------------------------------------------------------------------------

    static Finding serviceCidr(AuditInput in, Model m) {
        String c = "service-cidr";
        Cidr svc = in.values().serviceCIDR();
        List<String> bad = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        int mask = in.values().clusterPoolIPv4MaskSize();
        for (Cidr pool : in.values().clusterPoolIPv4PodCIDRList()) {
            if (!pool.overlaps(svc)) continue;
            // node subnets are handed out in order: say when the pool would first reach the Service range
            long first = svc.prefixLength() >= pool.prefixLength()
                    ? (Integer.toUnsignedLong(svc.network()) - Integer.toUnsignedLong(pool.network())) >>> (32 - mask) : 0;
            notes.add("pod CIDR pool " + pool + " contains serviceCIDR " + svc + ": node subnet #" + (first + 1) + " (/" + mask
                    + ") would be inside it");
        }
        for (ClusterNode n : m.nodes) {
            for (Cidr pc : n.podCIDRs()) if (pc.overlaps(svc)) bad.add(n.name() + "'s pod CIDR " + pc + " overlaps serviceCIDR " + svc);
            if (!n.internalIP().isEmpty() && svc.contains(Cidr.parse(n.internalIP()).network()))
                bad.add(n.name() + "'s InternalIP " + n.internalIP() + " is inside serviceCIDR " + svc);
        }
        // the cluster's own routes: to a node's pod CIDR (or a pod in it)
        List<Cidr> podCidrs = new ArrayList<>();
        for (var n : in.nodes()) if (!n.podCIDR().isEmpty()) podCidrs.add(Cidr.parse(n.podCIDR()));
        for (ClusterNode n : m.nodes) podCidrs.addAll(n.podCIDRs());
        for (var n : in.nodes()) {
            for (String r : n.routes()) {
                Cidr dst = routeCidr(r);
                if (dst == null || dst.prefixLength() == 0 || podCidrs.stream().anyMatch(pc -> pc.contains(dst))) continue;
                if (dst.overlaps(svc)) bad.add(n.node() + " routes " + r.strip() + ": overlaps serviceCIDR " + svc);
            }
        }
        if (!bad.isEmpty()) {
            List<String> ev = new ArrayList<>(bad);
            ev.addAll(notes);
            return new Finding(c, Finding.FAIL, "serviceCIDR " + svc + " overlaps " + bad.size() + " range(s) in use", capped(ev),
                    "choose a serviceCIDR (kube-apiserver --service-cluster-ip-range) disjoint from pod CIDRs, node addresses and every "
                            + "network the nodes route to; check with ip route on each node");
        }
        return Finding.pass(c, "serviceCIDR " + svc + " is disjoint from the nodes' pod CIDRs" + (in.live() ? " and routes" : ""), capped(notes));
    }

    static Cidr routeCidr(String route) {
        String first = route.strip().split("\\s+")[0];
        if (first.equals("default")) return null;
        try {
            return Cidr.parse(first.contains("/") ? first : first + "/32");
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    // --- NodePort exposure -----------------------------------------------------------------------

    /** NodePort and LoadBalancer Services whose backends admit the world on the target port. */
    static Finding nodePortExposure(Model m) {
        String c = "nodeport-exposure";
        List<String> open = new ArrayList<>();
        int external = 0;
        for (Service s : m.services) {
            if (s.type() == Service.Type.ClusterIP) continue;
            external++;
            for (Pod p : m.pods) {
                if (!s.selects(p)) continue;
                for (var sp : s.ports()) {
                    String port = !sp.targetPortName().isEmpty() ? sp.targetPortName() : Integer.toString(sp.targetPort() > 0 ? sp.targetPort() : sp.port());
                    var t = m.analysis.trace(WORLD_ADDRESS, p.key(), port, sp.protocol(), null);
                    if (t.verdict().equals("allow"))
                        open.add(s.displayName() + " (" + s.type() + (sp.nodePort() > 0 ? " " + sp.nodePort() : "") + ") -> " + p.key() + ":" + port
                                + "/" + sp.protocol() + " admits the world: " + t.reason());
                }
            }
        }
        if (!open.isEmpty())
            return new Finding(c, Finding.FAIL, open.size() + " Service port(s) reachable from anywhere", capped(open),
                    "add an ingress policy to the backends admitting only trusted sources (ipBlock / fromCIDR), or keep the Service "
                            + "ClusterIP behind an ingress controller or a load balancer with source ranges");
        return Finding.pass(c, external == 0 ? "no NodePort or LoadBalancer Service" : external + " NodePort/LoadBalancer Service(s), none open to the world", List.of());
    }

    // --- default deny ----------------------------------------------------------------------------

    static Finding defaultDeny(Model m) {
        String c = "default-deny";
        Set<String> covered = new TreeSet<>();
        boolean clusterwide = false;
        for (KubeObject o : m.policies) {
            JsonNode spec = o.body().json().path("spec");
            switch (o.kind()) {
                case Kinds.NETWORK_POLICY -> {
                    boolean ingressType = !spec.has("policyTypes") || spec.path("policyTypes").toString().contains("\"Ingress\"");
                    boolean allowsAll = false;
                    for (JsonNode r : spec.path("ingress")) if (r.path("from").isEmpty() && r.path("ports").isEmpty()) allowsAll = true;
                    if (emptySelector(spec.path("podSelector")) && ingressType && !allowsAll) covered.add(o.namespace());
                }
                case Kinds.CILIUM_NETWORK_POLICY, Kinds.CILIUM_CLUSTERWIDE_NETWORK_POLICY -> {
                    if (emptySelector(spec.path("endpointSelector")) && (spec.has("ingress") || spec.has("ingressDeny"))) {
                        if (o.namespace().isEmpty()) clusterwide = true;
                        else covered.add(o.namespace());
                    }
                }
                default -> { }
            }
        }
        List<String> missing = new ArrayList<>();
        for (String ns : m.podNamespaces) if (!SYSTEM_NAMESPACES.contains(ns) && !covered.contains(ns) && !clusterwide) missing.add(ns);
        if (!missing.isEmpty())
            return new Finding(c, Finding.WARN, missing.size() + " namespace(s) without a default deny: " + String.join(", ", capped(missing)),
                    capped(missing.stream().map(ns -> ns + ": no policy with an empty podSelector isolates every pod for ingress").toList()),
                    "apply a default deny to each: NetworkPolicy with podSelector: {} and policyTypes: [Ingress, Egress], then allow "
                            + "what each workload needs (and DNS egress)");
        return Finding.pass(c, clusterwide ? "a clusterwide policy isolates every pod" : "every namespace has a default deny", List.copyOf(covered));
    }

    static boolean emptySelector(JsonNode sel) {
        return sel.isMissingNode() || sel.isNull() || (sel.path("matchLabels").isEmpty() && sel.path("matchExpressions").isEmpty());
    }

    // --- kube-proxy ------------------------------------------------------------------------------

    static Finding kubeProxy(AuditInput in) {
        String c = "kube-proxy";
        if (!in.live()) return Finding.skip(c, "kube-proxy's chains are looked for in each node's netfilter tables: needs a live lab (--name)");
        List<String> seen = new ArrayList<>();
        for (var n : in.nodes()) for (String r : n.kubeProxyRules()) seen.add(n.node() + ": " + r);
        if (!in.values().kubeProxyReplacement())
            return Finding.pass(c, "kubeProxyReplacement is off: kube-proxy handles Services", seen);
        if (!seen.isEmpty())
            return new Finding(c, Finding.FAIL, "kube-proxy's chains are still on " + seen.stream().map(x -> x.split(":")[0]).distinct().count()
                    + " node(s) beside Sluice's replacement", capped(seen),
                    "remove kube-proxy (kubectl -n kube-system delete ds kube-proxy) and flush its chains on every node "
                            + "(kube-proxy --cleanup, or iptables-save | grep -v KUBE | iptables-restore and nft delete table ip kube-proxy)");
        return Finding.pass(c, "no kube-proxy chains on any node", List.of());
    }

    // --- identity labels -------------------------------------------------------------------------

    /**
     * Identity labels that split pods which would otherwise share an identity: a key whose value is
     * different on every pod of a group that has all other identity labels in common.
     */
    static Finding identityLabels(AuditInput in, Model m) {
        String c = "identity-labels";
        LabelFilter filter = LabelFilter.of(in.values().identityLabels());
        Map<String, List<Map<String, String>>> byNamespace = new TreeMap<>();
        for (Pod p : m.pods) byNamespace.computeIfAbsent(p.namespace(), k -> new ArrayList<>()).add(filter.apply(p.labels()));
        List<String> found = new ArrayList<>();
        for (var e : byNamespace.entrySet()) {
            Set<String> keys = new TreeSet<>();
            e.getValue().forEach(l -> keys.addAll(l.keySet()));
            for (String key : keys) {
                Map<Map<String, String>, List<String>> groups = new HashMap<>();
                for (var l : e.getValue()) {
                    if (!l.containsKey(key)) continue;
                    Map<String, String> rest = new TreeMap<>(l);
                    rest.remove(key);
                    if (rest.isEmpty()) continue;
                    groups.computeIfAbsent(rest, k -> new ArrayList<>()).add(l.get(key));
                }
                for (var g : groups.entrySet()) {
                    if (g.getValue().size() < 2 || new HashSet<>(g.getValue()).size() != g.getValue().size()) continue;
                    found.add(e.getKey() + ": label " + key + " gives " + g.getValue().size() + " pods with " + g.getKey()
                            + " one identity each (" + String.join(", ", g.getValue().stream().sorted().limit(3).toList())
                            + (g.getValue().size() > 3 ? ", ..." : "") + ")");
                }
            }
        }
        if (!found.isEmpty())
            return new Finding(c, Finding.WARN, found.size() + " high-cardinality label(s) in identities", capped(found),
                    "exclude them from identities with the values key labels (e.g. labels: [\"!" + found.getFirst().split("label ")[1].split(" ")[0]
                            + "\"]); per-pod labels make one identity per pod, grow the policy maps and renumber on every rollout");
        return Finding.pass(c, "no label splits pods that share their other labels (excluded by default: "
                + String.join(", ", LabelFilter.DEFAULT_EXCLUDE.subList(0, 3)) + ", ...)", List.of());
    }

    // --- helpers ---------------------------------------------------------------------------------

    static String pct(double f) { return Math.round(f * 100) + "%"; }

    static List<String> capped(List<String> l) {
        if (l.size() <= MAX_EVIDENCE) return l;
        List<String> out = new ArrayList<>(l.subList(0, MAX_EVIDENCE));
        out.add("... and " + (l.size() - MAX_EVIDENCE) + " more");
        return out;
    }

    private static int parseInt(String s) {
        try {
            return Integer.parseInt(s.replace("\"", "").strip());
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
