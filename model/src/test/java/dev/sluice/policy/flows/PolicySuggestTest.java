package dev.sluice.policy.flows;

import static dev.sluice.policy.flows.Flows.End;
import static dev.sluice.policy.flows.Flows.flow;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.policy.EngineConfig;
import dev.sluice.policy.PolicyInputs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

/**
 * Suggested policies: golden manifests for crafted flows, and a seeded property: replayed against
 * the flows they came from they allow every one, and they deny a connection between two workloads
 * of the flows that was never observed, on both of its checks (the opener's egress, the
 * responder's ingress).
 */
class PolicySuggestTest {
    static final End WEB = End.pod("shop/web-5c9d7f6b8-abcde", "10.0.1.10", "app=web", "pod-template-hash=5c9d7f6b8"),
            WEB2 = End.pod("shop/web-5c9d7f6b8-fghij", "10.0.1.14", "app=web", "pod-template-hash=5c9d7f6b8"),
            DB = End.pod("shop/db-0", "10.0.1.11", "app=db", "tier=data", "controller-revision-hash=db-6d4c",
                    "statefulset.kubernetes.io/pod-name=db-0"),
            PROM = End.pod("monitoring/prometheus", "10.0.2.5", "app.kubernetes.io/name=prometheus"),
            BARE = End.pod("shop/debug", "10.0.1.99"),
            OUTSIDE = End.world("203.0.113.7"), NODE = End.host("10.0.0.1");

    static List<RecordedFlow> flows() {
        return List.of(
                flow("a:1", WEB, DB, "TCP", 5432, "EGRESS", false, "FORWARDED", 0),
                flow("a:2", WEB2, DB, "TCP", 5432, "INGRESS", false, "FORWARDED", 0),
                flow("a:3", WEB, DB, "TCP", 5432, "INGRESS", true, "FORWARDED", 0),
                flow("a:4", PROM, WEB, "TCP", 9090, "INGRESS", false, "FORWARDED", 0),
                flow("a:5", PROM, DB, "TCP", 9090, "INGRESS", false, "AUDIT", 0),
                flow("a:6", WEB, OUTSIDE, "TCP", 443, "EGRESS", false, "FORWARDED", 0),
                flow("a:7", NODE, WEB, "TCP", 8080, "INGRESS", false, "FORWARDED", 0),
                flow("a:8", WEB, DB, "ICMPv4", 0, "EGRESS", false, "FORWARDED", 0),
                flow("a:9", BARE, DB, "TCP", 5432, "INGRESS", false, "FORWARDED", 0),
                flow("a:10", WEB, DB, "UDP", 5000, "EGRESS", false, "DROPPED", 140),
                flow("a:11", DB, End.reserved("10.0.0.2", "remote-node"), "TCP", 10250, "EGRESS", false, "FORWARDED", 0));
    }

    static void golden(String file, String text) throws Exception {
        Path p = Path.of("src/test/resources/policy/flows", file);
        if (Boolean.getBoolean("golden.update")) Files.writeString(p, text);
        assertThat(text).isEqualTo(Files.readString(p));
    }

    @Test void networkPoliciesFromFlows() throws Exception {
        var r = PolicySuggest.suggest(flows(), p -> p.namespace().equals("shop"), PolicySuggest.Kind.NETWORK_POLICY);
        golden("suggest-np.yaml", r.yaml());
        assertThat(r.notes()).containsExactly(
                "ICMP flows (shop/web-5c9d7f6b8-abcde -> shop/db-0) are not allowed: only TCP, UDP and SCTP ports are",
                "shop/debug has no stable labels to select it by: no policy suggested for it",
                "shop/debug has no stable labels: selected by its address 10.0.1.99/32",
                "the remote-node peer 10.0.0.2 is selected by its address (a NetworkPolicy has no entities)");
        PolicyInputs in = Flows.manifests(r.yaml());
        assertThat(in.policies()).hasSize(2);
        // every TCP and UDP flow keeps its verdict (the drop too) but the audited one, now allowed;
        // the ICMP flow cannot be allowed by a NetworkPolicy
        assertThat(changes(in)).containsExactly("a:5 DROPPED -> FORWARDED", "a:8 FORWARDED -> DROPPED");
    }

    @Test void ciliumNetworkPoliciesFromFlows() throws Exception {
        var r = PolicySuggest.suggest(flows(), p -> p.key().startsWith("shop/db"), PolicySuggest.Kind.CILIUM_NETWORK_POLICY);
        golden("suggest-cnp.yaml", r.yaml());
        PolicyInputs in = Flows.manifests(r.yaml());
        // only the db is isolated now: the web's egress drop (a:10) was an old policy's
        assertThat(changes(in)).containsExactly("a:10 DROPPED -> FORWARDED", "a:5 DROPPED -> FORWARDED");
    }

