package dev.sluice.lab.api;

import dev.sluice.k8s.EndpointSlice;
import dev.sluice.k8s.KubeObject;
import dev.sluice.k8s.ManifestException;
import dev.sluice.k8s.ManifestReader;
import dev.sluice.k8s.Pod;
import dev.sluice.k8s.Service;
import dev.sluice.net.Ip;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * The lab's EndpointSlice controller, as kube-controller-manager's: for every Service with a
 * selector, slices (managed-by {@code sluice-lab}) listing the ready pods it selects with the
 * Service's ports resolved on each pod (named target ports per pod; pods that resolve the ports
 * differently go into different slices). It runs inside the API server on every Pod and Service
 * event, so slices follow in the same resourceVersion order a real controller's writes would.
 * A pod is ready when it is scheduled and has an IPv4 address (the lab has no readiness probes).
 */
final class EndpointSliceController {
    static final String MANAGED_BY = "sluice-lab";

    /** Writes the controller makes: create or replace, and delete. */
    interface Writer {
        void put(String ns, String name, ObjectNode slice);

        void delete(String ns, String name);
    }

    /** The names of the slices this controller wrote, per Service ({@code ns/name}): no pass over all slices per change. */
    private final Map<String, java.util.Set<String>> written = new HashMap<>();

    private final Map<String, Service> services = new HashMap<>();
    private final Map<String, Map<String, Pod>> podsByNs = new HashMap<>();

    /** A Pod or Service changed ({@code now} null when deleted); reconciles the Services it concerns. */
    void changed(Writer w, String kind, String ns, String name, JsonNode before, JsonNode now) {
        List<Service> affected = new ArrayList<>();
        if (kind.equals("Service")) {
            String key = ns + "/" + name;
            Service s = now == null ? null : decode(now, Service::decode);
            if (s == null) services.remove(key);
            else services.put(key, s);
            if (s == null || s.selector().isEmpty()) {
                for (String slice : written.getOrDefault(key, java.util.Set.of())) w.delete(ns, slice);
                written.remove(key);
                return;
            }
            affected.add(s);
        } else {
            Pod was = before == null ? null : decode(before, Pod::decode);
            Pod is = now == null ? null : decode(now, Pod::decode);
            var pods = podsByNs.computeIfAbsent(ns, k -> new TreeMap<>());
            if (is == null) pods.remove(name);
            else pods.put(name, is);
            if (is != null && was != null && is.equals(was)) return;
            for (Service s : services.values())
                if (s.namespace().equals(ns) && !s.selector().isEmpty() && ((was != null && s.selects(was)) || (is != null && s.selects(is))))
                    affected.add(s);
        }
        for (Service s : affected) reconcile(w, s);
    }

    private void reconcile(Writer w, Service s) {
        Map<String, ObjectNode> want = desired(s, podsByNs.getOrDefault(s.namespace(), Map.of()).values());
        var have = written.computeIfAbsent(s.key(), k -> new java.util.TreeSet<>());
        for (String n : List.copyOf(have)) if (!want.containsKey(n)) w.delete(s.namespace(), n);
        want.forEach((n, slice) -> w.put(s.namespace(), n, slice));
        have.clear();
        have.addAll(want.keySet());
    }

    /** The slices a Service should have, by name. */
    static Map<String, ObjectNode> desired(Service s, Iterable<Pod> pods) {
        // pods grouped by their resolved ports, keyed by the ports' text (which also names the slice)
        Map<String, List<Pod>> groups = new TreeMap<>();
        Map<String, List<EndpointSlice.SlicePort>> portsOf = new HashMap<>();
        for (Pod p : pods) {
            if (!s.selects(p) || p.nodeName().isEmpty() || !Ip.isIpv4(p.podIP())) continue;
            List<EndpointSlice.SlicePort> ports = new ArrayList<>();
            for (Service.ServicePort sp : s.ports()) {
                int target = sp.targetPort();
                if (!sp.targetPortName().isEmpty()) {
                    var cp = p.namedPort(sp.targetPortName(), sp.protocol());
                    if (cp.isEmpty()) continue;
                    target = cp.get().port();
                }
                ports.add(new EndpointSlice.SlicePort(sp.name(), target, sp.protocol()));
            }
            String k = ports.toString();
            portsOf.putIfAbsent(k, ports);
            groups.computeIfAbsent(k, x -> new ArrayList<>()).add(p);
        }
        Map<String, ObjectNode> out = new TreeMap<>();
        if (groups.isEmpty()) { // an empty slice says "no endpoints", as the real controller's does
            groups.put(List.of().toString(), List.of());
            portsOf.put(List.of().toString(), List.of());
        }
        for (var g : groups.entrySet()) {
            String hash = Integer.toHexString(g.getKey().hashCode());
            String name = s.name() + "-" + "00000000".substring(hash.length()) + hash;
            ObjectNode slice = ApiTypes.JSON.createObjectNode().put("apiVersion", "discovery.k8s.io/v1").put("kind", "EndpointSlice");
            ObjectNode meta = slice.putObject("metadata").put("name", name).put("namespace", s.namespace());
            meta.putObject("labels").put(EndpointSlice.SERVICE_NAME_LABEL, s.name()).put(EndpointSlice.MANAGED_BY_LABEL, MANAGED_BY);
            slice.put("addressType", "IPv4");
            ArrayNode eps = slice.putArray("endpoints");
            g.getValue().stream().sorted((a, b) -> Integer.compareUnsigned(Ip.parse(a.podIP()), Ip.parse(b.podIP()))).forEach(p -> {
                ObjectNode e = eps.addObject();
                e.putArray("addresses").add(p.podIP());
                e.putObject("conditions").put("ready", true).put("serving", true).put("terminating", false);
                e.put("nodeName", p.nodeName());
                e.putObject("targetRef").put("kind", "Pod").put("namespace", p.namespace()).put("name", p.name());
            });
            ArrayNode ports = slice.putArray("ports");
            for (var p : portsOf.get(g.getKey())) {
                ObjectNode po = ports.addObject().put("port", p.port()).put("protocol", p.protocol().name());
                po.put("name", p.name());
            }
            out.put(name, slice);
        }
        return out;
    }

    private interface Decoder<T> {
        T decode(KubeObject o);
    }

    private static <T> T decode(JsonNode body, Decoder<T> d) {
        try {
            return d.decode(ManifestReader.object("api", body));
        } catch (ManifestException e) {
            return null; // what does not decode selects nothing, as the agents see it
        }
    }
}
