package dev.sluice.k8s;

import dev.sluice.selector.LabelSelector;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * A CiliumL2AnnouncementPolicy (cilium.io/v2alpha1, cluster-scoped): which Services' addresses
 * which nodes answer ARP for, on which interfaces. Read strictly: an unknown field is an error.
 *
 * @param name             metadata.name
 * @param serviceSelector  spec.serviceSelector over the Service's labels, plus
 *                         {@code io.kubernetes.service.namespace} and {@code io.kubernetes.service.name}
 *                         as Cilium offers them; absent: every Service
 * @param nodeSelector     spec.nodeSelector over the Node's labels; absent: every node
 * @param interfaces       spec.interfaces: regular expressions, each matched anywhere in an
 *                         interface name (as Go's MatchString; anchor with ^ and $); empty: every interface
 * @param externalIPs      spec.externalIPs: announce the Service's spec.externalIPs
 * @param loadBalancerIPs  spec.loadBalancerIPs: announce status.loadBalancer.ingress[].ip
 */
public record L2AnnouncementPolicy(String name, LabelSelector serviceSelector, LabelSelector nodeSelector, List<Pattern> interfaces,
                                   boolean externalIPs, boolean loadBalancerIPs) {

    public L2AnnouncementPolicy { interfaces = List.copyOf(interfaces); }

    public static L2AnnouncementPolicy decode(KubeObject o) {
        Node b = o.body();
        b.allowOnly("apiVersion", "kind", "metadata", "spec", "status");
        b.get("metadata").allowOnly(Pod.METADATA_FIELDS);
        Node spec = b.get("spec");
        if (spec.isNull()) throw b.error("spec", "missing (expected: an object with loadBalancerIPs and/or externalIPs: true)");
        spec.requireObject().allowOnly("serviceSelector", "nodeSelector", "interfaces", "externalIPs", "loadBalancerIPs");
        LabelSelector services = LabelSelector.decode(spec.get("serviceSelector"));
        LabelSelector nodes = LabelSelector.decode(spec.get("nodeSelector"));
        List<Pattern> ifaces = new ArrayList<>();
        List<Node> list = spec.list("interfaces");
        for (int i = 0; i < list.size(); i++) {
            String re = list.get(i).string();
            if (re.isEmpty()) throw spec.error("interfaces[" + i + "]", "\"\" (expected: a regular expression matching interface names, e.g. ^eth[0-9]+)");
            try {
                ifaces.add(Pattern.compile(re));
            } catch (PatternSyntaxException e) {
                throw spec.error("interfaces[" + i + "]", "\"" + re + "\" (expected: a regular expression: " + e.getDescription() + " at index " + e.getIndex() + ")");
            }
        }
        return new L2AnnouncementPolicy(o.name(), services, nodes, ifaces, spec.bool("externalIPs", false), spec.bool("loadBalancerIPs", false));
    }

    /** Whether spec.serviceSelector selects the Service. */
    public boolean selects(Service s) {
        Map<String, String> l = new HashMap<>(s.labels());
        l.put("io.kubernetes.service.namespace", s.namespace());
        l.put("io.kubernetes.service.name", s.name());
        return serviceSelector.matches(l);
    }

    /** Whether spec.nodeSelector selects the node. */
    public boolean selects(ClusterNode n) { return nodeSelector.matches(n.labels()); }

    /** The interfaces of {@code candidates} that spec.interfaces allows, in their order. */
    public List<String> interfacesOf(List<String> candidates) {
        if (interfaces.isEmpty()) return candidates;
        return candidates.stream().filter(i -> interfaces.stream().anyMatch(p -> p.matcher(i).find())).toList();
    }
}
