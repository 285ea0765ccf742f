package dev.sluice.cli.connectivity;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A named connectivity scenario: the workloads and policies it deploys in its own namespace and
 * the connections it expects to succeed or be refused. Pure data; {@link Runner} acts on it.
 *
 * @param contents the objects it deploys in its namespace (YAML documents)
 * @param skip     why the scenario does not run ("" when it does)
 */
public record Scenario(String name, String description, String contents, List<Expect> expects, String skip) {
    public static final String PREFIX = "sluice-ct-";

    public Scenario {
        expects = List.copyOf(expects);
    }

    /** The test namespace: one per scenario, so scenarios cannot see each other's policies. */
    public String namespace() { return PREFIX + name; }

    /** What {@code lab apply} gets: the namespace, then its contents. */
    public String manifests() { return namespaceObject(namespace()) + contents; }

    /**
     * One connection: from a source to a destination on a TCP port, and what must happen.
     *
     * @param from   {@code pod:NAME} (in the scenario's namespace), {@code node1}/{@code node2} (the
     *               node's own namespace) or {@code world}
     * @param to     {@code pod:NAME}, {@code service:NAME} (its ClusterIP), {@code nodeport:NAME@NODE},
     *               {@code lb:NAME} (its LoadBalancer IP) or {@code world}
     * @param allow  whether the connection must succeed
     * @param policy for a refused connection: the policy (name in the scenario's namespace) the
     *               recorded drop must name, with reason POLICY_DENIED; "" to not check flows
     */
    public record Expect(String from, String to, int port, boolean allow, String policy) {
        public String describe() { return from + " -> " + to + ":" + port + " " + (allow ? "allowed" : "denied"); }
    }

    static final int PORT = 80;

    static String pod(String ns, String name, String app, String node) {
        return "apiVersion: v1\nkind: Pod\nmetadata: {name: " + name + ", namespace: " + ns + ", labels: {app: " + app + "}}\n"
                + "spec: {nodeName: " + node + ", containers: [{name: c, ports: [{containerPort: " + PORT + "}]}]}\n---\n";
    }

    static String service(String ns, String name, String type, String app) {
        return "apiVersion: v1\nkind: Service\nmetadata: {name: " + name + ", namespace: " + ns + "}\n"
                + "spec: {type: " + type + ", selector: {app: " + app + "}, ports: [{port: " + PORT + "}]}\n---\n";
    }

    static String namespaceObject(String ns) {
        return "apiVersion: v1\nkind: Namespace\nmetadata: {name: " + ns + "}\n---\n";
    }

    /**
     * What of the lab decides which scenarios can run: its node count, whether it hands out
     * LoadBalancer IPs, whether pods leave with the node's address (the world host has no route back
     * to pod addresses otherwise).
     */
    public record Lab(int nodes, boolean lbPool, boolean masquerade) {
        /** For listing: every scenario runnable. */
        public static final Lab ANY = new Lab(2, true, true);
    }

