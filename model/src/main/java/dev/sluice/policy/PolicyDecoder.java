package dev.sluice.policy;

import dev.sluice.identity.IdentityLabels;
import dev.sluice.identity.Reserved;
import dev.sluice.k8s.Kinds;
import dev.sluice.k8s.KubeObject;
import dev.sluice.k8s.Node;
import dev.sluice.k8s.Protocol;
import dev.sluice.net.Cidr;
import dev.sluice.selector.LabelSelector;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Decodes NetworkPolicy (networking.k8s.io/v1), CiliumNetworkPolicy and
 * CiliumClusterwideNetworkPolicy (cilium.io/v2) into {@link Policy}. Every problem is a
 * {@link dev.sluice.k8s.ManifestException} naming file, object and field. Rules Sluice does not
 * enforce yet are rejected, never widened to allow more.
 */
public final class PolicyDecoder {
    private PolicyDecoder() {}

    static final Set<String> METADATA = Set.of("name", "namespace", "labels", "annotations", "uid",
            "resourceVersion", "generation", "creationTimestamp", "ownerReferences", "finalizers",
            "generateName", "managedFields", "deletionTimestamp", "deletionGracePeriodSeconds");
    private static final Pattern PORT_NAME = Pattern.compile("[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?");
    /** Cilium entities Sluice understands; world-ipv4 is world (IPv4 only). */
    public static final List<String> ENTITIES = List.of("all", "world", "world-ipv4", "cluster", "host", "remote-node",
            "health", "init", "kube-apiserver", "unmanaged", "ingress");
    private static final String UNSUPPORTED = "not supported yet by Sluice (the policy is rejected rather than enforced wider)";

    public static boolean isPolicy(KubeObject o) {
        return switch (o.kind()) {
            case Kinds.NETWORK_POLICY, Kinds.CILIUM_NETWORK_POLICY, Kinds.CILIUM_CLUSTERWIDE_NETWORK_POLICY -> true;
            default -> false;
        };
    }

    public static Policy decode(KubeObject o) {
        return switch (o.kind()) {
            case Kinds.NETWORK_POLICY -> networkPolicy(o);
            case Kinds.CILIUM_NETWORK_POLICY, Kinds.CILIUM_CLUSTERWIDE_NETWORK_POLICY -> cilium(o);
            default -> throw o.body().error("kind", o.kind() + " (expected: a policy kind)");
        };
    }

    // ---- Kubernetes NetworkPolicy ----

    static Policy networkPolicy(KubeObject o) {
        Node b = o.body();
        b.allowOnly("apiVersion", "kind", "metadata", "spec", "status");
        b.get("metadata").allowOnly(METADATA);
        String name = o.displayName();
        String ns = o.namespace();
        Node spec = b.get("spec");
        if (spec.isNull()) throw b.error("spec", "missing (expected: an object with podSelector)");
        spec.requireObject().allowOnly("podSelector", "policyTypes", "ingress", "egress");
        LabelSelector podSel = LabelSelector.decode(spec.get("podSelector"));
        var subject = new Rule.Subject(ns, podSel, false, false);
        boolean ingressType = true, egressType = !spec.list("egress").isEmpty();
        if (spec.has("policyTypes")) {
            List<Node> types = spec.list("policyTypes");
            ingressType = egressType = false;
            for (Node t : types) {
                String s = t.oneOf("Ingress", "Egress");
                if (s.equals("Ingress")) ingressType = true; else egressType = true;
            }
            if (types.isEmpty()) throw spec.error("policyTypes", "empty (expected: Ingress, Egress or both)");
        }
        List<Rule> rules = new ArrayList<>();
        // Decode both sections even when policyTypes leaves one out, so bad input is still reported.
        for (Direction d : Direction.values()) {
            boolean on = d == Direction.INGRESS ? ingressType : egressType;
            String section = d.word();
            if (on) rules.add(new Rule(name, spec.path().isEmpty() ? "spec.policyTypes" : spec.path() + ".policyTypes", d, false, true, subject, false, List.of(), List.of()));
            for (Node r : spec.list(section)) {
                String peerField = d == Direction.INGRESS ? "from" : "to";
                r.requireObject().allowOnly(peerField, "ports");
                List<Node> peerNodes = r.list(peerField);
                List<Peer> peers = new ArrayList<>();
                for (Node p : peerNodes) peers.add(k8sPeer(p, ns));
                List<PortSpec> ports = new ArrayList<>();
                for (Node p : r.list("ports")) ports.add(k8sPort(p));
                if (on) rules.add(new Rule(name, r.path(), d, false, false, subject, peerNodes.isEmpty(), peers, ports));
            }
        }
        return new Policy(o.kind(), ns, o.name(), o.file(), rules);
    }

