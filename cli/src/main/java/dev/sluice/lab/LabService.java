package dev.sluice.lab;

import dev.sluice.k8s.KubeObject;
import dev.sluice.k8s.Node;
import dev.sluice.k8s.Pod;
import dev.sluice.k8s.Protocol;
import dev.sluice.net.Cidr;
import dev.sluice.net.Ip;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The parts of a Service the lab needs as API server: its ClusterIP (allocated when absent), selector
 * and ports. The full service model (targetPort resolution, eTP, ...) belongs to the services code.
 *
 * @param clusterIP "" when not allocated yet, "None" when headless
 */
public record LabService(String namespace, String name, String type, String clusterIP, Map<String, String> selector,
                         List<ServicePort> ports) {
    public static final Cidr SERVICE_CIDR = Cidr.parse("10.96.0.0/12");
    public static final String HEADLESS = "None";

    public record ServicePort(int port, Protocol protocol) {}

    public String key() { return namespace + "/" + name; }

    public boolean headless() { return HEADLESS.equals(clusterIP); }

    public static LabService decode(KubeObject o) {
        Node spec = o.body().get("spec");
        String type = spec.string("type", "ClusterIP");
        String ip = spec.string("clusterIP", "");
        if (!ip.isEmpty() && !ip.equals(HEADLESS)) {
            if (!Ip.isIpv4(ip)) throw spec.error("clusterIP", ip + " (expected: an IPv4 address in " + SERVICE_CIDR + ", or None)");
            if (!SERVICE_CIDR.contains(Ip.parse(ip)))
                throw spec.error("clusterIP", ip + " (expected: an address in the service CIDR " + SERVICE_CIDR + ", or None)");
        }
        List<ServicePort> ports = new ArrayList<>();
        for (Node p : spec.list("ports")) ports.add(new ServicePort((int) p.integer("port", 1, 65535), Protocol.parse(p, "protocol", false)));
        return new LabService(o.namespace(), o.name(), type, ip, spec.stringMap("selector"), List.copyOf(ports));
    }

    /** Whether the selector picks this pod: same namespace, non-empty selector, a subset of its labels. */
    public boolean selects(Pod pod) {
        if (selector.isEmpty() || !pod.namespace().equals(namespace)) return false;
        for (var e : selector.entrySet()) if (!e.getValue().equals(pod.labels().get(e.getKey()))) return false;
        return true;
    }

    public boolean hasPort(int port, Protocol protocol) {
        return ports.stream().anyMatch(p -> p.port() == port && p.protocol() == protocol);
    }
}
