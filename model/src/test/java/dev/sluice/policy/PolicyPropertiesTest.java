package dev.sluice.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.k8s.ManifestReader;
import dev.sluice.k8s.Namespace;
import dev.sluice.k8s.Pod;
import dev.sluice.k8s.Protocol;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Properties over seeded random policies on the e2e model. Each case prints its seed; rerun one
 * by putting that seed in {@link #seeds()}.
 */
class PolicyPropertiesTest {
    static Stream<Long> seeds() {
        long base = Long.getLong("sluice.seed", 20240601L);
        return IntStream.range(0, 40).mapToObj(i -> base + i * 7919L);
    }

    static final List<String> NS = List.of("x", "y", "z"), PODS = List.of("a", "b", "c");

    static <T> T pick(SplittableRandom r, List<T> l) { return l.get(r.nextInt(l.size())); }

    static String selector(SplittableRandom r, String key, List<String> values) {
        return switch (r.nextInt(4)) {
            case 0 -> "{}";
            case 1 -> "{matchLabels: {" + key + ": " + pick(r, values) + "}}";
            case 2 -> "{matchExpressions: [{key: " + key + ", operator: In, values: [" + pick(r, values) + ", " + pick(r, values) + "]}]}";
            default -> "{matchExpressions: [{key: " + key + ", operator: NotIn, values: [" + pick(r, values) + "]}]}";
        };
    }

    static String block(SplittableRandom r) {
        int n = 1 + r.nextInt(3);
        return "{cidr: 10.0." + n + ".0/24, except: [10.0." + n + "." + (1 + r.nextInt(3)) + "/32]}";
    }

    static String ports(SplittableRandom r, boolean cilium) {
        return switch (r.nextInt(5)) {
            case 0 -> "";
            case 1 -> cilium ? "  toPorts: [{ports: [{port: \"80\", protocol: TCP}]}]\n" : "  ports: [{port: 80}]\n";
            case 2 -> cilium ? "  toPorts: [{ports: [{port: \"80\", endPort: 81}]}]\n" : "  ports: [{port: 80, endPort: 81, protocol: UDP}]\n";
            case 3 -> cilium ? "  toPorts: [{ports: [{port: serve-81-tcp, protocol: TCP}]}]\n" : "  ports: [{port: serve-81-tcp}]\n";
            default -> cilium ? "  toPorts: [{ports: [{port: \"81\", protocol: UDP}]}]\n" : "  ports: [{protocol: UDP}]\n";
        };
    }

    static String k8sRule(SplittableRandom r, String dir) {
        String field = dir.equals("ingress") ? "from" : "to";
        String peers = switch (r.nextInt(5)) {
            case 0 -> "";
            case 1 -> "  " + field + ":\n  - podSelector: " + selector(r, "pod", PODS) + "\n";
            case 2 -> "  " + field + ":\n  - namespaceSelector: " + selector(r, "kubernetes.io/metadata.name", NS) + "\n";
            case 3 -> "  " + field + ":\n  - namespaceSelector: " + selector(r, "kubernetes.io/metadata.name", NS) + "\n    podSelector: " + selector(r, "pod", PODS) + "\n";
            default -> "  " + field + ":\n  - ipBlock: " + block(r) + "\n";
        };
        String body = peers + ports(r, false);
        return body.isEmpty() ? "- {}\n" : "-" + body.substring(1);
    }

    static final List<String> FQDNS = List.of("{matchName: a.io}", "{matchPattern: '*.a.io'}", "{matchPattern: '*'}");
    static final List<FqdnSelector> SELECTORS = List.of(FqdnSelector.name("a.io"), FqdnSelector.pattern("*.a.io"), FqdnSelector.pattern("*"));

    /** L7 ports of an allow rule: HTTP on TCP 80 or 53, DNS on 53 (egress only), so the two proxies can meet on one port. */
    static String l7Ports(SplittableRandom r, String dir) {
        boolean dns = dir.equals("egress") && r.nextBoolean();
        if (dns) return "  toPorts: [{ports: [{port: \"53\"" + (r.nextBoolean() ? ", protocol: UDP" : "") + "}], rules: {dns: [" + pick(r, FQDNS) + "]}}]\n";
        return "  toPorts: [{ports: [{port: \"" + pick(r, List.of("80", "53")) + "\", protocol: TCP}], rules: {http: [{method: GET}]}}]\n";
    }

    static String ciliumRule(SplittableRandom r, String dir, boolean deny) {
        String pre = dir.equals("ingress") ? "from" : "to";
        if (dir.equals("egress") && !deny && r.nextInt(4) == 0) {
            String fq = "  toFQDNs: [" + pick(r, FQDNS) + "]\n";
            return "-" + (fq + (r.nextBoolean() ? ports(r, true) : r.nextBoolean() ? l7Ports(r, dir) : "")).substring(1);
        }
        if (!deny && r.nextInt(5) == 0) {
            String peers = r.nextBoolean() ? "" : "  " + pre + "Endpoints: [" + selector(r, "pod", PODS) + "]\n";
            return "-" + (peers + l7Ports(r, dir)).substring(1);
        }
        String peers = switch (r.nextInt(5)) {
            case 0 -> "";
            case 1 -> "  " + pre + "Endpoints: [" + selector(r, "pod", PODS) + "]\n";
            case 2 -> "  " + pre + "Endpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: " + pick(r, NS) + "}}]\n";
            case 3 -> "  " + pre + "Entities: [" + pick(r, List.of("cluster", "world", "all", "host")) + "]\n";
            default -> "  " + pre + "CIDRSet: [" + block(r) + "]\n";
        };
        String body = peers + ports(r, true);
        return body.isEmpty() ? "- {}\n" : "-" + body.substring(1);
    }

    static String randomPolicy(SplittableRandom r, String name, boolean allowDeny) {
        String ns = pick(r, NS);
        if (r.nextBoolean()) {
            StringBuilder sb = new StringBuilder("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: " + name + ", namespace: " + ns + "}\nspec:\n  podSelector: " + selector(r, "pod", PODS) + "\n");
            if (r.nextInt(3) == 0) sb.append("  policyTypes: [").append(pick(r, List.of("Ingress", "Egress", "Ingress, Egress"))).append("]\n");
            for (String dir : List.of("ingress", "egress")) {
                int n = r.nextInt(3);
                if (n == 0) continue;
                sb.append("  ").append(dir).append(":\n");
                for (int i = 0; i < n; i++) sb.append(k8sRule(r, dir).indent(2));
            }
            return sb.append("---\n").toString();
        }
        StringBuilder sb = new StringBuilder("apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: " + name + ", namespace: " + ns + "}\nspec:\n  endpointSelector: " + selector(r, "pod", PODS) + "\n");
        for (String section : allowDeny ? List.of("ingress", "egress", "ingressDeny", "egressDeny") : List.of("ingress", "egress")) {
            int n = r.nextInt(3);
            if (n == 0) continue;
            sb.append("  ").append(section).append(":\n");
            for (int i = 0; i < n; i++) sb.append(ciliumRule(r, section.replace("Deny", ""), section.endsWith("Deny")).indent(2));
        }
        return sb.append("---\n").toString();
    }

    static List<String> randomPolicies(SplittableRandom r, int n) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) out.add(randomPolicy(r, "p" + i, true));
        return out;
    }

    static final List<Object[]> PROBES = List.of(new Object[] {"80", Protocol.TCP}, new Object[] {"81", Protocol.TCP},
            new Object[] {"80", Protocol.UDP}, new Object[] {"81", Protocol.UDP}, new Object[] {"serve-81-tcp", Protocol.TCP});

    /** allowed[probe][from][to] as one string per probe. */
    static List<String> matrices(String policies, EngineConfig cfg) {
        List<String> out = new ArrayList<>();
        for (Object[] p : PROBES) out.add(E2eModel.matrix(policies, (String) p[0], (Protocol) p[1], cfg));
        return out;
    }

    static boolean noMoreAllowed(List<String> after, List<String> before) {
        for (int i = 0; i < after.size(); i++) {
            String a = after.get(i), b = before.get(i);
            for (int j = 0; j < a.length(); j++) if (a.charAt(j) == '.' && b.charAt(j) == 'X') return false;
        }
        return true;
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void addingADenyNeverAllowsMore(long seed) {
        System.out.println("addingADenyNeverAllowsMore seed=" + seed);
        var r = new SplittableRandom(seed);
        String base = String.join("", randomPolicies(r, 1 + r.nextInt(4)));
        String deny = "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: deny, namespace: " + pick(r, NS) + "}\nspec:\n  endpointSelector: " + selector(r, "pod", PODS) + "\n"
                + (r.nextBoolean() ? "  enableDefaultDeny: {ingress: false, egress: false}\n" : "")
                + "  ingressDeny:\n" + ciliumRule(r, "ingress", true).indent(2) + "  egressDeny:\n" + ciliumRule(r, "egress", true).indent(2) + "---\n";
        assertThat(noMoreAllowed(matrices(base + deny, EngineConfig.DEFAULT), matrices(base, EngineConfig.DEFAULT))).as("seed " + seed).isTrue();
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void addingAnAllowNeverDeniesMore(long seed) {
        System.out.println("addingAnAllowNeverDeniesMore seed=" + seed);
        var r = new SplittableRandom(seed);
        String base = String.join("", randomPolicies(r, 1 + r.nextInt(4)));
        String allow = "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: allow, namespace: " + pick(r, NS) + "}\nspec:\n  endpointSelector: " + selector(r, "pod", PODS) + "\n"
                + "  enableDefaultDeny: {ingress: false, egress: false}\n"
                + "  ingress:\n" + ciliumRule(r, "ingress", false).indent(2) + "  egress:\n" + ciliumRule(r, "egress", false).indent(2) + "---\n";
        // Default deny is what the new allow policy turns off; a Kubernetes allow would turn it on.
        for (EngineConfig cfg : List.of(EngineConfig.DEFAULT, EngineConfig.DEFAULT.withMode("always")))
            assertThat(noMoreAllowed(matrices(base, cfg), matrices(base + allow, cfg))).as("seed " + seed).isTrue();
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void resultDoesNotDependOnOrder(long seed) {
        System.out.println("resultDoesNotDependOnOrder seed=" + seed);
        var r = new SplittableRandom(seed);
        List<String> pols = randomPolicies(r, 2 + r.nextInt(4));
        var e1 = E2eModel.engine(String.join("", pols), EngineConfig.DEFAULT);
        List<String> shuffled = new ArrayList<>(pols);
        Collections.shuffle(shuffled, new Random(seed));
        var e2 = E2eModel.engine(String.join("", shuffled), EngineConfig.DEFAULT);
        assertThat(PolicyMapText.render(e2.result())).isEqualTo(PolicyMapText.render(e1.result()));
        // Rules in reverse order within each policy: same reachability (origins name other indexes).
        var reversed = new ArrayList<Policy>();
        for (Policy p : e1.inputs().policies()) reversed.add(new Policy(p.kind(), p.namespace(), p.name(), p.file(), p.rules().reversed()));
        var e3 = new PolicyEngine(EngineConfig.DEFAULT);
        e3.load(new PolicyInputs(e1.inputs().namespaces(), e1.inputs().pods(), reversed));
        assertThat(PolicyMapText.render(e3.result())).isEqualTo(PolicyMapText.render(e1.result()));
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void emptyPeerListAllowsNothing(long seed) {
        System.out.println("emptyPeerListAllowsNothing seed=" + seed);
        var r = new SplittableRandom(seed);
        String base = String.join("", randomPolicies(r, 1 + r.nextInt(3)));
        String empty = "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: empty, namespace: " + pick(r, NS) + "}\nspec:\n  endpointSelector: {}\n"
                + "  enableDefaultDeny: {ingress: false, egress: false}\n  ingress:\n  - fromEndpoints: []\n  egress:\n  - {}\n---\n";
        var a = E2eModel.engine(base, EngineConfig.DEFAULT).result();
        var b = E2eModel.engine(base + empty, EngineConfig.DEFAULT).result();
        for (String ep : a.endpoints().keySet())
            assertThat(b.endpoints().get(ep).state().entries()).as("seed " + seed + " " + ep).isEqualTo(a.endpoints().get(ep).state().entries());
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void incrementalEqualsFromScratch(long seed) {
        System.out.println("incrementalEqualsFromScratch seed=" + seed);
        var r = new SplittableRandom(seed);
        var engine = E2eModel.engine(String.join("", randomPolicies(r, 1 + r.nextInt(3))), EngineConfig.DEFAULT);
        Map<String, Map<PolicyKey, PolicyValue>> mirror = new TreeMap<>();
        engine.result().endpoints().forEach((k, v) -> mirror.put(k, new TreeMap<>(v.state().entries())));
        for (int step = 0; step < 12; step++) {
            Change c = randomChange(r, engine, step);
            Map<String, Delta> deltas = engine.apply(c);
            // Applying the deltas to what the data path had gives what it should have now.
            deltas.forEach((ep, d) -> {
                if (d.current() == null) { mirror.remove(ep); return; }
                var m = mirror.computeIfAbsent(ep, k -> new TreeMap<>());
                d.removed().forEach(x -> m.remove(x.key()));
                d.added().forEach(x -> m.put(x.key(), x.value()));
            });
            var fresh = new PolicyEngine(EngineConfig.DEFAULT);
            fresh.load(engine.inputs());
            assertThat(PolicyMapText.render(engine.result())).as("seed " + seed + " step " + step + " " + c).isEqualTo(PolicyMapText.render(fresh.result()));
            Map<String, Map<PolicyKey, PolicyValue>> want = new TreeMap<>();
            fresh.result().endpoints().forEach((k, v) -> want.put(k, new TreeMap<>(v.state().entries())));
            assertThat(mirror).as("seed " + seed + " step " + step + " deltas").isEqualTo(want);
        }
    }

    /**
     * An engine that computes the policy of one node's pods only (as the agent's does) gives those
     * pods what a from-scratch engine gives them, and nothing for the others, while pods change
     * labels, namespaces, policies, and move between nodes (the per-rule index of subject pods).
     */
    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void localSubjectsIncrementalEqualsFromScratch(long seed) {
        System.out.println("localSubjectsIncrementalEqualsFromScratch seed=" + seed);
        var r = new SplittableRandom(seed);
        java.util.function.Predicate<Pod> local = p -> p.nodeName().equals("node1");
        var all = E2eModel.engine(String.join("", randomPolicies(r, 1 + r.nextInt(4))), EngineConfig.DEFAULT);
        // about half of the pods on another node
        List<Pod> pods = new ArrayList<>();
        for (Pod p : all.inputs().pods()) pods.add(r.nextBoolean() ? p : p.withNodeName("node2"));
        var in = all.inputs();
        var engine = new PolicyEngine(EngineConfig.DEFAULT, local);
        engine.load(new PolicyInputs(in.namespaces(), pods, in.policies()));
        Map<String, Map<PolicyKey, PolicyValue>> mirror = new TreeMap<>();
        engine.result().endpoints().forEach((k, v) -> mirror.put(k, new TreeMap<>(v.state().entries())));
        for (int step = 0; step < 16; step++) {
            Change c = r.nextInt(5) == 0 ? moveNode(r, engine) : randomChange(r, engine, step);
            Map<String, Delta> deltas = engine.apply(c);
            deltas.forEach((ep, d) -> {
                if (d.current() == null) { mirror.remove(ep); return; }
                var m = mirror.computeIfAbsent(ep, k -> new TreeMap<>());
                d.removed().forEach(x -> m.remove(x.key()));
                d.added().forEach(x -> m.put(x.key(), x.value()));
            });
            var fresh = new PolicyEngine(EngineConfig.DEFAULT, local);
            fresh.load(engine.inputs());
            assertThat(PolicyMapText.render(engine.result())).as("seed " + seed + " step " + step + " " + c).isEqualTo(PolicyMapText.render(fresh.result()));
            Map<String, Map<PolicyKey, PolicyValue>> want = new TreeMap<>();
            fresh.result().endpoints().forEach((k, v) -> want.put(k, new TreeMap<>(v.state().entries())));
            assertThat(mirror).as("seed " + seed + " step " + step + " deltas").isEqualTo(want);
            for (String k : want.keySet()) assertThat(engine.pod(k).nodeName()).as("seed " + seed + " " + k).isEqualTo("node1");
        }
    }

    static Change moveNode(SplittableRandom r, PolicyEngine engine) {
        List<Pod> pods = new ArrayList<>(engine.pods());
        pods.sort(java.util.Comparator.comparing(Pod::key));
        Pod p = pick(r, pods);
        return new Change.PodUpsert(p.withNodeName(p.nodeName().equals("node1") ? "node2" : "node1"));
    }

    static Change randomChange(SplittableRandom r, PolicyEngine engine, int step) {
        List<Pod> pods = new ArrayList<>(engine.pods());
        pods.sort(java.util.Comparator.comparing(Pod::key));
        switch (r.nextInt(7)) {
            case 6 -> {
                // the FQDN cache learned or forgot addresses of a selector (pod addresses among them)
                java.util.Set<Integer> ips = new java.util.TreeSet<>();
                for (int i = r.nextInt(4); i > 0; i--)
                    ips.add(dev.sluice.net.Ip.parse(pick(r, List.of("192.0.2.1", "192.0.2.2", "198.51.100.7", "10.0.1.1", "10.0.2.3"))));
                return new Change.FqdnAddresses(pick(r, SELECTORS), ips);
            }
            case 0 -> {
                Pod p = pick(r, pods);
                var l = new TreeMap<>(p.labels());
                l.put("pod", pick(r, List.of("a", "b", "c", "d")));
                if (r.nextBoolean()) l.put("pod-template-hash", "h" + r.nextInt(100));
                return new Change.PodUpsert(p.withLabels(l));
            }
            case 1 -> {
                String yaml = randomPolicy(r, "p" + r.nextInt(5), true);
                return new Change.PolicyUpsert(PolicyDecoder.decode(ManifestReader.parse("r.yaml", yaml).getFirst()));
            }
            case 2 -> {
                List<Policy> pols = engine.inputs().policies();
                return pols.isEmpty() ? new Change.PolicyDelete("none") : new Change.PolicyDelete(pick(r, pols).key());
            }
            case 3 -> {
                String ns = pick(r, NS);
                return new Change.NamespaceUpsert(new Namespace(ns, r.nextBoolean() ? Map.of("team", "t" + r.nextInt(2)) : Map.of()));
            }
            case 4 -> {
                return new Change.PodDelete(pick(r, pods).key());
            }
            default -> {
                Pod p = pick(r, pods);
                return new Change.PodUpsert(new Pod(pick(r, NS), "new" + step, Map.of("pod", pick(r, PODS)), "node1", "10.0.9." + (step + 1), p.ports()));
            }
        }
    }
}