    private static Peer k8sPeer(Node p, String ns) {
        p.requireObject().allowOnly("podSelector", "namespaceSelector", "ipBlock");
        boolean pod = p.present("podSelector"), nsSel = p.present("namespaceSelector"), ip = p.present("ipBlock");
        if (ip && (pod || nsSel)) throw p.error("ipBlock", "given with a selector (expected: either ipBlock, or podSelector and/or namespaceSelector)");
        if (!ip && !pod && !nsSel) throw p.error("empty peer (expected: podSelector, namespaceSelector or ipBlock)");
        if (ip) {
            Node b = p.get("ipBlock").requireObject().allowOnly("cidr", "except");
            Cidr cidr = cidr(b.get("cidr"), true);
            List<Cidr> except = new ArrayList<>();
            for (Node e : b.list("except")) {
                Cidr x = cidr(e, true);
                if (!cidr.contains(x) || x.prefixLength() <= cidr.prefixLength())
                    throw e.error(x + " is not inside " + cidr + " (expected: a CIDR strictly inside the ipBlock cidr)");
                except.add(x);
            }
            return new Peer.Block(cidr, except);
        }
        LabelSelector podSel = pod ? LabelSelector.decode(p.get("podSelector")) : null;
        LabelSelector nsSelector = nsSel ? LabelSelector.decode(p.get("namespaceSelector")) : null;
        return new Peer.Selected(PeerSelector.k8s(ns, podSel, nsSelector));
    }

    private static PortSpec k8sPort(Node p) {
        p.requireObject().allowOnly("protocol", "port", "endPort");
        Protocol proto = Protocol.parse(p, "protocol", false);
        Node port = p.get("port");
        if (port.isNull()) {
            if (p.has("endPort")) throw p.error("endPort", "given without port (expected: a numeric port with endPort)");
            return new PortSpec(proto, PortRange.ANY, "", List.of());
        }
        if (isNumber(port)) {
            int start = (int) port.integer(1, 65535);
            int end = start;
            if (p.has("endPort")) {
                end = (int) p.get("endPort").integer(1, 65535);
                if (end < start) throw p.error("endPort", end + " is below port " + start + " (expected: endPort >= port)");
            }
            return new PortSpec(proto, new PortRange(start, end), "", List.of());
        }
        String name = portName(port);
        if (p.has("endPort")) throw p.error("endPort", "given with named port " + name + " (expected: a numeric port with endPort)");
        return new PortSpec(proto, PortRange.ANY, name, List.of());
    }

    private static boolean isNumber(Node n) {
        return n.json().isNumber() || (n.json().isString() && n.json().asString().matches("-?\\d+"));
    }

    private static String portName(Node n) {
        String s = n.string();
        if (!PORT_NAME.matcher(s).matches() || !s.matches(".*[a-z].*"))
            throw n.error("\"" + s + "\" (expected: a port number 1-65535 or a port name of at most 15 lower-case letters, digits and '-')");
        return s;
    }

    private static Cidr cidr(Node n, boolean required) {
        if (n.isNull()) throw n.error("missing (expected: an IPv4 CIDR a.b.c.d/n)");
        String s = n.string();
        if (s.contains(":")) throw n.error(s + " (expected: an IPv4 CIDR; IPv6 is not supported yet by Sluice)");
        try {
            return Cidr.parse(s);
        } catch (IllegalArgumentException e) {
            throw n.error(e.getMessage());
        }
    }

    // ---- Cilium ----

    static Policy cilium(KubeObject o) {
        Node b = o.body();
        b.allowOnly("apiVersion", "kind", "metadata", "spec", "specs", "status");
        b.get("metadata").allowOnly(METADATA);
        boolean clusterwide = o.kind().equals(Kinds.CILIUM_CLUSTERWIDE_NETWORK_POLICY);
        String ns = clusterwide ? "" : o.namespace();
        List<Node> specs = new ArrayList<>();
        if (b.has("spec")) specs.add(b.get("spec"));
        specs.addAll(b.list("specs"));
        if (specs.isEmpty()) throw b.error("spec", "missing (expected: spec or specs)");
        List<Rule> rules = new ArrayList<>();
        for (Node s : specs) ciliumSpec(o.displayName(), s, ns, clusterwide, rules);
        return new Policy(o.kind(), ns, o.name(), o.file(), rules);
    }

