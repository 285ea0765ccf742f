package dev.sluice.lab;

import dev.sluice.BadInputException;
import dev.sluice.k8s.Kinds;
import dev.sluice.k8s.Service;
import dev.sluice.lb.ClusterIpAllocator;
import dev.sluice.net.Cidr;
import dev.sluice.k8s.KubeObject;
import dev.sluice.k8s.Labels;
import dev.sluice.k8s.Namespace;
import dev.sluice.k8s.Pod;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * What {@code lab apply}, {@code lab delete} and {@code lab label} write, checked as kubectl and the API server would
 * check it, and the scheduler's placement: validates a change against the stored state
 * and computes exactly what to write, before anything is made. Pure (no I/O).
 */
public final class Planner {
    private Planner() {}

    /** A pod to create: its decoded form, the node it is placed on, and the manifest to store. */
    public record NewPod(Pod pod, String node, ObjectNode body) {}

    /**
     * What an apply does.
     *
     * @param writes    manifests to store now (namespaces first; new pods carry spec.nodeName, no IP yet)
     * @param newPods   pods that need a sandbox (netns, CNI ADD, server)
     * @param notes     progress lines (implicitly created namespaces, allocated ClusterIPs)
     */
    public record ApplyPlan(List<ObjectNode> writes, List<NewPod> newPods, List<String> notes) {
        public boolean isEmpty() { return writes.isEmpty(); }
    }

    /** What a delete does: objects to remove and, among them, pods whose sandbox goes. */
    public record DeletePlan(List<KubeObject> removals, List<String> pods) {}

    /**
     * What a plan reads of the stored state, and no more, so that a change of one object costs what
     * one object costs and not what the cluster holds: the stored version of each incoming object,
     * the namespaces, what is in a namespace being deleted, and, only when a new Service needs an
     * address, every Service.
     */
    public interface Stored {
        /** The stored object of {@link KubeObject#key()}. */
        java.util.Optional<KubeObject> get(String key);

        Set<String> namespaces();

        /** Every stored object in namespace {@code ns}; asked only when that namespace is deleted. */
        List<KubeObject> inNamespace(String ns);

        /** Every stored Service; asked only when an incoming Service is new (for its ClusterIP). */
        List<KubeObject> services();

        /**
         * Whether the store gives a new Service without spec.clusterIP its address itself (an API
         * server): the plan then leaves it unset instead of reading every Service.
         */
        default boolean allocatesClusterIPs() { return false; }

        /** Everything in {@code all}. */
        static Stored of(List<KubeObject> all) {
            Map<String, KubeObject> byKey = new LinkedHashMap<>();
            all.forEach(o -> byKey.put(o.key(), o));
            return new Stored() {
                @Override public java.util.Optional<KubeObject> get(String key) { return java.util.Optional.ofNullable(byKey.get(key)); }
                @Override public Set<String> namespaces() {
                    Set<String> out = new LinkedHashSet<>();
                    for (KubeObject o : byKey.values()) if (o.kind().equals(Kinds.NAMESPACE)) out.add(o.name());
                    return out;
                }
                @Override public List<KubeObject> inNamespace(String ns) { return byKey.values().stream().filter(o -> o.namespace().equals(ns)).toList(); }
                @Override public List<KubeObject> services() { return byKey.values().stream().filter(o -> o.kind().equals(Kinds.SERVICE)).toList(); }
            };
        }
    }

    public static ApplyPlan apply(List<KubeObject> stored, List<KubeObject> incoming, List<String> nodes, Cidr serviceCidr, int placedSoFar) {
        return apply(Stored.of(stored), incoming, nodes, serviceCidr, placedSoFar);
    }