    static List<String> changes(PolicyInputs in) {
        return PolicyReplay.replay(in, EngineConfig.DEFAULT, flows()).groups().stream()
                .flatMap(g -> g.flows().stream().map(c -> c.where() + " " + g.change())).sorted().toList();
    }

    /** A workload of the property: its namespace, its own app label, its pods' names and addresses. */
    record Workload(String ns, String app, List<End> pods) {}

    @RepeatedTest(25)
    void suggestedPoliciesAllowEveryObservedFlowAndDenyAnUnobservedPair() {
        long seed = System.nanoTime();
        System.out.println("PolicySuggestTest seed=" + seed);
        var r = new SplittableRandom(seed);
        List<Workload> workloads = new ArrayList<>();
        int n = 2 + r.nextInt(5);
        for (int i = 0; i < n; i++) {
            String ns = "n" + r.nextInt(3), app = "w" + i;
            String hash = Integer.toHexString(0x1000000 + r.nextInt(0xffffff)).substring(1);
            String tier = r.nextBoolean() ? "" : r.nextBoolean() ? "front" : "back";
            List<End> pods = new ArrayList<>();
            for (int j = 0, k = 1 + r.nextInt(3); j < k; j++) {
                List<String> labels = new ArrayList<>(List.of("app=" + app, "pod-template-hash=" + hash));
                if (!tier.isEmpty()) labels.add("tier=" + tier);
                pods.add(End.pod(ns + "/" + app + "-" + hash + "-p" + j + "xyz", "10.1." + i + "." + (j + 1), labels.toArray(String[]::new)));
            }
            workloads.add(new Workload(ns, app, pods));
        }
        String[] protos = {"TCP", "UDP", "SCTP"};
        int[] ports = {80, 443, 5432, 8080, 9000};
        Set<String> observed = new HashSet<>();
        Set<String> inFlows = new HashSet<>();
        List<RecordedFlow> flows = new ArrayList<>();
        for (int c = 0, k = 1 + r.nextInt(10); c < k; c++) {
            Workload o = workloads.get(r.nextInt(n));
            End from = o.pods().get(r.nextInt(o.pods().size()));
            String proto = protos[r.nextInt(3)];
            int port = ports[r.nextInt(ports.length)];
            if (r.nextInt(5) == 0) {
                End to = End.world("198.51.100." + (1 + r.nextInt(3)));
                flows.add(flow("p:" + flows.size(), from, to, proto, port, "EGRESS", r.nextBoolean(), "FORWARDED", 0));
                inFlows.add(o.app());
                continue;
            }
            Workload t = workloads.get(r.nextInt(n));
            End to = t.pods().get(r.nextInt(t.pods().size()));
            observed.add(o.app() + ">" + t.app() + ":" + proto + "/" + port);
            inFlows.add(o.app());
            inFlows.add(t.app());
            // seen on either side or both, requests and replies
            int sides = 1 + r.nextInt(3);
            if ((sides & 1) != 0) flows.add(flow("p:" + flows.size(), from, to, proto, port, "INGRESS", r.nextBoolean(), "FORWARDED", 0));
            if ((sides & 2) != 0) flows.add(flow("p:" + flows.size(), from, to, proto, port, "EGRESS", r.nextBoolean(), "FORWARDED", 0));
        }
        var kind = r.nextBoolean() ? PolicySuggest.Kind.NETWORK_POLICY : PolicySuggest.Kind.CILIUM_NETWORK_POLICY;
        String yaml = PolicySuggest.suggest(flows, p -> true, kind).yaml();
        PolicyInputs in = Flows.manifests(yaml);
        var all = PolicyReplay.replay(in, EngineConfig.DEFAULT, flows);
        assertThat(all.changed()).as("seed %d: observed flows the suggestion would drop\n%s", seed, yaml).isZero();

        List<Workload> seen = workloads.stream().filter(w -> inFlows.contains(w.app())).toList();
        for (int tries = 0; tries < 50; tries++) {
            Workload o = seen.get(r.nextInt(seen.size())), t = seen.get(r.nextInt(seen.size()));
            String proto = protos[r.nextInt(3)];
            int port = ports[r.nextInt(ports.length)];
            if (observed.contains(o.app() + ">" + t.app() + ":" + proto + "/" + port)) continue;
            End from = o.pods().get(r.nextInt(o.pods().size())), to = t.pods().get(r.nextInt(t.pods().size()));
            if (from.equals(to)) continue;
            List<RecordedFlow> unobserved = List.of(flow("u:in", from, to, proto, port, "INGRESS", false, "FORWARDED", 0),
                    flow("u:out", from, to, proto, port, "EGRESS", false, "FORWARDED", 0));
            var rep = PolicyReplay.replay(in, EngineConfig.DEFAULT, unobserved);
            assertThat(rep.changed()).as("seed %d: %s -> %s %s/%d never observed: dropped at both checks\n%s", seed, from.pod(), to.pod(), proto, port, yaml)
                    .isEqualTo(2);
            return;
        }
    }
}
