package dev.sluice.policy;

import dev.sluice.identity.Reserved;
import dev.sluice.k8s.ContainerPort;
import dev.sluice.k8s.Pod;
import dev.sluice.k8s.Protocol;
import dev.sluice.net.Cidr;
import dev.sluice.net.Ip;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Offline questions on a computed engine: the reachability matrix, the trace of one connection,
 * and a plain-words explanation per pod. A connection between pods is allowed when the source's
 * egress and the destination's ingress both allow it. A pod reaching itself is always allowed:
 * that traffic goes over the pod's own loopback and never reaches a data path, which is also what
 * the Kubernetes network policy e2e tests expect (their reachability tables allow loopback).
 */
public final class PolicyAnalysis {
    private final PolicyEngine engine;

    public PolicyAnalysis(PolicyEngine engine) {
        this.engine = engine;
    }

    /** The reachability matrix; {@code port} is the number or the name given. */
    public record Matrix(Object port, String protocol, List<String> pods, Map<String, Map<String, String>> matrix) {}

    public Matrix matrix(String port, Protocol proto) {
        List<Pod> pods = new ArrayList<>(engine.pods());
        pods.sort(java.util.Comparator.comparing(Pod::key));
        Map<String, Map<String, String>> m = new LinkedHashMap<>();
        for (Pod src : pods) {
            Map<String, String> row = new LinkedHashMap<>();
            for (Pod dst : pods) {
                Optional<Integer> p = resolvePort(dst, port, proto);
                boolean ok = p.isPresent() && (src == dst || egress(src, engine.identityOf(dst.key()), ip(dst), proto, p.get()).allowed()
                        && ingress(dst, engine.identityOf(src.key()), ip(src), proto, p.get(), null).allowed());
                row.put(dst.key(), ok ? "allow" : "deny");
            }
            m.put(src.key(), row);
        }
        Object portValue = port.matches("\\d+") ? (Object) Integer.parseInt(port) : port;
        return new Matrix(portValue, proto.name(), pods.stream().map(Pod::key).toList(), m);
    }

    /** A number, or a name resolved against the destination's container ports. */
    public static Optional<Integer> resolvePort(Pod dst, String port, Protocol proto) {
        if (port.matches("\\d+")) return Optional.of(Integer.parseInt(port));
        if (dst == null) return Optional.empty();
        return dst.namedPort(port, proto).map(ContainerPort::port);
    }

    static Integer ip(Pod p) {
        return Ip.isIpv4(p.podIP()) ? Ip.parse(p.podIP()) : null;
    }

    private PolicyState.Decision egress(Pod src, int peerId, Integer peerIp, Protocol proto, int port) {
        return egress(src, peerId, peerIp, proto, port, null);
    }

    private PolicyState.Decision egress(Pod src, int peerId, Integer peerIp, Protocol proto, int port, PolicyState.L7Request req) {
        return engine.endpoint(src.key()).state().decide(Direction.EGRESS, peerId, peerIp, proto.number, port, req);
    }

    private PolicyState.Decision ingress(Pod dst, int peerId, Integer peerIp, Protocol proto, int port, PolicyState.L7Request http) {
        return engine.endpoint(dst.key()).state().decide(Direction.INGRESS, peerId, peerIp, proto.number, port, http);
    }

    /** One side of a traced connection. */
    public record Hop(String endpoint, String direction, int identity, boolean enforced, List<String> policies,
                      String verdict, boolean allowed, String reason, List<String> matched) {}

    public record Trace(String from, String to, String protocol, Object port, Integer resolvedPort, String verdict,
                        Hop egress, Hop ingress, String reason) {}

    /**
     * Traces a connection. {@code from} and {@code to} are {@code ns/pod} or an address or CIDR
     * outside the cluster (its first address is used; an address that is a pod's IP is that pod).
     * {@code request} (optional) is what the proxies of both sides judge: an HTTP request, or a
     * DNS query (egress: may the source ask this server for the name). toFQDNs rules allow only
     * addresses the DNS proxy learned; offline none are known unless the inputs carry them, and a
     * denied egress says so (the live answer may be allow, never the other way round).
     */
    public Trace trace(String from, String to, String port, Protocol proto, PolicyState.L7Request http) {
        Pod src = endpointOrNull(from), dst = endpointOrNull(to);
        Integer srcIp = src != null ? ip(src) : address(from), dstIp = dst != null ? ip(dst) : address(to);
        int srcId = src != null ? engine.identityOf(src.key()) : Reserved.WORLD.id;
        int dstId = dst != null ? engine.identityOf(dst.key()) : Reserved.WORLD.id;
        Object portValue = port.matches("\\d+") ? (Object) Integer.parseInt(port) : port;
        Optional<Integer> p = resolvePort(dst, port, proto);
        if (p.isEmpty()) {
            String why = dst == null ? "named port " + port + " needs a pod destination" : to + " has no " + proto + " port named " + port;
            return new Trace(from, to, proto.name(), portValue, null, "deny", null, null, why);
        }
        Hop eg = null, in = null;
        if (src != null) {
            var d = egress(src, dstId, dstIp, proto, p.get(), http);
            eg = hop(src, Direction.EGRESS, d);
            var fqdns = engine.fqdnSelectors(src.key());
            if (!d.allowed() && !fqdns.isEmpty() && dst == null) { // toFQDNs never selects a pod's address
                List<String> known = new ArrayList<>();
                for (FqdnSelector f : fqdns) if (!engine.fqdnAddresses(f).isEmpty()) known.add(f.toString());
                String note = "; toFQDNs (" + String.join(", ", fqdns.stream().map(FqdnSelector::toString).toList()) + ") allow only addresses learned from DNS answers"
                        + (known.isEmpty() ? ", and none are known here (offline): where DNS resolves one of these names to this address the live answer is allow"
                        : " (known for " + String.join(", ", known) + ")");
                eg = new Hop(eg.endpoint(), eg.direction(), eg.identity(), eg.enforced(), eg.policies(), eg.verdict(), eg.allowed(), eg.reason() + note, eg.matched());
            }
        }
        if (dst != null) {
            var d = ingress(dst, srcId, srcIp, proto, p.get(), http);
            in = hop(dst, Direction.INGRESS, d);
        }
        boolean ok = (eg == null || eg.allowed()) && (in == null || in.allowed());
        String reason;
        if (!ok) reason = eg != null && !eg.allowed() ? "egress of " + from + ": " + eg.reason() : "ingress of " + to + ": " + in.reason();
        else reason = "allowed" + (eg != null ? "; egress: " + eg.reason() : "") + (in != null ? "; ingress: " + in.reason() : "");
        return new Trace(from, to, proto.name(), portValue, p.get(), ok ? "allow" : "deny", eg, in, reason);
    }

