package dev.sluice.lb;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The desired load-balancing state of the cluster: per Service its status and frontends. A
 * frontend with node "" is programmed on every node; others only on their node
 * ({@link #frontends(String)} gives one node's view). Immutable; the ServiceLb of a Service that did
 * not change between two states is the same object, so a reconciler can skip it by identity.
 *
 * @param algorithm         "random" or "maglev" (loadBalancer.algorithm)
 * @param noBackendResponse "reject" (ICMP unreachable) or "drop" (serviceNoBackendResponse)
 * @param maglevTableSize   M, when the algorithm is maglev
 * @param services          by namespace/name, in key order
 * @param warnings          cluster-wide problems (e.g. more backends than bpf.lbMapMax)
 */
public record LbState(String algorithm, String noBackendResponse, int maglevTableSize, List<String> nodes,
                      Map<String, ServiceLb> services, List<String> warnings) {

    static final Comparator<Frontend> ORDER = Comparator.comparing(Frontend::key).thenComparing(Frontend::node);

    /** The frontends programmed on {@code node}, by (address, port, protocol). */
    public List<Frontend> frontends(String node) {
        List<Frontend> out = new ArrayList<>();
        for (ServiceLb s : services.values())
            for (Frontend f : s.frontends())
                if (f.node().isEmpty() || f.node().equals(node)) out.add(f);
        out.sort(ORDER);
        return out;
    }

    public List<ServiceStatus> statuses() {
        return services.values().stream().map(ServiceLb::status).toList();
    }

    /** Every backend in use, by id: what the backend map holds. */
    public List<Backend> backends() {
        TreeMap<Integer, Backend> out = new TreeMap<>();
        for (ServiceLb s : services.values())
            for (Frontend f : s.frontends())
                for (Backend b : f.backends()) out.putIfAbsent(b.id(), b);
        return List.copyOf(out.values());
    }
}