    private static void ciliumSpec(String name, Node s, String ns, boolean clusterwide, List<Rule> rules) {
        s.requireObject().allowOnly("endpointSelector", "nodeSelector", "ingress", "ingressDeny", "egress", "egressDeny",
                "labels", "description", "enableDefaultDeny");
        boolean hasEp = s.present("endpointSelector"), hasNode = s.present("nodeSelector");
        if (hasEp == hasNode) throw s.error("endpointSelector", (hasEp ? "given with nodeSelector" : "missing") + " (expected: exactly one of endpointSelector or nodeSelector)");
        if (hasNode && !clusterwide) throw s.error("nodeSelector", "in a namespaced CiliumNetworkPolicy (expected: nodeSelector only in CiliumClusterwideNetworkPolicy)");
        LabelSelector sel = hasEp ? LabelSelector.decode(s.get("endpointSelector"), PolicyDecoder::ciliumKey)
                : LabelSelector.decode(s.get("nodeSelector"), PolicyDecoder::ciliumKey);
        var subject = new Rule.Subject(ns, sel, true, hasNode);
        Node dd = s.get("enableDefaultDeny");
        if (!dd.isNull()) dd.requireObject().allowOnly("ingress", "egress");
        for (Direction d : Direction.values()) {
            String allowField = d.word(), denyField = d.word() + "Deny";
            List<Node> allow = s.list(allowField), deny = s.list(denyField);
            boolean defaultDeny = dd.isNull() || !dd.has(d.word()) ? !allow.isEmpty() || !deny.isEmpty() : dd.get(d.word()).bool();
            if (defaultDeny) rules.add(new Rule(name, s.path().isEmpty() ? allowField : s.path() + "." + allowField, d, false, true, subject, false, List.of(), List.of()));
            for (Node r : allow) rules.add(ciliumRule(name, r, d, false, ns, subject));
            for (Node r : deny) rules.add(ciliumRule(name, r, d, true, ns, subject));
        }
    }

