package dev.sluice.lb;

import dev.sluice.k8s.Service;
import java.util.List;

/**
 * What to write back to a Service (and show in {@code sluice service list}).
 *
 * @param ingressIPs status.loadBalancer.ingress[].ip: the LoadBalancer addresses in use
 * @param nodePorts  per spec.ports entry, the nodePort in use (requested or allocated), 0 for none;
 *                   the lab writes allocated ones into spec.ports[i].nodePort as the API server does
 * @param conditions errors and notes, errors first
 */
public record ServiceStatus(String service, Service.Type type, String clusterIP, List<String> ingressIPs,
                            List<Integer> nodePorts, List<Condition> conditions) {
    public boolean ok() { return conditions.stream().noneMatch(c -> c.level() == Condition.Level.ERROR); }
}
