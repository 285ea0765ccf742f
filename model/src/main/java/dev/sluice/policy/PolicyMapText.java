package dev.sluice.policy;

import dev.sluice.identity.Identity;
import dev.sluice.net.Cidr;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * A stable, sorted text rendering of policy map state, for golden tests, {@code sluice policy}
 * output and data path dumps. One line per identity, per endpoint and per entry:
 * <pre>
 * identity 4660 k8s:io.kubernetes.pod.namespace=x;pod=a;...
 * endpoint x/a identity=4660 ingress=enforced egress=open audit=off
 *   ingress peer=any proto=any port=any allow  # NetworkPolicy x/p spec.ingress[0]
 *   ingress peer=id:4661 proto=TCP port=80-81 allow  # ...
 *   egress peer=cidr:10.0.0.0/8!10.1.0.0/16(id:16777300) proto=UDP port=53 deny  # ...
 *   ingress peer=id:4661 proto=TCP port=80 redirect http{method=GET path=/public} # ...
 * </pre>
 */
public final class PolicyMapText {
    private PolicyMapText() {}

    public static String render(PolicyResult r) {
        StringBuilder sb = new StringBuilder();
        for (Identity i : r.identities()) if (!i.isReserved()) sb.append("identity ").append(i.id()).append(' ').append(i.labels().canonical()).append('\n');
        for (EndpointPolicy e : r.endpoints().values()) sb.append(render(e));
        return sb.toString();
    }

    public static String render(EndpointPolicy e) {
        StringBuilder sb = new StringBuilder();
        PolicyState s = e.state();
        sb.append("endpoint ").append(e.endpoint()).append(" identity=").append(e.identity())
                .append(" ingress=").append(s.ingressEnforced() ? "enforced" : "open")
                .append(" egress=").append(s.egressEnforced() ? "enforced" : "open")
                .append(" audit=").append(s.audit() ? "on" : "off").append('\n');
        for (var en : new TreeMap<>(s.entries()).entrySet()) sb.append("  ").append(line(en.getKey(), en.getValue())).append('\n');
        return sb.toString();
    }

    public static String line(PolicyKey k, PolicyValue v) {
        StringBuilder sb = new StringBuilder();
        sb.append(k.direction().word()).append(" peer=").append(peer(k))
                .append(" proto=").append(proto(k.protocol())).append(" port=").append(k.ports())
                .append(' ').append(v.verdict().word());
        if (v.l7() == L7Kind.DNS) sb.append(" l7=dns");
        for (HttpRule h : v.http()) sb.append(' ').append(h);
        for (DnsRule d : v.dns()) sb.append(' ').append(d);
        sb.append("  # ").append(String.join(", ", v.origins()));
        return sb.toString();
    }

    public static String peer(PolicyKey k) {
        if (k.cidr() == null) return k.identity() == 0 ? "any" : "id:" + k.identity();
        String ex = k.except().isEmpty() ? "" : "!" + k.except().stream().map(Cidr::toString).collect(Collectors.joining("!"));
        return "cidr:" + k.cidr() + ex + "(id:" + k.identity() + ")";
    }

    public static String proto(int p) {
        return switch (p) {
            case 0 -> "any";
            case 6 -> "TCP";
            case 17 -> "UDP";
            case 132 -> "SCTP";
            default -> Integer.toString(p);
        };
    }

    /** Lines of a delta map, for logs and tests. */
    public static List<String> render(Map<String, Delta> deltas) {
        List<String> out = new ArrayList<>();
        for (var e : deltas.entrySet()) {
            for (Delta.Entry x : e.getValue().removed()) out.add(e.getKey() + " - " + line(x.key(), x.value()));
            for (Delta.Entry x : e.getValue().added()) out.add(e.getKey() + " + " + line(x.key(), x.value()));
        }
        return out;
    }
}