    private static Rule ciliumRule(String name, Node r, Direction d, boolean deny, String ns, Rule.Subject subject) {
        r.requireObject();
        String pre = d == Direction.INGRESS ? "from" : "to";
        List<String> supported = d == Direction.INGRESS
                ? List.of("fromEndpoints", "fromCIDR", "fromCIDRSet", "fromEntities", "toPorts")
                : List.of("toEndpoints", "toCIDR", "toCIDRSet", "toEntities", "toFQDNs", "toPorts");
        List<String> unsupported = d == Direction.INGRESS
                ? List.of("fromRequires", "fromGroups", "fromNodes", "icmps", "authentication")
                : List.of("toServices", "toGroups", "toRequires", "toNodes", "icmps", "authentication");
        for (String f : r.fieldNames()) {
            if (d == Direction.INGRESS && (f.equals("toFQDNs") || f.equals("fromFQDNs")))
                throw r.error(f, "in an ingress rule (expected: toFQDNs only in egress rules; there is no FQDN selector for ingress)");
            if (f.equals("toFQDNs") && deny)
                throw r.error(f, "in an egressDeny rule (expected: toFQDNs only in egress allow rules; a deny by name cannot know every address of the name)");
            if (unsupported.contains(f)) throw r.error(f, UNSUPPORTED);
            if (!supported.contains(f)) {
                var all = new java.util.TreeSet<>(supported);
                all.addAll(unsupported);
                throw r.error(f, "unknown field (expected one of: " + String.join(", ", all) + ")");
            }
        }
        List<Peer> peers = new ArrayList<>();
        boolean any = false;
        for (Node e : r.list(pre + "Endpoints")) {
            LabelSelector sel = LabelSelector.decode(e, PolicyDecoder::ciliumKey);
            // A namespaced policy's endpoint selectors see only its own namespace, unless they name
            // a namespace (or a reserved identity) themselves.
            boolean free = ns.isEmpty() || sel.keys().contains(IdentityLabels.NAMESPACE_KEY)
                    || sel.keys().stream().anyMatch(k -> k.startsWith("reserved:"));
            peers.add(new Peer.Selected(PeerSelector.cilium(free ? "" : ns, sel)));
        }
        for (Node c : r.list(pre + "CIDR")) peers.add(new Peer.Block(cidr(c, true), List.of()));
        for (Node c : r.list(pre + "CIDRSet")) {
            c.requireObject();
            if (c.present("cidrGroupRef") || c.present("cidrGroupSelector")) throw c.error(c.present("cidrGroupRef") ? "cidrGroupRef" : "cidrGroupSelector", UNSUPPORTED);
            c.allowOnly("cidr", "except");
            Cidr cidr = cidr(c.get("cidr"), true);
            List<Cidr> except = new ArrayList<>();
            for (Node e : c.list("except")) {
                Cidr x = cidr(e, true);
                if (!cidr.contains(x)) throw e.error(x + " is not inside " + cidr + " (expected: a CIDR inside the cidr)");
                except.add(x);
            }
            peers.add(new Peer.Block(cidr, except));
        }
        if (r.present("toFQDNs")) {
            for (String other : List.of("toEndpoints", "toCIDR", "toCIDRSet", "toEntities"))
                if (r.present(other)) throw r.error("toFQDNs", "given with " + other + " (expected: toFQDNs as the rule's only peers, with optional toPorts; write another rule for " + other + ")");
            for (Node f : r.list("toFQDNs")) peers.add(new Peer.Fqdn(fqdnSelector(f)));
        }
        for (Node e : r.list(pre + "Entities")) {
            String ent = e.string();
            if (!ENTITIES.contains(ent)) throw e.error(ent + " (expected one of: " + String.join(", ", ENTITIES) + ")");
            if (ent.equals("all")) any = true;
            else peers.add(new Peer.Selected(PeerSelector.entity(ent.equals("world-ipv4") ? Reserved.WORLD.label : ent)));
        }
        List<PortSpec> ports = new ArrayList<>();
        List<Node> toPorts = r.list("toPorts");
        for (Node tp : toPorts) ciliumPorts(tp, d, deny, ports);
        // toFQDNs: [] selects nothing (like toEndpoints: []), never every peer.
        boolean l3 = r.present(pre + "Endpoints") || r.present(pre + "CIDR") || r.present(pre + "CIDRSet") || r.present(pre + "Entities")
                || r.present("toFQDNs");
        // An L4-only rule applies to every peer; a rule with nothing at all selects nothing.
        if (!l3 && !ports.isEmpty()) any = true;
        if (any) peers.clear();
        if (!toPorts.isEmpty() && ports.isEmpty()) ports.add(new PortSpec(null, PortRange.ANY, "", List.of()));
        return new Rule(name, r.path(), d, deny, false, subject, any, peers, ports);
    }

