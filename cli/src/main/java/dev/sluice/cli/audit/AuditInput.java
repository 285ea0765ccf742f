package dev.sluice.cli.audit;

import dev.sluice.config.Values;
import dev.sluice.k8s.KubeObject;
import java.util.List;

/**
 * Everything the checks look at, gathered beforehand so the checks are pure: the cluster's objects
 * and values (from a lab's API server or from manifests) and, for a live lab, what each node
 * reported and what was probed.
 *
 * @param nodes    per node facts; empty offline (the checks that need them are skipped)
 * @param mtuProbe the path MTU probed between pods on different nodes; null when not probed
 */
public record AuditInput(String source, Values values, List<KubeObject> objects, List<NodeFacts> nodes, MtuProbe mtuProbe) {
    public AuditInput {
        objects = List.copyOf(objects);
        nodes = List.copyOf(nodes);
    }

    public boolean live() { return !nodes.isEmpty(); }

    /**
     * What one node's agent reported (status) and what its namespace holds.
     *
     * @param routes        destinations of the node's routes, as {@code ip route} prints them
     * @param kubeProxyRules netfilter chains or rules of kube-proxy found in the node ({@code KUBE-SERVICES}, ...)
     */
    public record NodeFacts(String node, String podCIDR, int underlayMtu, int podMtu, int ipamUsed, int ipamCapacity,
                            long ctFillTcp, long ctMaxTcp, long ctFillAny, long ctMaxAny, long ctRefused,
                            boolean kubeProxyReplacement, List<String> routes, List<String> kubeProxyRules) {
        public NodeFacts {
            routes = List.copyOf(routes);
            kubeProxyRules = List.copyOf(kubeProxyRules);
        }
    }

    /**
     * DF pings from one pod to a pod on another node.
     *
     * @param pathMtu the largest IP packet that got an answer (ICMP payload + 28); 0 when even the
     *                smallest did not (the pair could not be probed, e.g. a policy drops ICMP)
     * @param podMtu  the MTU the source pod's interface has (what the agent configured)
     */
    public record MtuProbe(String from, String to, String toIp, int podMtu, int pathMtu, List<String> tried) {
        public MtuProbe {
            tried = List.copyOf(tried);
        }
    }
}
