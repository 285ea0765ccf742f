package dev.sluice.k8s;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The parts of a Pod that networking needs.
 *
 * @param nodeName spec.nodeName, "" when not scheduled yet
 * @param podIP    status.podIP, "" when not known yet
 */
public record Pod(String namespace, String name, Map<String, String> labels, String nodeName, String podIP,
                  List<ContainerPort> ports) {

    static final Set<String> METADATA_FIELDS = Set.of("name", "namespace", "labels", "annotations", "uid",
            "resourceVersion", "generation", "creationTimestamp", "ownerReferences", "finalizers",
            "generateName", "managedFields", "deletionTimestamp", "deletionGracePeriodSeconds");
    private static final Set<String> SPEC_FIELDS = Set.of("containers", "initContainers", "ephemeralContainers",
            "nodeName", "nodeSelector", "affinity", "tolerations", "volumes", "restartPolicy",
            "terminationGracePeriodSeconds", "activeDeadlineSeconds", "dnsPolicy", "dnsConfig", "serviceAccountName",
            "serviceAccount", "automountServiceAccountToken", "hostNetwork", "hostPID", "hostIPC", "shareProcessNamespace",
            "securityContext", "imagePullSecrets", "hostname", "subdomain", "schedulerName", "priorityClassName",
            "priority", "readinessGates", "runtimeClassName", "enableServiceLinks", "preemptionPolicy", "overhead",
            "topologySpreadConstraints", "setHostnameAsFQDN", "os", "hostUsers", "schedulingGates",
            "resourceClaims", "resources", "hostAliases");
    private static final Set<String> CONTAINER_FIELDS = Set.of("name", "image", "command", "args", "workingDir",
            "ports", "envFrom", "env", "resources", "resizePolicy", "restartPolicy", "volumeMounts", "volumeDevices",
            "livenessProbe", "readinessProbe", "startupProbe", "lifecycle", "terminationMessagePath",
            "terminationMessagePolicy", "imagePullPolicy", "securityContext", "stdin", "stdinOnce", "tty");
    private static final Pattern PORT_NAME = Pattern.compile("[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?");

    /**
     * {@code namespace/name}, one shared String per pod (interned): the load-balancing model keeps it
     * in every backend, and 10,000 Services over 1,000 pods held 100,000 copies of 1,000 keys.
     */
    public String key() { return (namespace + "/" + name).intern(); }

    public Pod withLabels(Map<String, String> l) { return new Pod(namespace, name, Map.copyOf(l), nodeName, podIP, ports); }
    public Pod withNodeName(String n) { return new Pod(namespace, name, labels, n, podIP, ports); }
    public Pod withPodIP(String ip) { return new Pod(namespace, name, labels, nodeName, ip, ports); }

    /** The container port with this name, for named-port resolution. */
    public Optional<ContainerPort> namedPort(String portName, Protocol protocol) {
        return ports.stream().filter(p -> p.name().equals(portName) && p.protocol() == protocol).findFirst();
    }

    public static Pod decode(KubeObject o) {
        Node b = o.body();
        b.allowOnly("apiVersion", "kind", "metadata", "spec", "status");
        b.get("metadata").allowOnly(METADATA_FIELDS);
        Node spec = b.get("spec");
        if (spec.isNull()) throw b.error("spec", "missing (expected: an object with containers)");
        spec.requireObject().allowOnly(SPEC_FIELDS);
        List<ContainerPort> ports = new ArrayList<>();
        Set<String> names = new HashSet<>();
        List<Node> containers = spec.list("containers");
        if (containers.isEmpty()) throw spec.error("containers", "missing or empty (expected: at least one container)");
        for (Node c : containers) {
            c.requireObject().allowOnly(CONTAINER_FIELDS);
            c.string("name");
            for (Node p : c.list("ports")) {
                p.requireObject().allowOnly("name", "containerPort", "protocol", "hostPort", "hostIP");
                int port = (int) p.integer("containerPort", 1, 65535);
                Protocol proto = Protocol.parse(p, "protocol", false);
                String pn = p.string("name", "");
                if (!pn.isEmpty()) {
                    if (!PORT_NAME.matcher(pn).matches() || !pn.matches(".*[a-z].*"))
                        throw p.error("name", "\"" + pn + "\" (expected: an IANA service name: at most 15 lower-case letters, digits and '-', with a letter)");
                    if (!names.add(pn)) throw p.error("name", "\"" + pn + "\" is used twice in this pod (expected: unique port names)");
                }
                ports.add(new ContainerPort(pn, port, proto));
            }
        }
        String nodeName = spec.string("nodeName", "");
        String podIP = "";
        Node status = b.get("status");
        if (!status.isNull()) {
            podIP = status.string("podIP", "");
            if (!podIP.isEmpty() && !dev.sluice.net.Ip.isIpv4(podIP) && !dev.sluice.net.Ip.isIpv6(podIP))
                throw status.error("podIP", podIP + " (expected: an IP address)");
        }
        return new Pod(o.namespace(), o.name(), o.labels(), nodeName, podIP, List.copyOf(ports));
    }
}