    private static void ciliumPorts(Node tp, Direction d, boolean deny, List<PortSpec> out) {
        tp.requireObject();
        for (String f : List.of("serverNames", "listener", "originatingTLS", "terminatingTLS"))
            if (tp.present(f)) throw tp.error(f, UNSUPPORTED);
        tp.allowOnly("ports", "rules");
        List<HttpRule> http = new ArrayList<>();
        List<DnsRule> dns = new ArrayList<>();
        L7Kind l7 = L7Kind.NONE;
        Node rules = tp.get("rules");
        if (!rules.isNull()) {
            if (deny) throw tp.error("rules", "in a deny rule (expected: L7 rules only in allow rules)");
            rules.requireObject();
            for (String f : List.of("kafka", "l7proto", "l7"))
                if (rules.present(f)) throw rules.error(f, UNSUPPORTED);
            rules.allowOnly("http", "dns");
            if (rules.present("http") && rules.present("dns"))
                throw rules.error("dns", "given with http (expected: one L7 kind per port rule, http or dns; write another toPorts entry)");
            if (rules.present("dns")) {
                if (d == Direction.INGRESS) throw rules.error("dns", "in an ingress rule (expected: DNS rules only in egress rules)");
                l7 = L7Kind.DNS;
                for (Node x : rules.list("dns")) dns.add(dnsRule(x));
                // Like http: [] below, an empty list proxies every name (Cilium would not proxy at all).
                if (dns.isEmpty()) dns.add(DnsRule.ANY);
            } else {
                l7 = L7Kind.HTTP;
                for (Node h : rules.list("http")) {
                    h.requireObject();
                    if (h.present("headerMatches")) throw h.error("headerMatches", UNSUPPORTED);
                    h.allowOnly("method", "path", "host", "headers");
                    List<String> headers = new ArrayList<>();
                    for (Node x : h.list("headers")) headers.add(x.string());
                    http.add(new HttpRule(regex(h, "method"), regex(h, "path"), regex(h, "host"), headers));
                }
                if (http.isEmpty()) http.add(HttpRule.ANY);
            }
        }
        String kind = l7 == L7Kind.DNS ? "DNS" : "L7";
        List<Node> ports = tp.list("ports");
        if (ports.isEmpty()) {
            if (l7 != L7Kind.NONE) throw tp.error("ports", "missing (expected: at least one port for " + kind + " rules, e.g. 53 for DNS)");
            out.add(new PortSpec(null, PortRange.ANY, "", List.of()));
            return;
        }
        for (Node p : ports) {
            p.requireObject().allowOnly("port", "endPort", "protocol");
            Protocol proto = null;
            if (p.has("protocol")) {
                String s = p.get("protocol").oneOf("TCP", "UDP", "SCTP", "ANY");
                proto = s.equals("ANY") ? null : Protocol.valueOf(s);
                if (l7 == L7Kind.DNS && proto == Protocol.SCTP)
                    throw p.error("protocol", "SCTP with DNS rules (expected: UDP, TCP or ANY for DNS rules)");
                if (l7 == L7Kind.HTTP && proto != null && proto != Protocol.TCP)
                    throw p.error("protocol", s + " with HTTP rules (expected: TCP or ANY for HTTP rules)");
            }
            Node port = p.get("port");
            if (port.isNull()) throw p.error("port", "missing (expected: a port number 0-65535 or a port name)");
            if (isNumber(port)) {
                int start = (int) port.integer(0, 65535);
                int end = start;
                if (p.has("endPort")) {
                    end = (int) p.get("endPort").integer(0, 65535);
                    if (end < start) throw p.error("endPort", end + " is below port " + start + " (expected: endPort >= port)");
                    if (start == 0) throw p.error("endPort", "given with port 0 (expected: a port 1-65535 with endPort)");
                }
                if (start == 0 && l7 != L7Kind.NONE) throw p.error("port", "0 (expected: a specific port for " + kind + " rules, e.g. 53 for DNS)");
                out.add(new PortSpec(proto, start == 0 ? PortRange.ANY : new PortRange(start, end), "", l7, http, dns));
            } else {
                String name = portName(port);
                if (p.has("endPort")) throw p.error("endPort", "given with named port " + name + " (expected: a numeric port with endPort)");
                out.add(new PortSpec(proto, PortRange.ANY, name, l7, http, dns));
            }
        }
    }

    /** One toFQDNs entry: exactly one of matchName, matchPattern (Cilium's FQDNSelector). */
    private static FqdnSelector fqdnSelector(Node f) {
        DnsRule r = dnsRule(f);
        return new FqdnSelector(r.matchName(), r.matchPattern());
    }

    /** One rules.dns entry (or toFQDNs entry): exactly one of matchName, matchPattern, valid and canonicalised. */
    private static DnsRule dnsRule(Node x) {
        x.requireObject().allowOnly("matchName", "matchPattern");
        boolean name = x.present("matchName"), pattern = x.present("matchPattern");
        if (name == pattern)
            throw x.error("matchName", (name ? "given with matchPattern" : "missing") + " (expected: exactly one of matchName or matchPattern)");
        String field = name ? "matchName" : "matchPattern";
        String v = x.get(field).string();
        String bad = DnsNames.problem(v, pattern);
        if (bad != null) throw x.error(field, "\"" + v + "\": " + bad);
        return name ? DnsRule.name(v) : DnsRule.pattern(v);
    }

    private static String regex(Node h, String field) {
        String s = h.string(field, "");
        try {
            Pattern.compile(s);
        } catch (PatternSyntaxException e) {
            throw h.error(field, "\"" + s + "\" (expected: a regular expression; " + e.getDescription() + ")");
        }
        return s;
    }

    /** Cilium label keys may carry a source: {@code k8s:} and {@code any:} are plain keys here. */
    static String ciliumKey(String k) {
        if (k.startsWith("k8s:")) return k.substring(4);
        if (k.startsWith("any:")) return k.substring(4);
        if (k.startsWith("reserved:")) {
            if (Reserved.byLabel(k.substring(9)) == null) throw new IllegalArgumentException("unknown reserved label (expected: reserved:host, reserved:world, ...)");
            return k;
        }
        int colon = k.indexOf(':');
        if (colon > 0 && !k.substring(0, colon).contains("/") && !k.substring(0, colon).contains("."))
            throw new IllegalArgumentException("label source " + k.substring(0, colon) + " (expected: k8s:, any:, reserved: or none)");
        return k;
    }
}
