package dev.sluice.bench.policy;

import dev.sluice.k8s.ContainerPort;
import dev.sluice.k8s.Namespace;
import dev.sluice.k8s.Pod;
import dev.sluice.k8s.Protocol;
import dev.sluice.policy.Change;
import dev.sluice.policy.Delta;
import dev.sluice.policy.EngineConfig;
import dev.sluice.policy.PolicyEngine;
import dev.sluice.policy.PolicyInputs;
import dev.sluice.policy.PolicyResult;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The policy engine on a synthetic cluster: 10,000 pods in 100 namespaces, 1,000 policies (pod and
 * namespace selectors, matchExpressions, ipBlocks with except, port ranges, named ports) and about
 * 3,000 identities. Targets: full compute <= 1 s; one pod label change <= 10 ms p99.
 * Run: java -cp ... org.openjdk.jmh.Main PolicyBench -wi 2 -i 3 -f 1
 */
@State(Scope.Benchmark)
public class PolicyBench {
    PolicyInputs inputs;
    PolicyEngine engine;
    List<Pod> pods;
    int next;

    /** The synthetic cluster; deterministic. */
    public static PolicyInputs cluster(long seed) {
        var r = new SplittableRandom(seed);
        List<Namespace> ns = new ArrayList<>();
        List<Pod> pods = new ArrayList<>();
        List<String> policies = new ArrayList<>();
        List<ContainerPort> ports = List.of(new ContainerPort("http", 8080, Protocol.TCP), new ContainerPort("metrics", 9090, Protocol.TCP),
                new ContainerPort("dns", 53, Protocol.UDP));
        for (int n = 0; n < 100; n++) {
            String name = "ns" + n;
            ns.add(new Namespace(name, Map.of("team", "team" + (n % 10), "env", n % 3 == 0 ? "prod" : "dev")));
            for (int p = 0; p < 100; p++) {
                // 10 apps x 3 versions per namespace = 30 identities per namespace, 3,000 in all.
                Map<String, String> labels = Map.of("app", "app" + (p % 10), "version", "v" + (p / 10 % 3),
                        "pod-template-hash", Integer.toHexString(r.nextInt()));
                pods.add(new Pod(name, "pod" + p, labels, "node" + (p % 50), "10." + (n / 10) + "." + (n % 10 * 20 + p / 10) + "." + (p % 10 + 1), ports));
            }
        }
        var objs = new StringBuilder();
        for (int i = 0; i < 1000; i++) {
            int n = i / 10;
            String app = "app" + (i % 10);
            String peerApp = "app" + r.nextInt(10);
            StringBuilder spec = new StringBuilder();
            spec.append("  podSelector: {matchLabels: {app: ").append(app).append("}}\n");
            spec.append("  ingress:\n");
            switch (i % 4) {
                case 0 -> spec.append("  - from:\n    - podSelector: {matchLabels: {app: ").append(peerApp).append("}}\n    ports: [{port: http}]\n");
                case 1 -> spec.append("  - from:\n    - namespaceSelector: {matchLabels: {team: team").append(r.nextInt(10)).append("}}\n      podSelector: {matchExpressions: [{key: app, operator: In, values: [")
                        .append(peerApp).append(", app").append(r.nextInt(10)).append("]}]}\n    ports: [{port: 8000, endPort: 8100}]\n");
                case 2 -> { int b = r.nextInt(10); spec.append("  - from:\n    - ipBlock: {cidr: 10.").append(b).append(".0.0/16, except: [10.").append(b).append(".1.0/24]}\n    ports: [{port: 9090}, {port: 30000, endPort: 32767, protocol: UDP}]\n"); }
                default -> spec.append("  - from:\n    - podSelector: {matchExpressions: [{key: version, operator: NotIn, values: [v0]}]}\n    - namespaceSelector: {matchLabels: {env: prod}}\n      podSelector: {matchLabels: {app: ").append(peerApp).append("}}\n");
            }
            if (i % 5 == 0) spec.append("  egress:\n  - to:\n    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ns").append(r.nextInt(100))
                    .append("}}\n    ports: [{port: 53, protocol: UDP}, {port: 8080}]\n  - to:\n    - ipBlock: {cidr: 192.168.").append(r.nextInt(256)).append(".0/24}\n");
            objs.append("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p").append(i).append(", namespace: ns").append(n)
                    .append("}\nspec:\n").append(spec).append("---\n");
        }
        var decoded = PolicyInputs.decodeStrict(dev.sluice.k8s.ManifestReader.parse("bench.yaml", objs.toString()));
        return new PolicyInputs(ns, pods, decoded.policies());
    }

    @Setup(Level.Trial)
    public void setup() {
        inputs = cluster(42);
        engine = new PolicyEngine(EngineConfig.DEFAULT);
        engine.load(inputs);
        pods = new ArrayList<>(inputs.pods());
        PolicyResult res = engine.result();
        long entries = res.endpoints().values().stream().mapToLong(e -> e.state().entries().size()).sum();
        System.gc();
        Runtime rt = Runtime.getRuntime();
        System.out.printf("%n[policy bench] pods=%d policies=%d identities=%d entries(total over endpoints)=%d distinct states=%d heap used after full compute=%d MiB%n",
                inputs.pods().size(), inputs.policies().size(), res.identities().size(), entries,
                res.endpoints().values().stream().map(e -> System.identityHashCode(e.state())).distinct().count(),
                (rt.totalMemory() - rt.freeMemory()) >> 20);
    }

    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public PolicyResult fullCompute() {
        var e = new PolicyEngine(EngineConfig.DEFAULT);
        return e.load(inputs);
    }

    /** One pod's app label flips between two values: its identity, its subjects and its peers change. */
    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public Map<String, Delta> podLabelChange() {
        Pod p = pods.get(next++ % pods.size());
        Pod cur = engine.pod(p.key());
        var l = new HashMap<>(cur.labels());
        l.put("app", l.get("app").equals("app0") ? "app1" : "app0");
        return engine.apply(new Change.PodUpsert(cur.withLabels(l)));
    }
}