    private Hop hop(Pod p, Direction d, PolicyState.Decision dec) {
        EndpointPolicy ep = engine.endpoint(p.key());
        return new Hop(p.key(), d.word(), ep.identity(), ep.state().enforced(d), ep.state().policies(d),
                dec.verdict().word() + (dec.audited() ? " (audit)" : ""), dec.allowed(), dec.reason(), dec.matched());
    }

    private Pod endpointOrNull(String s) {
        if (s.contains("/") && !Character.isDigit(s.charAt(0))) {
            Pod p = engine.pod(s);
            if (p == null) throw new IllegalArgumentException(s + ": no such pod (expected: ns/name of a pod in the manifests, or an IPv4 address/CIDR)");
            return p;
        }
        Integer a = address(s);
        for (Pod p : engine.pods()) if (a.equals(ip(p))) return p;
        return null;
    }

    private static Integer address(String s) {
        try {
            return Cidr.parse(s).network();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(s + " (expected: ns/pod or an IPv4 address or CIDR)");
        }
    }

    /** What may reach a pod and what it may reach, in plain words. */
    public record Explanation(String pod, int identity, Side ingress, Side egress) {}

    public record Side(boolean enforced, List<String> policies, List<String> rules) {}

    public List<Explanation> explain(String only) {
        List<Explanation> out = new ArrayList<>();
        var sorted = new TreeMap<String, Pod>();
        for (Pod p : engine.pods()) sorted.put(p.key(), p);
        if (only != null && !sorted.containsKey(only)) throw new IllegalArgumentException(only + ": no such pod (expected: ns/name of a pod in the manifests)");
        for (Pod p : sorted.values()) {
            if (only != null && !p.key().equals(only)) continue;
            EndpointPolicy ep = engine.endpoint(p.key());
            out.add(new Explanation(p.key(), ep.identity(), side(p, ep, Direction.INGRESS), side(p, ep, Direction.EGRESS)));
        }
        return out;
    }

    private Side side(Pod p, EndpointPolicy ep, Direction d) {
        List<String> rules = new ArrayList<>();
        PolicyState s = ep.state();
        String mode = engine.config().enforcementMode();
        if (mode.equals("never")) rules.add("policy enforcement is off (policyEnforcementMode: never): everything is allowed");
        else if (!s.enforced(d)) rules.add("no policy isolates " + d.word() + (mode.equals("always") ? "" : ": everything is allowed") + " unless denied below");
        else rules.add((d == Direction.INGRESS ? "isolated for ingress: only what is allowed below may reach it" : "isolated for egress: it may reach only what is allowed below")
                + (s.audit() ? " (audit mode: drops are only reported)" : ""));
        for (Rule r : engine.rulesFor(p.key())) {
            if (r.direction() != d || r.marker()) continue;
            StringBuilder sb = new StringBuilder(r.describe());
            List<String> peers = new ArrayList<>();
            for (Peer pe : r.peers()) if (pe instanceof Peer.Selected sel) for (int id : engine.selectedBy(sel.selector())) {
                List<String> names = engine.podsOf(id);
                if (names.isEmpty()) peers.add(engine.identityLabels(id).isReserved() ? "reserved:" + engine.identityLabels(id).reserved() : "id:" + id);
                else peers.addAll(names);
            }
            if (!r.peers().isEmpty() && r.peers().stream().allMatch(x -> x instanceof Peer.Selected))
                sb.append(peers.isEmpty() ? " (matches no pod now)" : " (now: " + String.join(", ", new java.util.TreeSet<>(peers)) + ")");
            List<String> learned = new ArrayList<>();
            boolean fqdn = false;
            for (Peer pe : r.peers()) if (pe instanceof Peer.Fqdn f) {
                fqdn = true;
                for (int ip : engine.fqdnAddresses(f.selector())) learned.add(Ip.format(ip));
            }
            if (fqdn) sb.append(learned.isEmpty() ? " (no address learned from DNS: allows nothing now)" : " (learned now: " + String.join(", ", learned) + ")");
            sb.append(" [").append(r.origin()).append(']');
            rules.add(sb.toString());
        }
        return new Side(s.enforced(d), s.policies(d), rules);
    }
}
