package dev.sluice.k8s;

import dev.sluice.net.Ip;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The parts of a v1 Service that load balancing needs, validated as the API server would (the parts
 * it checks per object). Cross-object conflicts (a nodePort taken by another Service, an exhausted
 * pool) are not decoding errors: the LB model reports them as a status of the one Service.
 *
 * @param file          the manifest file, so later statuses can name it like decoding errors do
 * @param clusterIP     an IPv4 address, {@link #HEADLESS} ("None"), or "" when not allocated yet
 * @param selector      spec.selector; empty means endpoints are not managed from pods
 * @param affinityTimeoutSeconds sessionAffinityConfig.clientIP.timeoutSeconds (1-86400, default 10800);
 *                      meaningful only with {@code sessionAffinity == CLIENT_IP}
 * @param allocateLoadBalancerNodePorts false only when spec.allocateLoadBalancerNodePorts is false
 * @param loadBalancerIP spec.loadBalancerIP (deprecated upstream, still honoured), or ""
 * @param loadBalancerClass spec.loadBalancerClass, or "" (= the default, Sluice's LB IPAM)
 * @param ingressIPs    status.loadBalancer.ingress[].ip: what was allocated before; honoured so an
 *                      allocation stays stable across recomputation
 * @param created       metadata.creationTimestamp, or null when the object has none (a manifest
 *                      file): cluster-wide claims go to the older Service, as the API server gives
 *                      a nodePort or an address to whoever asked first ({@link #BY_AGE})
 */
public record Service(String file, String namespace, String name, Map<String, String> labels, Type type,
                      Map<String, String> selector, String clusterIP, List<ServicePort> ports, List<String> externalIPs,
                      boolean clientIpAffinity, int affinityTimeoutSeconds, boolean externalLocal, boolean internalLocal,
                      boolean allocateLoadBalancerNodePorts, String loadBalancerIP, String loadBalancerClass,
                      List<String> ingressIPs, java.time.Instant created) {

    /** Without a creation time (tests, tools): as a manifest file without metadata.creationTimestamp. */
    public Service(String file, String namespace, String name, Map<String, String> labels, Type type,
                   Map<String, String> selector, String clusterIP, List<ServicePort> ports, List<String> externalIPs,
                   boolean clientIpAffinity, int affinityTimeoutSeconds, boolean externalLocal, boolean internalLocal,
                   boolean allocateLoadBalancerNodePorts, String loadBalancerIP, String loadBalancerClass,
                   List<String> ingressIPs) {
        this(file, namespace, name, labels, type, selector, clusterIP, ports, externalIPs, clientIpAffinity,
                affinityTimeoutSeconds, externalLocal, internalLocal, allocateLoadBalancerNodePorts, loadBalancerIP,
                loadBalancerClass, ingressIPs, null);
    }

    /**
     * Who wins a cluster-wide claim first: the older Service (metadata.creationTimestamp), then
     * namespace/name when the times are equal (they have one-second resolution); a Service without
     * a creation time comes after every Service with one. A total order on keys, so the result does
     * not depend on the order the Services arrive in.
     */
    public static final java.util.Comparator<Service> BY_AGE = java.util.Comparator
            .<Service, java.time.Instant>comparing(Service::created, java.util.Comparator.nullsLast(java.util.Comparator.<java.time.Instant>naturalOrder()))
            .thenComparing(Service::key);

    public enum Type { ClusterIP, NodePort, LoadBalancer }

    public static final String HEADLESS = "None";
    public static final int DEFAULT_AFFINITY_TIMEOUT = 10800;
    public static final int MAX_AFFINITY_TIMEOUT = 86400;

    /**
     * One entry of spec.ports.
     *
     * @param index          position in spec.ports, for field paths in statuses
     * @param targetPort     the numeric target port, or 0 when {@code targetPortName} is set
     * @param targetPortName a container port name resolved per backend pod, or ""
     * @param nodePort       the requested or allocated nodePort, 0 when none
     */
    public record ServicePort(int index, String name, int port, int targetPort, String targetPortName,
                              Protocol protocol, int nodePort) {
        /** {@code spec.ports[i]}: the field path statuses use. */
        public String path() { return "spec.ports[" + index + "]"; }

        /** How the port is shown: its name, else its number. */
        public String label() { return name.isEmpty() ? Integer.toString(port) : name; }
    }

    public String key() { return namespace + "/" + name; }
    public String displayName() { return "Service " + key(); }
    public boolean headless() { return HEADLESS.equals(clusterIP); }
    public boolean hasClusterIP() { return !clusterIP.isEmpty() && !headless(); }

    /** Whether the selector picks this pod: same namespace, a non-empty selector, a subset of its labels. */
    public boolean selects(Pod pod) {
        if (selector.isEmpty() || !pod.namespace().equals(namespace)) return false;
        for (var e : selector.entrySet()) if (!e.getValue().equals(pod.labels().get(e.getKey()))) return false;
        return true;
    }

    public boolean hasPort(int port, Protocol protocol) {
        return ports.stream().anyMatch(p -> p.port() == port && p.protocol() == protocol);
    }

    /** The same Service with another clusterIP: what the lab writes back after allocating one. */
    public Service withClusterIP(String ip) {
        return new Service(file, namespace, name, labels, type, selector, ip, ports, externalIPs, clientIpAffinity,
                affinityTimeoutSeconds, externalLocal, internalLocal, allocateLoadBalancerNodePorts, loadBalancerIP,
                loadBalancerClass, ingressIPs, created);
    }

    public Service withSelector(Map<String, String> s) {
        return new Service(file, namespace, name, labels, type, Map.copyOf(s), clusterIP, ports, externalIPs, clientIpAffinity,
                affinityTimeoutSeconds, externalLocal, internalLocal, allocateLoadBalancerNodePorts, loadBalancerIP,
                loadBalancerClass, ingressIPs, created);
    }

    public Service withIngressIPs(List<String> ips) {
        return new Service(file, namespace, name, labels, type, selector, clusterIP, ports, externalIPs, clientIpAffinity,
                affinityTimeoutSeconds, externalLocal, internalLocal, allocateLoadBalancerNodePorts, loadBalancerIP,
                loadBalancerClass, List.copyOf(ips), created);
    }

    /** The same Service created at another time (null: none). */
    public Service withCreated(java.time.Instant t) {
        return new Service(file, namespace, name, labels, type, selector, clusterIP, ports, externalIPs, clientIpAffinity,
                affinityTimeoutSeconds, externalLocal, internalLocal, allocateLoadBalancerNodePorts, loadBalancerIP,
                loadBalancerClass, ingressIPs, t);
    }

    /** Every field of ServiceSpec in Kubernetes 1.33, so a real manifest never fails on a name. */
    static final Set<String> SPEC_FIELDS = Set.of("ports", "selector", "clusterIP", "clusterIPs", "type", "externalIPs",
            "sessionAffinity", "loadBalancerIP", "loadBalancerSourceRanges", "externalName", "externalTrafficPolicy",
            "healthCheckNodePort", "publishNotReadyAddresses", "sessionAffinityConfig", "ipFamilies", "ipFamilyPolicy",
            "allocateLoadBalancerNodePorts", "loadBalancerClass", "internalTrafficPolicy", "trafficDistribution");
    private static final Set<String> PORT_FIELDS = Set.of("name", "protocol", "appProtocol", "port", "targetPort", "nodePort");
    private static final Pattern PORT_NAME = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
    private static final Pattern TARGET_PORT_NAME = Pattern.compile("[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?");

    public static Service decode(KubeObject o) {
        Node b = o.body();
        b.allowOnly("apiVersion", "kind", "metadata", "spec", "status");
        b.get("metadata").allowOnly(Pod.METADATA_FIELDS);
        java.time.Instant created = created(b.get("metadata"));
        Node spec = b.get("spec");
        if (spec.isNull()) throw b.error("spec", "missing (expected: an object with ports)");
        spec.requireObject().allowOnly(SPEC_FIELDS);

        Type type = Type.ClusterIP;
        if (spec.has("type")) {
            String t = spec.get("type").string();
            if (t.equals("ExternalName"))
                throw spec.error("type", "ExternalName is not supported (Sluice load-balances to pods; an ExternalName Service is a DNS CNAME served by the cluster DNS; expected one of: ClusterIP, NodePort, LoadBalancer)");
            type = Type.valueOf(spec.get("type").oneOf("ClusterIP", "NodePort", "LoadBalancer"));
        }
        if (spec.has("externalName") && !spec.string("externalName").isEmpty())
            throw spec.error("externalName", "only meaningful with type ExternalName, which is not supported (expected: no externalName)");

        Map<String, String> selector = spec.stringMap("selector");
        for (var e : selector.entrySet()) Labels.validate(spec.get("selector"), e.getKey(), e.getValue());

        String clusterIP = clusterIP(spec);
        boolean headless = HEADLESS.equals(clusterIP);
        if (headless && type != Type.ClusterIP)
            throw spec.error("clusterIP", "None (expected: a headless Service to have type ClusterIP, not " + type + ")");

        List<ServicePort> ports = ports(spec, type, headless);

        List<String> externalIPs = new ArrayList<>();
        Set<String> seenExt = new HashSet<>();
        for (Node n : spec.list("externalIPs")) {
            String ip = n.string();
            if (!Ip.isIpv4(ip)) throw n.error(ip + " (expected: an IPv4 address)");
            if (!seenExt.add(ip)) throw n.error(ip + " is listed twice (expected: unique addresses)");
            externalIPs.add(ip);
        }
        if (headless && !externalIPs.isEmpty())
            throw spec.error("externalIPs", "set on a headless Service (expected: none, a headless Service has no virtual address)");

        boolean affinity = spec.has("sessionAffinity") && spec.get("sessionAffinity").oneOf("None", "ClientIP").equals("ClientIP");
        int timeout = DEFAULT_AFFINITY_TIMEOUT;
        Node sac = spec.get("sessionAffinityConfig");
        if (!sac.isNull()) {
            sac.requireObject().allowOnly("clientIP");
            Node cip = sac.get("clientIP");
            if (!cip.isNull()) {
                cip.requireObject().allowOnly("timeoutSeconds");
                timeout = cip.optInteger("timeoutSeconds", 1, MAX_AFFINITY_TIMEOUT).orElse((long) DEFAULT_AFFINITY_TIMEOUT).intValue();
                if (!affinity && cip.has("timeoutSeconds"))
                    throw sac.error("clientIP.timeoutSeconds", "set while sessionAffinity is not ClientIP (expected: sessionAffinity: ClientIP)");
            }
        }

        // Kubernetes defaults both to Cluster; an absent externalTrafficPolicy is the legacy Cluster.
        boolean externalLocal = spec.has("externalTrafficPolicy") && spec.get("externalTrafficPolicy").oneOf("Cluster", "Local").equals("Local");
        boolean internalLocal = spec.has("internalTrafficPolicy") && spec.get("internalTrafficPolicy").oneOf("Cluster", "Local").equals("Local");
        if (spec.has("healthCheckNodePort")) spec.get("healthCheckNodePort").integer(1, 65535);
        if (spec.has("publishNotReadyAddresses")) spec.get("publishNotReadyAddresses").bool();
        boolean allocNodePorts = spec.bool("allocateLoadBalancerNodePorts", true);
        if (spec.has("allocateLoadBalancerNodePorts") && type != Type.LoadBalancer)
            throw spec.error("allocateLoadBalancerNodePorts", "set on a " + type + " Service (expected: only with type LoadBalancer)");

        String lbIP = spec.string("loadBalancerIP", "");
        if (!lbIP.isEmpty() && !Ip.isIpv4(lbIP)) throw spec.error("loadBalancerIP", lbIP + " (expected: an IPv4 address)");
        String lbClass = spec.string("loadBalancerClass", "");
        if (!lbClass.isEmpty() && type != Type.LoadBalancer)
            throw spec.error("loadBalancerClass", lbClass + " on a " + type + " Service (expected: only with type LoadBalancer)");
        for (Node r : spec.list("loadBalancerSourceRanges")) {
            try {
                dev.sluice.net.Cidr.parse(r.string());
            } catch (IllegalArgumentException e) {
                throw r.error(e.getMessage());
            }
        }
        for (Node f : spec.list("ipFamilies")) f.oneOf("IPv4", "IPv6");
        if (spec.has("ipFamilyPolicy")) spec.get("ipFamilyPolicy").oneOf("SingleStack", "PreferDualStack", "RequireDualStack");

        List<String> ingress = new ArrayList<>();
        Node status = b.get("status");
        if (!status.isNull()) {
            status.requireObject().allowOnly("loadBalancer", "conditions");
            Node lb = status.get("loadBalancer");
            if (!lb.isNull()) {
                lb.requireObject().allowOnly("ingress");
                for (Node in : lb.list("ingress")) {
                    in.requireObject().allowOnly("ip", "hostname", "ipMode", "ports");
                    Optional<String> ip = in.optString("ip");
                    if (ip.isPresent()) {
                        if (!Ip.isIpv4(ip.get())) throw in.error("ip", ip.get() + " (expected: an IPv4 address)");
                        ingress.add(ip.get());
                    }
                }
            }
        }
        return new Service(o.file(), o.namespace(), o.name(), o.labels(), type, selector, clusterIP, ports,
                List.copyOf(externalIPs), affinity, timeout, externalLocal, internalLocal,
                type == Type.LoadBalancer && allocNodePorts, lbIP, lbClass, List.copyOf(ingress), created);
    }

    /** metadata.creationTimestamp as the API server writes it (RFC 3339, UTC or with an offset), or null when absent. */
    static java.time.Instant created(Node meta) {
        if (meta.isNull() || !meta.has("creationTimestamp")) return null;
        String t = meta.string("creationTimestamp");
        try {
            return java.time.OffsetDateTime.parse(t).toInstant();
        } catch (java.time.format.DateTimeParseException e) {
            throw meta.error("creationTimestamp", t + " (expected: an RFC 3339 time such as 2025-01-02T03:04:05Z)");
        }
    }

    private static String clusterIP(Node spec) {
        List<Node> ips = spec.list("clusterIPs");
        String first = ips.isEmpty() ? "" : ips.getFirst().string();
        String ip = spec.string("clusterIP", "");
        if (!ip.isEmpty() && !first.isEmpty() && !ip.equals(first))
            throw spec.error("clusterIPs[0]", first + " (expected: equal to spec.clusterIP " + ip + ")");
        if (ip.isEmpty()) ip = first;
        Node at = spec.has("clusterIP") || ips.isEmpty() ? spec.get("clusterIP") : ips.getFirst();
        if (ip.isEmpty() || ip.equals(HEADLESS)) return ip;
        if (!Ip.isIpv4(ip)) throw at.error(ip + " (expected: an IPv4 address, \"None\" for a headless Service, or absent to have one allocated)");
        for (int i = 1; i < ips.size(); i++)
            if (Ip.isIpv4(ips.get(i).string()))
                throw ips.get(i).error(ips.get(i).string() + " (expected: at most one IPv4 address; a second entry is only for the other IP family)");
        return ip;
    }

    private static List<ServicePort> ports(Node spec, Type type, boolean headless) {
        List<Node> list = spec.list("ports");
        if (list.isEmpty() && !headless)
            throw spec.error("ports", "missing or empty (expected: at least one port; only a headless Service may have none)");
        List<ServicePort> out = new ArrayList<>();
        Set<String> names = new HashSet<>();
        Set<String> portProto = new HashSet<>();
        Set<String> nodePortProto = new HashSet<>();
        for (int i = 0; i < list.size(); i++) {
            Node p = list.get(i).requireObject().allowOnly(PORT_FIELDS);
            String name = p.string("name", "");
            if (list.size() > 1 && name.isEmpty())
                throw p.error("name", "missing (expected: a name on every port when a Service has more than one)");
            if (!name.isEmpty() && !PORT_NAME.matcher(name).matches())
                throw p.error("name", "\"" + name + "\" (expected: lower-case letters, digits and '-', at most 63)");
            if (!name.isEmpty() && !names.add(name)) throw p.error("name", "\"" + name + "\" is used twice (expected: unique port names)");
            int port = (int) p.integer("port", 1, 65535);
            Protocol proto = Protocol.parse(p, "protocol", false);
            if (!portProto.add(port + "/" + proto)) throw p.error("port", port + "/" + proto + " is listed twice (expected: unique port and protocol)");
            int target = port;
            String targetName = "";
            Node t = p.get("targetPort");
            if (!t.isNull()) {
                if (t.json().isIntegralNumber() || (t.json().isString() && t.json().asString().matches("\\d+"))) {
                    target = (int) t.integer(1, 65535);
                } else {
                    targetName = t.string();
                    if (!TARGET_PORT_NAME.matcher(targetName).matches() || !targetName.matches(".*[a-z].*"))
                        throw t.error("\"" + targetName + "\" (expected: a port number 1-65535 or a container port name: at most 15 lower-case letters, digits and '-', with a letter)");
                    target = 0;
                }
            }
            int nodePort = 0;
            if (p.has("nodePort")) {
                // The range (nodePort.range) is a cluster setting checked by the LB model, which reports
                // it as this Service's status instead of failing the whole manifest set.
                nodePort = (int) p.get("nodePort").integer(1, 65535);
                if (type == Type.ClusterIP)
                    throw p.error("nodePort", nodePort + " on a ClusterIP Service (expected: type NodePort or LoadBalancer)");
                if (!nodePortProto.add(nodePort + "/" + proto))
                    throw p.error("nodePort", nodePort + "/" + proto + " is listed twice (expected: unique nodePort and protocol)");
            }
            if (p.has("appProtocol")) p.string("appProtocol");
            out.add(new ServicePort(i, name, port, target, targetName, proto, nodePort));
        }
        return List.copyOf(out);
    }
}