    /**
     * Validates {@code incoming} against {@code stored} and plans the apply.
     *
     * @param nodes       the lab's node names, for spec.nodeName and round-robin placement
     * @param placedSoFar number of pods already placed, where round-robin continues
     */
    public static ApplyPlan apply(Stored have, List<KubeObject> incoming, List<String> nodes, Cidr serviceCidr, int placedSoFar) {
        Map<String, KubeObject> in = new LinkedHashMap<>();
        for (KubeObject o : incoming) {
            if (o.kind().equals(Kinds.NODE))
                throw new BadInputException(o.file() + ": " + o.displayName() + ": the lab makes its own nodes (expected: no Node objects; use lab up --nodes)");
            in.remove(o.key());
            in.put(o.key(), o);
        }
        List<String> notes = new ArrayList<>();
        List<ObjectNode> namespaces = new ArrayList<>();
        List<ObjectNode> others = new ArrayList<>();
        List<ObjectNode> pods = new ArrayList<>();
        List<NewPod> newPods = new ArrayList<>();

        Set<String> nsKnown = new LinkedHashSet<>(have.namespaces());
        for (KubeObject o : in.values()) {
            if (!o.kind().equals(Kinds.NAMESPACE)) continue;
            Namespace.decode(o);
            nsKnown.add(o.name());
            namespaces.add(copy(o));
        }
        for (KubeObject o : in.values()) {
            if (!o.namespace().isEmpty() && nsKnown.add(o.namespace())) {
                namespaces.add(namespaceBody(o.namespace()));
                notes.add("namespace " + o.namespace() + " created implicitly (" + o.displayName() + " is in it)");
            }
        }

        // the addresses in use, read only when a new Service needs one
        ClusterIpAllocator.Pool ips = null;
        List<Pod> toPlace = new ArrayList<>();
        Map<String, ObjectNode> newPodBodies = new LinkedHashMap<>();
        for (KubeObject o : in.values()) {
            switch (o.kind()) {
                case Kinds.NAMESPACE -> { }
                case Kinds.POD -> {
                    Pod p = Pod.decode(o);
                    KubeObject old = have.get(o.key()).orElse(null);
                    ObjectNode body = copy(o);
                    if (body.get("status") != null) body.remove("status");
                    if (old == null) {
                        toPlace.add(p);
                        newPodBodies.put(p.key(), body);
                    } else {
                        Pod was = Pod.decode(old);
                        if (!p.nodeName().isEmpty() && !p.nodeName().equals(was.nodeName()))
                            throw new BadInputException(o.file() + ": Pod " + p.key() + ": spec.nodeName: " + p.nodeName()
                                    + " (expected: " + was.nodeName() + ", where the pod runs; delete the pod to move it)");
                        if (!p.ports().equals(was.ports()))
                            throw new BadInputException(o.file() + ": Pod " + p.key() + ": spec.containers: ports differ from the running pod's"
                                    + " (expected: the same ports; delete the pod and apply it again to change them)");
                        ((ObjectNode) body.get("spec")).put("nodeName", was.nodeName());
                        JsonNode st = old.body().json().get("status");
                        if (st != null) body.set("status", st.deepCopy());
                        pods.add(body);
                    }
                }
                case Kinds.SERVICE -> {
                    Service s = Service.decode(o);
                    KubeObject old = have.get(o.key()).orElse(null);
                    ObjectNode body = copy(o);
                    String ip = s.clusterIP();
                    if (old != null) {
                        String was = Service.decode(old).clusterIP();
                        if (!ip.isEmpty() && !ip.equals(was))
                            throw new BadInputException(o.file() + ": Service " + s.key() + ": spec.clusterIP: " + ip + " (expected: " + was + "; the field is immutable)");
                        ip = was;
                    } else if (ip.isEmpty() && have.allocatesClusterIPs()) {
                        others.add(body); // the store allocates, in the order of the manifests
                        continue;
                    } else {
                        if (ips == null) ips = inUse(have, serviceCidr);
                        ip = ips.allocate(s);
                        if (s.clusterIP().isEmpty()) notes.add("service " + s.key() + " clusterIP " + ip);
                    }
                    spec(body).put("clusterIP", ip);
                    if (!ip.equals(Service.HEADLESS)) spec(body).set("clusterIPs", body.arrayNode().add(ip));
                    others.add(body);
                }
                default -> others.add(copy(o));
            }
        }
        Map<String, String> placed = Scheduler.place(toPlace, nodes, placedSoFar);
        for (Pod p : toPlace) {
            ObjectNode body = newPodBodies.get(p.key());
            String node = placed.get(p.key());
            spec(body).put("nodeName", node);
            pods.add(body);
            newPods.add(new NewPod(p.withNodeName(node), node, body));
        }
        List<ObjectNode> writes = new ArrayList<>(namespaces);
        writes.addAll(others);
        writes.addAll(pods);
        return new ApplyPlan(writes, newPods, notes);
    }

    /** The ClusterIPs the stored Services hold, kept as the API server keeps them: one allocation then costs what it costs. */
    private static ClusterIpAllocator.Pool inUse(Stored have, Cidr serviceCidr) {
        ClusterIpAllocator.Pool ips = new ClusterIpAllocator(serviceCidr).pool();
        for (KubeObject o : have.services()) {
            Service s = Service.decode(o);
            if (s.hasClusterIP()) ips.hold(s.clusterIP(), s.key());
        }
        return ips;
    }

