package dev.sluice.cli.audit;

import dev.sluice.agent.api.AgentClient;
import dev.sluice.config.Values;
import dev.sluice.k8s.Kinds;
import dev.sluice.k8s.KubeObject;
import dev.sluice.lab.Lab;
import dev.sluice.lab.LabNet;
import dev.sluice.lab.LabState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.JsonNode;

/**
 * Gathers an {@link AuditInput} from a live lab: the objects its API server holds, its values, each
 * agent's status, each node namespace's routes and netfilter rules, and DF pings between two pods
 * on different nodes. Reads only; the pings stay inside the lab's namespaces.
 */
final class LabFacts {
    /** What kube-proxy leaves in a node's netfilter tables, whichever backend wrote them. */
    static final List<String> KUBE_PROXY_MARKS = List.of("KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-PROXY", "table ip kube-proxy");
    static final int MIN_PING = 56;

    private LabFacts() {}

    static AuditInput collect(Lab lab) {
        LabState st = lab.state();
        Values values = Files.isRegularFile(lab.dir().values()) ? Values.load(lab.dir().values(), Map.of()) : Values.defaults();
        List<KubeObject> objects = new ArrayList<>();
        for (String kind : List.of(Kinds.NAMESPACE, Kinds.NODE, Kinds.POD, Kinds.SERVICE, Kinds.NETWORK_POLICY, Kinds.CILIUM_NETWORK_POLICY,
                Kinds.CILIUM_CLUSTERWIDE_NETWORK_POLICY))
            objects.addAll(lab.store().all(kind));
        List<AuditInput.NodeFacts> nodes = new ArrayList<>();
        for (var n : st.nodes()) nodes.add(node(n, AgentClient.call(java.nio.file.Path.of(n.socket()), "status", Map.of())));
        return new AuditInput("lab " + lab.name(), values, objects, nodes, probeMtu(lab, st, nodes));
    }

    static final String PROBE_NS = "sluice-audit";

    /**
     * The path MTU between the first pods on two nodes; when policies keep ICMP from them (a
     * default deny does), between two probe pods the audit starts for the purpose in its own
     * namespace, one on each of the first two nodes, and removes afterwards (the empty namespace
     * stays, as the connectivity test's do).
     */
    static AuditInput.MtuProbe probeMtu(Lab lab, LabState st, List<AuditInput.NodeFacts> nodes) {
        var existing = probeMtu(st, nodes, p -> !p.pod().startsWith(PROBE_NS + "/"));
        if (existing == null && st.nodes().size() < 2) return null;
        if (existing != null && existing.pathMtu() > 0) return existing;
        String namespace = "apiVersion: v1\nkind: Namespace\nmetadata: {name: " + PROBE_NS + "}\n---\n";
        String pods = probePod("mtu-a", st.nodes().get(0).name()) + "---\n" + probePod("mtu-b", st.nodes().get(1).name());
        try {
            Path f = Files.createTempFile("sluice-audit", ".yaml"), contents = Files.createTempFile("sluice-audit", ".yaml");
            try {
                Files.writeString(f, namespace + pods);
                Files.writeString(contents, pods);
                lab.apply(List.of(f));
                try {
                    return probeMtu(lab.state(), nodes, p -> p.pod().startsWith(PROBE_NS + "/"));
                } finally {
                    lab.delete(List.of(contents));
                }
            } finally {
                Files.deleteIfExists(f);
                Files.deleteIfExists(contents);
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static String probePod(String name, String node) {
        return "apiVersion: v1\nkind: Pod\nmetadata: {name: " + name + ", namespace: " + PROBE_NS + ", labels: {app: sluice-audit-mtu}}\n"
                + "spec: {nodeName: " + node + ", containers: [{name: c}]}\n";
    }

    static AuditInput.NodeFacts node(LabState.NodeState n, JsonNode status) {
        JsonNode ct = status.path("services").path("conntrack");
        List<String> routes = LabNet.exec(n.netns(), List.of("ip", "route", "show"), 10_000).stdout().lines().filter(l -> !l.isBlank()).toList();
        List<String> rules = new ArrayList<>();
        for (List<String> cmd : List.of(List.of("iptables-save"), List.of("iptables-legacy-save"), List.of("nft", "list", "ruleset"))) {
            String out;
            try {
                out = LabNet.exec(n.netns(), cmd, 10_000).stdout();
            } catch (RuntimeException e) {
                continue; // that tool is not installed: nothing it could show
            }
            for (String l : out.lines().toList())
                if (KUBE_PROXY_MARKS.stream().anyMatch(l::contains) && (l.startsWith(":") || l.strip().startsWith("chain") || l.startsWith("table")))
                    rules.add(cmd.getFirst() + ": " + l.strip().replaceAll("\\s*\\{$", ""));
        }
        return new AuditInput.NodeFacts(n.name(), n.podCIDR(), status.path("mtu").path("underlay").asInt(), status.path("mtu").path("pod").asInt(),
                status.path("ipam").path("used").asInt(), status.path("ipam").path("capacity").asInt(),
                ct.path("fillTcp").asLong(), ct.path("maxTcp").asLong(), ct.path("fillAny").asLong(), ct.path("maxAny").asLong(),
                ct.path("refusedFull").asLong(), status.path("services").path("kubeProxyReplacement").asBoolean(true), routes,
                rules.stream().distinct().toList());
    }

    /**
     * DF pings of the pod MTU from the first pod (by name) to the first pod on another node; when
     * that is not answered, a binary search between the smallest ping and the pod MTU for the
     * largest packet that crosses.
     */
    static AuditInput.MtuProbe probeMtu(LabState st, List<AuditInput.NodeFacts> nodes, java.util.function.Predicate<LabState.PodState> which) {
        var pods = st.pods().values().stream().filter(p -> p.ip() != null && !p.ip().isEmpty()).filter(which).sorted(Comparator.comparing(LabState.PodState::pod)).toList();
        for (var from : pods) {
            var to = pods.stream().filter(p -> !p.node().equals(from.node())).findFirst();
            if (to.isEmpty()) continue;
            // the first pair only: a pair that does not answer is not worth a second one's timeouts
            int podMtu = nodes.stream().filter(n -> n.node().equals(from.node())).mapToInt(AuditInput.NodeFacts::podMtu).findFirst().orElse(1500);
            List<String> tried = new ArrayList<>();
            java.util.function.IntPredicate ping = size -> {
                boolean ok = LabNet.exec(from.netns(), List.of("ping", "-n", "-q", "-M", "do", "-c", "1", "-W", "1", "-s", Integer.toString(size), to.get().ip()),
                        10_000).ok();
                tried.add((size + 28) + (ok ? " ok" : " lost"));
                return ok;
            };
            int path;
            if (ping.test(podMtu - 28)) path = podMtu;
            else if (!ping.test(MIN_PING)) path = 0;
            else {
                int lo = MIN_PING, hi = podMtu - 28; // lo answered, hi did not
                while (hi - lo > 1) {
                    int mid = (lo + hi) >>> 1;
                    if (ping.test(mid)) lo = mid; else hi = mid;
                }
                path = lo + 28;
            }
            return new AuditInput.MtuProbe(from.pod(), to.get().pod(), to.get().ip(), podMtu, path, tried);
        }
        return null;
    }
}
