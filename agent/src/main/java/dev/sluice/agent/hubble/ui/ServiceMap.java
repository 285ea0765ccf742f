package dev.sluice.agent.hubble.ui;

import dev.sluice.agent.flow.Flow;
import dev.sluice.agent.flow.PolicyRef;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * The UI's service map, drawn from flows: a node per workload (a pod's workload, else its name
 * without the ReplicaSet and pod hash suffixes; {@code world}, {@code host} and the other reserved
 * identities as themselves) and an edge per direction between two of them, with its flows counted
 * by verdict. An edge's verdict is the worst it saw (DROPPED, then AUDIT, then FORWARDED), so one
 * denied connection among many allowed ones still shows red; its {@code deniedBy} names the
 * policies of its drops. Replies and translated flows draw nothing: the request's flow already
 * does, and a translated flow's destination is the Service's address, not a workload.
 *
 * <p>Pure: same flows in, same map out (nodes and edges sorted by id), so the UI's layout is
 * deterministic and a golden test can hold it.
 */
public final class ServiceMap {
    private ServiceMap() {}

    /** A workload, or a reserved identity ({@code kind} world, host, ...). */
    public record Node(String id, String name, String namespace, String kind) {}

    /** Flows from one node to another: counts by verdict, destination ports ({@code 8080/TCP}, sorted as text), and the policies that denied some. */
    public record Edge(String source, String target, String verdict, Map<String, Integer> verdicts, List<String> ports, List<String> deniedBy) {}

    public record Graph(List<Node> nodes, List<Edge> edges) {}

    /** A Deployment's pod: name-{ReplicaSet hash}-{pod hash}; a DaemonSet's, StatefulSet-less Job's: name-{hash}. */
    private static final Pattern DEPLOYMENT_POD = Pattern.compile("(.+)-[bcdfghjklmnpqrstvwxz2456789]{6,10}-[bcdfghjklmnpqrstvwxz2456789]{5}");
    private static final Pattern HASHED_POD = Pattern.compile("(.+)-[bcdfghjklmnpqrstvwxz2456789]{5}");

    /** A pod's workload name as the map shows it: the flow's workload when it names one, else the pod name without its hash suffixes. */
    public static String workload(Flow.Endpoint e) {
        if (!e.workloads().isEmpty() && !e.workloads().getFirst().name().isEmpty()) return e.workloads().getFirst().name();
        return workload(e.podName());
    }

    static String workload(String pod) {
        var m = DEPLOYMENT_POD.matcher(pod);
        if (m.matches()) return m.group(1);
        m = HASHED_POD.matcher(pod);
        return m.matches() ? m.group(1) : pod;
    }

    static Node node(Flow.Endpoint e) {
        if (!e.podName().isEmpty()) {
            String w = workload(e);
            return new Node(e.namespace() + "/" + w, w, e.namespace(), "workload");
        }
        for (String l : e.labels())
            if (l.startsWith("reserved:")) {
                String r = l.substring("reserved:".length());
                // a remote node is a host too, as far as a namespace's map goes
                String kind = r.equals("remote-node") ? "host" : r;
                return new Node(kind, kind, "", kind);
            }
        return new Node("world", "world", "", "world");
    }

    /** {@code 8080/TCP}; nothing for ICMP and other protocols. */
    static String port(Flow.L4 l4) {
        String proto = switch (l4) {
            case Flow.Tcp t -> "TCP";
            case Flow.Udp u -> "UDP";
            case Flow.Sctp s -> "SCTP";
            default -> "";
        };
        return proto.isEmpty() || l4.destinationPort() == 0 ? "" : l4.destinationPort() + "/" + proto;
    }

    private static int rank(String verdict) {
        return switch (verdict) { case "DROPPED" -> 3; case "AUDIT" -> 2; case "FORWARDED" -> 1; default -> 0; };
    }

    /** The map of these flows; with a namespace, of the flows from or to it only (their other ends stay on the map). */
    public static Graph of(List<Flow> flows, String namespace) {
        Map<String, Node> nodes = new TreeMap<>();
        record Acc(Map<String, Integer> verdicts, TreeSet<String> ports, TreeSet<String> deniedBy) {}
        Map<String, Acc> edges = new TreeMap<>();
        Map<String, String[]> ends = new TreeMap<>();
        for (Flow f : flows) {
            if (f.verdict() == Flow.Verdict.TRANSLATED || Boolean.TRUE.equals(f.isReply())) continue;
            if (namespace != null && !namespace.isEmpty() && !namespace.equals(f.source().namespace()) && !namespace.equals(f.destination().namespace()))
                continue;
            Node s = node(f.source()), d = node(f.destination());
            nodes.put(s.id(), s);
            nodes.put(d.id(), d);
            String key = s.id() + " -> " + d.id();
            ends.put(key, new String[] {s.id(), d.id()});
            Acc a = edges.computeIfAbsent(key, k -> new Acc(new TreeMap<>(), new TreeSet<>(), new TreeSet<>()));
            a.verdicts().merge(f.verdict().name(), 1, Integer::sum);
            String port = port(f.l4());
            if (!port.isEmpty()) a.ports().add(port);
            if (f.verdict() == Flow.Verdict.DROPPED || f.verdict() == Flow.Verdict.AUDIT)
                for (List<PolicyRef> refs : List.of(f.ingressDeniedBy(), f.egressDeniedBy()))
                    for (PolicyRef p : refs) a.deniedBy().add(p.kind() + " " + (p.namespace().isEmpty() ? "" : p.namespace() + "/") + p.name());
        }
        List<Edge> out = new ArrayList<>();
        edges.forEach((k, a) -> {
            String worst = a.verdicts().keySet().stream().max((x, y) -> Integer.compare(rank(x), rank(y))).orElseThrow();
            out.add(new Edge(ends.get(k)[0], ends.get(k)[1], worst, a.verdicts(), List.copyOf(a.ports()), List.copyOf(a.deniedBy())));
        });
        return new Graph(List.copyOf(nodes.values()), out);
    }
}
