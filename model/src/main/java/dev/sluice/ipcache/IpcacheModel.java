package dev.sluice.ipcache;

import dev.sluice.config.Values;
import dev.sluice.k8s.ClusterNode;
import dev.sluice.k8s.Pod;
import dev.sluice.net.Cidr;
import dev.sluice.net.Ip;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.ToIntFunction;

/**
 * The desired ipcache of one node: every known address or prefix to its security identity and, for
 * what lives on other nodes, the node to tunnel to. Pure and deterministic.
 */
public final class IpcacheModel {
    public static final int HOST = 1, WORLD = 2, REMOTE_NODE = 6;
    public static final int FLAG_LOCAL_NODE = 1, FLAG_POD_CIDR = 2;

    /** One ipcache value; {@code tunnelEndpoint} 0 when the destination is local or not behind a tunnel. */
    public record Entry(int identity, int tunnelEndpoint, int flags) {}

    private IpcacheModel() {}

    /**
     * @param identities the security identity of each pod (by ns/name)
     */
    public static Map<Cidr, Entry> compute(String self, List<ClusterNode> nodes, List<Pod> pods, ToIntFunction<Pod> identities,
                                           Values.RoutingMode mode) {
        Map<Cidr, Entry> out = new TreeMap<>();
        Map<String, Integer> nodeIps = new TreeMap<>();
        for (ClusterNode n : nodes) {
            if (n.internalIP().isEmpty()) continue;
            int ip = Ip.parse(n.internalIP());
            nodeIps.put(n.name(), ip);
            boolean local = n.name().equals(self);
            // In tunnel mode pods reach other nodes' addresses through the tunnel too: no pod source
            // is ever legitimate unencapsulated on the wire, so the uplink can refuse all of them.
            int tunnel = !local && mode == Values.RoutingMode.TUNNEL ? ip : 0;
            out.put(new Cidr(ip, 32), new Entry(local ? HOST : REMOTE_NODE, tunnel, local ? FLAG_LOCAL_NODE : 0));
            if (!local) {
                // Before a remote pod is known, its node's whole CIDR still routes to that node.
                for (Cidr c : n.podCIDRs()) out.put(c, new Entry(WORLD, mode == Values.RoutingMode.TUNNEL ? ip : 0, FLAG_POD_CIDR));
            }
        }
        for (Pod p : pods) {
            if (p.podIP().isEmpty() || !Ip.isIpv4(p.podIP())) continue;
            Integer nodeIp = nodeIps.get(p.nodeName());
            boolean remote = nodeIp != null && !p.nodeName().equals(self);
            int tunnel = remote && mode == Values.RoutingMode.TUNNEL ? nodeIp : 0;
            out.put(new Cidr(Ip.parse(p.podIP()), 32), new Entry(identities.applyAsInt(p), tunnel, 0));
        }
        return out;
    }
}
