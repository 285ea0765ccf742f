package dev.sluice.lab;

import dev.sluice.BadInputException;
import dev.sluice.config.Values;
import dev.sluice.k8s.Pod;
import dev.sluice.net.Cidr;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The lab's stand-ins for the cluster-pool IPAM operator (pod CIDR per node) and the scheduler
 * (round-robin placement). Pure.
 */
public final class Scheduler {
    private Scheduler() {}

    /**
     * The pod CIDRs of nodes 1..count: node i gets the (i-1)-th subnet of size
     * /clusterPoolIPv4MaskSize of the first clusterPoolIPv4PodCIDRList entry.
     */
    public static List<Cidr> podCidrs(Values values, int count) {
        Cidr pool = values.clusterPoolIPv4PodCIDRList().getFirst();
        int mask = values.clusterPoolIPv4MaskSize();
        long available = 1L << (mask - pool.prefixLength());
        if (available < count)
            throw new BadInputException("ipam.operator.clusterPoolIPv4MaskSize: " + mask + " gives " + available + " node CIDR(s) in "
                    + pool + " for " + count + " nodes (expected: a pool with at least one /" + mask + " per node)");
        List<Cidr> out = new ArrayList<>();
        for (int i = 0; i < count; i++) out.add(pool.subnet(mask, i));
        return out;
    }

    /**
     * Places pods on nodes: spec.nodeName when set (it must name a lab node), else round-robin over
     * the nodes in order, continuing from {@code start} (the number of pods placed so far).
     * Returns pod key to node name, in the order given.
     */
    public static Map<String, String> place(List<Pod> pods, List<String> nodes, int start) {
        Map<String, String> out = new LinkedHashMap<>();
        int next = start;
        for (Pod p : pods) {
            if (!p.nodeName().isEmpty()) {
                if (!nodes.contains(p.nodeName()))
                    throw new BadInputException("Pod " + p.key() + ": spec.nodeName: " + p.nodeName() + " (expected one of: " + String.join(", ", nodes) + ")");
                out.put(p.key(), p.nodeName());
            } else {
                out.put(p.key(), nodes.get(Math.floorMod(next++, nodes.size())));
            }
        }
        return out;
    }
}