    public static DeletePlan delete(List<KubeObject> stored, List<KubeObject> incoming) { return delete(Stored.of(stored), incoming); }

    /** Validates a delete: every object must be stored; deleting a namespace deletes what is in it. */
    public static DeletePlan delete(Stored have, List<KubeObject> incoming) {
        Map<String, KubeObject> out = new LinkedHashMap<>();
        for (KubeObject o : incoming) {
            if (o.kind().equals(Kinds.NODE))
                throw new BadInputException(o.file() + ": " + o.displayName() + ": the lab's nodes go with the lab (expected: `sluice lab down`)");
            KubeObject h = have.get(o.key()).orElse(null);
            if (h == null) throw new BadInputException(o.file() + ": " + o.displayName() + ": not found in the lab (expected: an object the lab holds)");
            out.put(h.key(), h);
            if (o.kind().equals(Kinds.NAMESPACE))
                for (KubeObject x : have.inNamespace(o.name())) out.put(x.key(), x);
        }
        List<String> pods = out.values().stream().filter(o -> o.kind().equals(Kinds.POD)).map(o -> o.namespace() + "/" + o.name()).toList();
        return new DeletePlan(List.copyOf(out.values()), pods);
    }

    /**
     * Applies {@code k=v} (set) and {@code k-} (remove) to an object's labels, as kubectl label does
     * (with --overwrite). Returns the new body.
     */
    public static ObjectNode label(KubeObject o, List<String> changes) {
        if (changes.isEmpty()) throw new BadInputException("labels: none given (expected: KEY=VALUE or KEY- at least once)");
        Map<String, String> labels = new TreeMap<>(o.labels());
        for (String c : changes) {
            if (c.endsWith("-") && !c.contains("=")) {
                String k = c.substring(0, c.length() - 1);
                if (!Labels.validKey(k)) throw new BadInputException("label " + c + ": invalid key " + k + " (expected: [prefix/]name)");
                labels.remove(k);
                continue;
            }
            int eq = c.indexOf('=');
            if (eq <= 0) throw new BadInputException("label " + c + " (expected: KEY=VALUE to set or KEY- to remove)");
            String k = c.substring(0, eq), v = c.substring(eq + 1);
            if (!Labels.validKey(k)) throw new BadInputException("label " + c + ": invalid key " + k + " (expected: [prefix/]name, name of at most 63 alphanumerics, '-', '_', '.')");
            if (!Labels.validValue(v)) throw new BadInputException("label " + c + ": invalid value \"" + v + "\" (expected: at most 63 alphanumerics, '-', '_', '.', starting and ending alphanumeric)");
            labels.put(k, v);
        }
        ObjectNode body = copy(o);
        ObjectNode meta = (ObjectNode) body.get("metadata");
        ObjectNode l = meta.objectNode();
        labels.forEach(l::put);
        if (labels.isEmpty()) meta.remove("labels");
        else meta.set("labels", l);
        return body;
    }

    /** A pod's manifest with the kubelet's status: podIP, podIPs, hostIP, phase Running. */
    public static ObjectNode withStatus(ObjectNode podBody, String podIP, String hostIP) {
        ObjectNode b = podBody.deepCopy();
        ObjectNode st = b.objectNode();
        st.put("phase", "Running");
        st.put("hostIP", hostIP);
        st.put("podIP", podIP);
        st.set("podIPs", b.arrayNode().add(b.objectNode().put("ip", podIP)));
        b.set("status", st);
        return b;
    }

    static ObjectNode namespaceBody(String name) {
        ObjectNode b = ManifestStore.YAML.createObjectNode();
        b.put("apiVersion", "v1");
        b.put("kind", "Namespace");
        b.putObject("metadata").put("name", name);
        return b;
    }

    static ObjectNode copy(KubeObject o) {
        ObjectNode b = (ObjectNode) o.body().json().deepCopy();
        if (!o.namespace().isEmpty()) ((ObjectNode) b.get("metadata")).put("namespace", o.namespace());
        return b;
    }

    private static ObjectNode spec(ObjectNode body) {
        JsonNode s = body.get("spec");
        if (s instanceof ObjectNode o) return o;
        return body.putObject("spec");
    }
}
