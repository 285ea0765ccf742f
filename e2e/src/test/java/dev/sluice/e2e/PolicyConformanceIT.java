package dev.sluice.e2e;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.e2e.PolicyLab.Pair;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * NetworkPolicy conformance on real packets: the Kubernetes e2e model (namespaces x, y, z; pods a,
 * b, c; ports 80 and 81, TCP and UDP; one Service per pod) on a two-node lab, changed step by step
 * (policies created, updated and deleted, pod and namespace labels changed). After every step the
 * live matrix through each pod's Service equals the offline matrix of the lab's current manifests
 * for 80/TCP, 81/TCP, 80/UDP and 81/UDP, cell by cell; a few cells per step are also checked against
 * what the Kubernetes NetworkPolicy API reference says, so both cannot be wrong the same way.
 */
@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: network namespaces, BPF, netlink")
class PolicyConformanceIT {
    static final String LAB = "pz2";
    static Path dir;

    interface Action { void run() throws Exception; }

    /** A spot check "from>to port/PROTO allow|deny" on the offline (and so live) matrix. */
    record Step(String name, Action action, List<String> expect) {}

    @BeforeAll static void setUp() throws Exception {
        Cli.requireRoot();
        Cli.down(LAB);
        dir = Files.createTempDirectory("sluice-policy-conf");
        Files.writeString(dir.resolve("model.yaml"), PolicyLab.model());
        Cli.sluice("lab", "up", "--name", LAB, "--nodes", "2", "-f", dir.resolve("model.yaml").toString()).ok();
    }

    @AfterAll static void tearDown() { Cli.down(LAB); }

    static Step step(String name, Action a, String... expect) { return new Step(name, a, List.of(expect)); }

    static Action apply(String name, String yaml) { return () -> PolicyLab.apply(LAB, dir, name, yaml); }

    static String np(String ns, String name, String spec) {
        return "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: " + name + ", namespace: " + ns + "}\nspec:\n"
                + spec.indent(2);
    }

