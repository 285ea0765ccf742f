package dev.sluice.k8s;

import java.util.ArrayList;
import java.util.List;

/**
 * The parts of an EndpointSlice (discovery.k8s.io/v1) that load balancing needs: which Service it
 * belongs to (label {@code kubernetes.io/service-name}), its ready endpoints and its ports. Only
 * IPv4 slices carry backends here; other address types decode with {@link #ipv4} false.
 *
 * @param service the owning Service's name (same namespace), "" when the label is missing
 */
public record EndpointSlice(String namespace, String name, String service, boolean ipv4, List<Endpoint> endpoints, List<SlicePort> ports) {
    public static final String SERVICE_NAME_LABEL = "kubernetes.io/service-name";
    public static final String MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by";

    /**
     * One endpoint: its addresses, whether it is ready (absent means ready, as the API says), its
     * node and the pod it stands for ({@code ns/name}, "" when not a pod).
     */
    public record Endpoint(List<String> addresses, boolean ready, String nodeName, String pod) {}

    /** A port: its name (matching the Service port's name, "" for an unnamed one), number and protocol. */
    public record SlicePort(String name, int port, Protocol protocol) {}

    public String key() { return namespace + "/" + name; }

    /** The Service this slice belongs to, as {@code ns/name}; "" when it names none. */
    public String serviceKey() { return service.isEmpty() ? "" : namespace + "/" + service; }

    public static EndpointSlice decode(KubeObject o) {
        Node b = o.body();
        String addressType = b.string("addressType", "");
        if (addressType.isEmpty()) throw b.error("addressType", "missing (expected one of: IPv4, IPv6, FQDN)");
        b.get("addressType").oneOf("IPv4", "IPv6", "FQDN");
        List<Endpoint> eps = new ArrayList<>();
        for (Node e : b.list("endpoints")) {
            e.requireObject();
            List<String> addrs = new ArrayList<>();
            for (Node a : e.list("addresses")) addrs.add(a.string());
            if (addrs.isEmpty()) throw e.error("addresses", "missing or empty (expected: at least one address)");
            boolean ready = true;
            Node c = e.get("conditions");
            if (!c.isNull()) {
                c.requireObject();
                ready = c.bool("ready", true);
                if (c.bool("terminating", false)) ready = false;
            }
            String pod = "";
            Node ref = e.get("targetRef");
            if (!ref.isNull() && "Pod".equals(ref.string("kind", "")))
                pod = (ref.string("namespace", o.namespace()) + "/" + ref.string("name", "")).intern(); // as Pod.key(): one string per pod, not per endpoint
            eps.add(new Endpoint(List.copyOf(addrs), ready, e.string("nodeName", ""), pod));
        }
        List<SlicePort> ports = new ArrayList<>();
        for (Node p : b.list("ports")) {
            p.requireObject();
            if (!p.has("port")) continue; // "all ports": not a load-balanced backend port
            Protocol proto = Protocol.parse(p, "protocol", false);
            ports.add(new SlicePort(p.string("name", ""), (int) p.integer("port", 1, 65535), proto));
        }
        return new EndpointSlice(o.namespace(), o.name(), o.labels().getOrDefault(SERVICE_NAME_LABEL, ""), addressType.equals("IPv4"),
                List.copyOf(eps), List.copyOf(ports));
    }
}