    /** Every scenario, as Cilium's connectivity test names them, with why one cannot run on this lab. */
    public static List<Scenario> all(Lab lab) {
        int nodes = lab.nodes();
        List<Scenario> out = new ArrayList<>();
        String other = nodes >= 2 ? "node2" : "node1";
        String twoNodes = nodes >= 2 ? "" : "needs a lab with 2 nodes";
        out.add(make("pod-to-pod-same-node", "a client reaches a pod on its own node", "",
                ns -> pod(ns, "client", "client", "node1") + pod(ns, "echo-same", "echo", "node1"),
                List.of(new Expect("pod:client", "pod:echo-same", PORT, true, ""))));
        out.add(make("pod-to-pod-other-node", "a client reaches a pod on another node", twoNodes,
                ns -> pod(ns, "client", "client", "node1") + pod(ns, "echo-other", "echo", other),
                List.of(new Expect("pod:client", "pod:echo-other", PORT, true, ""))));
        out.add(make("pod-to-service", "a client reaches a pod on another node through its ClusterIP", "",
                ns -> pod(ns, "client", "client", "node1") + pod(ns, "echo-other", "echo", other) + service(ns, "echo", "ClusterIP", "echo"),
                List.of(new Expect("pod:client", "service:echo", PORT, true, ""))));
        out.add(make("pod-to-world", "a client reaches the world host (the lab's world namespace)",
                lab.masquerade() ? "" : "the lab runs without bpf.masquerade: the world host has no route back to pod addresses",
                ns -> pod(ns, "client", "client", "node1"),
                List.of(new Expect("pod:client", "world", PORT, true, ""))));
        out.add(make("host-to-pod", "each node's own namespace reaches a pod, on its node and across", "",
                ns -> pod(ns, "echo-other", "echo", other),
                nodes >= 2 ? List.of(new Expect("node1", "pod:echo-other", PORT, true, ""), new Expect("node2", "pod:echo-other", PORT, true, ""))
                        : List.of(new Expect("node1", "pod:echo-other", PORT, true, ""))));
        out.add(make("nodeport-from-world", "the world reaches a NodePort Service on every node", "",
                ns -> pod(ns, "echo-other", "echo", other) + service(ns, "echo", "NodePort", "echo"),
                nodes >= 2 ? List.of(new Expect("world", "nodeport:echo@node1", PORT, true, ""), new Expect("world", "nodeport:echo@node2", PORT, true, ""))
                        : List.of(new Expect("world", "nodeport:echo@node1", PORT, true, ""))));
        out.add(make("lb-from-world", "the world reaches a LoadBalancer Service's IP", lab.lbPool() ? "" : "the lab has no LoadBalancer IP pool (values lbExternalIPPool.cidr)",
                ns -> pod(ns, "echo-other", "echo", other) + service(ns, "echo", "LoadBalancer", "echo"),
                List.of(new Expect("world", "lb:echo", PORT, true, ""))));
        out.add(make("client-ingress", "a policy admits only the client: the client gets in, another pod is dropped", "",
                ns -> pod(ns, "client", "client", "node1") + pod(ns, "other", "other", "node1") + pod(ns, "echo-other", "echo", other)
                        + "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: client-ingress, namespace: " + ns + "}\n"
                        + "spec:\n  podSelector: {matchLabels: {app: echo}}\n  ingress:\n  - from: [{podSelector: {matchLabels: {app: client}}}]\n---\n",
                List.of(new Expect("pod:client", "pod:echo-other", PORT, true, ""), new Expect("pod:other", "pod:echo-other", PORT, false, "client-ingress"))));
        out.add(make("all-ingress-deny", "a default deny for ingress drops a client's connection", "",
                ns -> pod(ns, "client", "client", "node1") + pod(ns, "echo-other", "echo", other)
                        + "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: all-ingress-deny, namespace: " + ns + "}\n"
                        + "spec: {podSelector: {}, policyTypes: [Ingress]}\n---\n",
                List.of(new Expect("pod:client", "pod:echo-other", PORT, false, "all-ingress-deny"))));
        out.add(make("all-egress-deny", "a default deny for egress drops a client's connection", "",
                ns -> pod(ns, "client", "client", "node1") + pod(ns, "echo-other", "echo", other)
                        + "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: all-egress-deny, namespace: " + ns + "}\n"
                        + "spec: {podSelector: {}, policyTypes: [Egress]}\n---\n",
                List.of(new Expect("pod:client", "pod:echo-other", PORT, false, "all-egress-deny"))));
        out.add(new Scenario("echo-ingress-l7", "an HTTP rule admits GET / only", "", List.of(), "the connectivity test checks TCP connections, not HTTP answers, yet (L7 policy itself: L7PolicyIT, docs/l7-proxy.md)"));
        out.add(new Scenario("to-fqdns", "egress by DNS name", "", List.of(), "the connectivity test does not set up lab DNS names yet (toFQDNs itself: FqdnPolicyIT, docs/dns.md)"));
        return out;
    }

    private static Scenario make(String name, String description, String skip, java.util.function.UnaryOperator<String> manifests, List<Expect> expects) {
        String ns = PREFIX + name;
        return new Scenario(name, description, manifests.apply(ns), expects, skip);
    }

    /**
     * The scenarios a {@code --test} filter picks: each filter is a name or a regular expression
     * matched against whole names; none means all. Bad input naming a filter that picks nothing.
     */
    public static List<Scenario> select(List<Scenario> all, List<String> filters) {
        if (filters == null || filters.isEmpty()) return all;
        List<Scenario> out = new ArrayList<>();
        for (String f : filters) {
            Pattern p;
            try {
                p = Pattern.compile(f);
            } catch (java.util.regex.PatternSyntaxException e) {
                throw new dev.sluice.BadInputException("--test: " + f + " (expected: a scenario name or a regular expression; " + e.getDescription() + ")");
            }
            List<Scenario> hit = all.stream().filter(s -> s.name().equals(f) || p.matcher(s.name()).matches()).toList();
            if (hit.isEmpty())
                throw new dev.sluice.BadInputException("--test: " + f + " (expected one of: " + String.join(", ", all.stream().map(Scenario::name).toList()) + ")");
            for (Scenario s : hit) if (!out.contains(s)) out.add(s);
        }
        return all.stream().filter(out::contains).toList();
    }
}
