package dev.sluice.l2;

import dev.sluice.k8s.ClusterNode;
import dev.sluice.k8s.L2AnnouncementPolicy;
import dev.sluice.lb.Frontend;
import dev.sluice.lb.ServiceLb;
import dev.sluice.net.Ip;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Which Service addresses one node may announce (answer ARP for), and on which interfaces: a pure
 * function of the CiliumL2AnnouncementPolicies, the Services as the LB model computed them, the node
 * and its interfaces. Whether the node does announce them is the Service's lease's business (one
 * holder per Service among the nodes this function names).
 *
 * <p>A node is a candidate for a Service's address when a policy selects the Service and the node,
 * asks for that kind of address ({@code loadBalancerIPs}: the LoadBalancer frontends,
 * {@code externalIPs}: the ExternalIP frontends; only addresses the model programmed a frontend
 * for, so a refused external IP or an unallocated LoadBalancer address is never announced), and
 * allows at least one of the node's interfaces. Several policies add up: their interfaces are
 * united. With externalTrafficPolicy Local, only a node with a ready local backend for the address
 * is a candidate, as in Cilium: another node would answer and then drop the traffic.
 */
public final class L2Selection {
    private L2Selection() {}

    /** A Service address this node may announce. */
    public record Announcement(String service, int address, Frontend.Type type, List<String> interfaces, List<String> policies) {
        public Announcement {
            interfaces = List.copyOf(interfaces);
            policies = List.copyOf(policies);
        }

        @Override public String toString() {
            return service + " " + Ip.format(address) + " " + type.text + " on " + String.join(",", interfaces) + " (policy " + String.join(",", policies) + ")";
        }
    }

    /**
     * The announcements {@code node} may make, ordered by Service then address.
     *
     * @param interfaces the node's interfaces that can answer ARP (the uplink the data path is attached to)
     */
    public static List<Announcement> forNode(Collection<L2AnnouncementPolicy> policies, Collection<ServiceLb> services, ClusterNode node,
                                             List<String> interfaces) {
        List<L2AnnouncementPolicy> mine = policies.stream().filter(p -> p.selects(node)).sorted(Comparator.comparing(L2AnnouncementPolicy::name)).toList();
        List<Announcement> out = new ArrayList<>();
        if (mine.isEmpty()) return out;
        List<ServiceLb> sorted = services.stream().sorted(Comparator.comparing(ServiceLb::service)).toList();
        for (ServiceLb s : sorted) {
            // address -> (type, interfaces, policies)
            Map<Integer, Frontend.Type> types = new TreeMap<>(Integer::compareUnsigned);
            Map<Integer, TreeSet<String>> ifaces = new LinkedHashMap<>();
            Map<Integer, TreeSet<String>> names = new LinkedHashMap<>();
            Map<Integer, Boolean> served = addresses(s, node.name());
            for (L2AnnouncementPolicy p : mine) {
                if (!p.selects(s.spec())) continue;
                List<String> allowed = p.interfacesOf(interfaces);
                if (allowed.isEmpty()) continue;
                for (Frontend f : s.frontends()) {
                    boolean wanted = f.type() == Frontend.Type.LOAD_BALANCER ? p.loadBalancerIPs() : f.type() == Frontend.Type.EXTERNAL_IP && p.externalIPs();
                    if (!wanted || !served.getOrDefault(f.ip(), false)) continue;
                    types.putIfAbsent(f.ip(), f.type());
                    ifaces.computeIfAbsent(f.ip(), k -> new TreeSet<>()).addAll(allowed);
                    names.computeIfAbsent(f.ip(), k -> new TreeSet<>()).add(p.name());
                }
            }
            for (var e : types.entrySet()) {
                List<String> inOrder = interfaces.stream().filter(ifaces.get(e.getKey())::contains).toList();
                out.add(new Announcement(s.service(), e.getKey(), e.getValue(), inOrder, List.copyOf(names.get(e.getKey()))));
            }
        }
        return out;
    }

    /**
     * Per LoadBalancer or external address of the Service, whether this node can serve it: always,
     * unless externalTrafficPolicy is Local and no frontend for this node has a backend.
     */
    private static Map<Integer, Boolean> addresses(ServiceLb s, String node) {
        Map<Integer, Boolean> out = new TreeMap<>(Integer::compareUnsigned);
        for (Frontend f : s.frontends()) {
            if (f.type() != Frontend.Type.LOAD_BALANCER && f.type() != Frontend.Type.EXTERNAL_IP) continue;
            if (!f.node().isEmpty() && !f.node().equals(node)) continue;
            boolean ok = !s.spec().externalLocal() || !f.backends().isEmpty();
            out.merge(f.ip(), ok, Boolean::logicalOr);
        }
        return out;
    }

    /** The Services among {@code announcements}, each once, in order: one lease each. */
    public static List<String> services(List<Announcement> announcements) {
        return announcements.stream().map(Announcement::service).distinct().toList();
    }

    /** The name of a Service's lease, as Cilium names it: {@code cilium-l2announce-<namespace>-<name>}. */
    public static String leaseName(String service) {
        return "cilium-l2announce-" + service.replace('/', '-');
    }

    /** One line per announcement, for golden files and logs. */
    public static String text(List<Announcement> announcements) {
        var sb = new StringBuilder();
        announcements.forEach(a -> sb.append(a).append('\n'));
        return sb.toString();
    }
}
