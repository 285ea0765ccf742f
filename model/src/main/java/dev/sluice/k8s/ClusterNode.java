package dev.sluice.k8s;

import dev.sluice.net.Cidr;
import dev.sluice.net.Ip;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A Kubernetes Node as networking sees it: its InternalIP (status.addresses) and pod CIDRs
 * (spec.podCIDRs, or spec.podCIDR), which the cluster-pool IPAM assigns.
 */
public record ClusterNode(String name, Map<String, String> labels, String internalIP, List<Cidr> podCIDRs) {

    public static ClusterNode decode(KubeObject o) {
        Node b = o.body();
        b.allowOnly("apiVersion", "kind", "metadata", "spec", "status");
        Node spec = b.get("spec");
        spec.allowOnly("podCIDR", "podCIDRs", "providerID", "unschedulable", "taints");
        List<Cidr> cidrs = new ArrayList<>();
        List<Node> list = spec.list("podCIDRs");
        if (list.isEmpty() && spec.has("podCIDR")) list = List.of(spec.get("podCIDR"));
        for (Node c : list) {
            try {
                cidrs.add(Cidr.parse(c.string()));
            } catch (IllegalArgumentException e) {
                throw c.error(e.getMessage());
            }
        }
        String ip = "";
        for (Node a : b.get("status").list("addresses")) {
            if ("InternalIP".equals(a.string("type", ""))) {
                ip = a.string("address");
                if (!Ip.isIpv4(ip)) throw a.error("address", ip + " (expected: an IPv4 address)");
            }
        }
        return new ClusterNode(o.name(), o.labels(), ip, List.copyOf(cidrs));
    }

    /** The manifest for this node, as the lab writes it. */
    public String toYaml() {
        var sb = new StringBuilder("apiVersion: v1\nkind: Node\nmetadata:\n  name: ").append(name).append('\n');
        if (!labels.isEmpty()) {
            sb.append("  labels:\n");
            labels.forEach((k, v) -> sb.append("    ").append(k).append(": \"").append(v).append("\"\n"));
        }
        sb.append("spec:\n  podCIDRs:\n");
        podCIDRs.forEach(c -> sb.append("  - ").append(c).append('\n'));
        sb.append("status:\n  addresses:\n  - type: InternalIP\n    address: ").append(internalIP).append('\n');
        return sb.toString();
    }
}