    @Test
    void liveMatrixEqualsOfflineMatrixAfterEveryStep() throws Exception {
        List<Step> steps = List.of(
                step("no policy", () -> { }, "x/a>y/b 80/TCP allow", "z/c>x/a 81/UDP allow"),
                step("default deny ingress in x", apply("deny-in", np("x", "deny-in", """
                        podSelector: {}
                        policyTypes: [Ingress]""")), "y/a>x/b 80/TCP deny", "x/a>x/b 81/UDP deny", "x/a>y/a 80/TCP allow"),
                step("allow from the same namespace (x)", apply("same-ns", np("x", "same-ns", """
                        podSelector: {}
                        ingress: [{from: [{podSelector: {}}]}]""")), "x/a>x/b 80/TCP allow", "x/c>x/a 81/UDP allow", "y/a>x/b 80/TCP deny"),
                step("namespaceSelector and podSelector in one peer (AND)", apply("peer", np("y", "peer", """
                        podSelector: {matchLabels: {pod: a}}
                        ingress: [{from: [{namespaceSelector: {matchLabels: {ns: x}}, podSelector: {matchLabels: {pod: b}}}]}]""")),
                        "x/b>y/a 80/TCP allow", "x/a>y/a 80/TCP deny", "y/b>y/a 80/TCP deny", "z/b>y/a 80/UDP deny"),
                step("policy update: the same peer split in two peers (OR)", apply("peer", np("y", "peer", """
                        podSelector: {matchLabels: {pod: a}}
                        ingress: [{from: [{namespaceSelector: {matchLabels: {ns: x}}}, {podSelector: {matchLabels: {pod: b}}}]}]""")),
                        "x/a>y/a 80/TCP allow", "y/b>y/a 81/UDP allow", "y/c>y/a 80/TCP deny", "z/b>y/a 80/TCP deny"),
                step("matchExpressions In, NotIn, Exists", apply("expr", np("z", "expr", """
                        podSelector: {matchExpressions: [{key: pod, operator: In, values: [a, b]}]}
                        ingress:
                        - from:
                          - namespaceSelector: {matchExpressions: [{key: ns, operator: NotIn, values: [y]}]}
                            podSelector: {matchExpressions: [{key: team, operator: Exists}]}""")),
                        "x/a>z/a 80/TCP deny", "z/c>z/b 80/TCP deny", "x/a>z/c 80/TCP allow"),
                step("pod labels move pods into a selection (team on x/c and y/c)", () -> {
                    PolicyLab.label(LAB, "pod", "x/c", "team=blue");
                    PolicyLab.label(LAB, "pod", "y/c", "team=red");
                }, "x/c>z/a 80/TCP allow", "x/c>z/b 81/UDP allow", "y/c>z/a 80/TCP deny"),
                step("namespace label change moves pods out (ns of x becomes y)", () -> PolicyLab.label(LAB, "namespace", "x", "ns=y"),
                        "x/c>z/a 80/TCP deny", "x/a>y/a 80/TCP deny"),
                step("namespace label change moves pods back in (ns of x is x again)", () -> PolicyLab.label(LAB, "namespace", "x", "ns=x"),
                        "x/c>z/a 80/TCP allow", "x/a>y/a 80/TCP allow"),
                step("port by number (z/c: 80/TCP only)", apply("port-num", np("z", "port-num", """
                        podSelector: {matchLabels: {pod: c}}
                        ingress: [{ports: [{port: 80, protocol: TCP}]}]""")),
                        "x/a>z/c 80/TCP allow", "x/a>z/c 81/TCP deny", "x/a>z/c 80/UDP deny"),
                step("named port, adding up with the numbered one (z/c: + serve-81-udp)", apply("port-name", np("z", "port-name", """
                        podSelector: {matchLabels: {pod: c}}
                        ingress: [{ports: [{port: serve-81-udp, protocol: UDP}]}]""")),
                        "x/a>z/c 80/TCP allow", "y/b>z/c 81/UDP allow", "x/a>z/c 81/TCP deny", "x/a>z/c 80/UDP deny"),
                step("port range with endPort (y/c: UDP 80-81 from every namespace)", apply("range", np("y", "range", """
                        podSelector: {matchLabels: {pod: c}}
                        ingress: [{from: [{namespaceSelector: {}}], ports: [{port: 80, endPort: 81, protocol: UDP}]}]""")),
                        "x/a>y/c 80/UDP allow", "z/b>y/c 81/UDP allow", "x/a>y/c 80/TCP deny"),
                step("egress default deny with an allow (x/a: to y on 80/TCP and 81/UDP)", () -> {
                    PolicyLab.apply(LAB, dir, "egress-deny", np("x", "egress-deny", """
                            podSelector: {matchLabels: {pod: a}}
                            policyTypes: [Egress]"""));
                    PolicyLab.apply(LAB, dir, "egress-allow", np("x", "egress-allow", """
                            podSelector: {matchLabels: {pod: a}}
                            policyTypes: [Egress]
                            egress: [{to: [{namespaceSelector: {matchLabels: {ns: y}}}], ports: [{port: 80}, {port: 81, protocol: UDP}]}]"""));
                }, "x/a>y/b 80/TCP allow", "x/a>y/b 81/UDP allow", "x/a>y/b 81/TCP deny", "x/a>z/b 80/TCP deny", "x/a>x/b 80/TCP deny",
                        "x/b>x/a 80/TCP allow"),
                step("ipBlock with except, egress (y/b: 10.0.0.0/16 except node2's 10.0.1.0/24)", apply("ipblock-out", np("y", "ipblock-out", """
                        podSelector: {matchLabels: {pod: b}}
                        policyTypes: [Egress]
                        egress: [{to: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.0.1.0/24]}}]}]""")),
                        "y/b>z/c 80/TCP allow", "y/b>z/c 81/UDP allow", "y/b>y/a 80/TCP deny", "y/c>y/a 80/TCP deny"),
                step("ipBlock, ingress (z/b: from node2's pods 10.0.1.0/24), adding up", apply("ipblock-in", np("z", "ipblock-in", """
                        podSelector: {matchLabels: {pod: b}}
                        ingress: [{from: [{ipBlock: {cidr: 10.0.1.0/24}}]}]""")),
                        "y/a>z/b 80/TCP allow", "y/c>z/b 81/UDP allow", "z/c>z/b 80/TCP deny"),
                step("policyTypes defaults: egress rules present -> Ingress and Egress (z/a); ingress only -> Ingress (y/c)", () -> {
                    PolicyLab.apply(LAB, dir, "defaults-both", np("z", "defaults-both", """
                            podSelector: {matchLabels: {pod: a}}
                            ingress: [{from: [{podSelector: {}}]}]
                            egress: [{to: [{namespaceSelector: {matchLabels: {ns: z}}}]}]"""));
                    PolicyLab.apply(LAB, dir, "defaults-in", np("y", "defaults-in", """
                            podSelector: {matchLabels: {pod: c}}
                            ingress: [{from: [{namespaceSelector: {matchLabels: {ns: z}}}]}]"""));
                }, "z/a>x/a 80/TCP deny", "z/a>z/b 80/TCP deny", "z/a>z/c 80/TCP allow", "z/b>z/a 81/UDP allow", "x/b>z/a 80/TCP deny",
                        "z/a>y/c 80/TCP deny", "z/b>y/c 80/TCP allow", "y/c>x/a 80/TCP deny", "y/c>z/c 80/TCP allow"),
                step("policy update: same-ns in x now allows namespace z instead", apply("same-ns", np("x", "same-ns", """
                        podSelector: {}
                        ingress: [{from: [{namespaceSelector: {matchLabels: {ns: z}}}]}]""")),
                        "x/a>x/b 80/TCP deny", "z/c>x/b 80/TCP allow", "z/a>x/b 80/TCP deny"),
                step("pod label removal moves a pod out (team- on x/c)", () -> PolicyLab.label(LAB, "pod", "x/c", "team-"),
                        "x/c>z/b 80/TCP deny"),
                step("deleting every policy restores access", () -> {
                    List<String> args = new ArrayList<>(List.of("lab", "delete", "--name", LAB));
                    for (String p : List.of("deny-in", "same-ns", "peer", "expr", "port-num", "port-name", "range", "egress-deny",
                            "egress-allow", "ipblock-out", "ipblock-in", "defaults-both", "defaults-in"))
                        args.addAll(List.of("-f", dir.resolve(p + ".yaml").toString()));
                    Cli.sluice(args.toArray(String[]::new)).ok();
                }, "y/a>x/b 80/TCP allow", "x/a>z/b 81/UDP allow", "z/a>x/a 80/TCP allow"));

        List<String> failures = new ArrayList<>();
        for (Step s : steps) {
            long t0 = System.nanoTime();
            s.action().run();
            List<Pair> pairs = PolicyLab.measure(LAB, PolicyLab.ALL_PORTS);
            List<String> bad = new ArrayList<>();
            for (Pair p : pairs) for (String m : p.mismatches()) bad.add(p.pp() + " " + m);
            for (String e : s.expect()) {
                String[] w = e.split(" ");
                String[] ft = w[0].split(">");
                Pair p = pairs.stream().filter(x -> x.pp().toString().equals(w[1])).findFirst().orElseThrow();
                String got = p.cell(p.offline(), ft[0], ft[1]);
                if (!got.equals(w[2])) bad.add("expected by the API reference: " + e + ", offline says " + got);
            }
            System.out.printf("step '%s': %d mismatch(es), %.1f s%n", s.name(), bad.size(), (System.nanoTime() - t0) / 1e9);
            if (!bad.isEmpty()) {
                StringBuilder b = new StringBuilder("step '" + s.name() + "':\n  " + String.join("\n  ", bad) + "\n");
                for (Pair p : pairs) b.append(p.tables());
                failures.add(b.toString());
                System.out.println(b);
            }
        }
        assertThat(failures).as("steps where the live matrix differs from the offline one").isEmpty();
    }
}
