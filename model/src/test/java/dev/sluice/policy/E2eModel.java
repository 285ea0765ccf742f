package dev.sluice.policy;

import dev.sluice.k8s.ManifestReader;
import dev.sluice.k8s.Protocol;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BiPredicate;

/**
 * The Kubernetes e2e network policy model: namespaces x, y, z; pods a, b, c in each, labelled
 * pod=NAME, serving 80 and 81 on TCP, UDP and SCTP with ports named serve-PORT-PROTO. Pod IPs are
 * 10.0.N.M (N = 1, 2, 3 for x, y, z; M = 1, 2, 3 for a, b, c).
 */
final class E2eModel {
    static final List<String> NS = List.of("x", "y", "z");
    static final List<String> PODS = List.of("a", "b", "c");

    private E2eModel() {}

    static String yaml() {
        StringBuilder sb = new StringBuilder();
        for (int n = 0; n < 3; n++) {
            sb.append("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ").append(NS.get(n)).append("\n---\n");
            for (int p = 0; p < 3; p++) {
                sb.append("apiVersion: v1\nkind: Pod\nmetadata:\n  name: ").append(PODS.get(p)).append("\n  namespace: ").append(NS.get(n))
                        .append("\n  labels:\n    pod: ").append(PODS.get(p)).append("\nspec:\n  nodeName: node1\n  containers:\n");
                for (int port : new int[] {80, 81}) for (String proto : List.of("TCP", "UDP", "SCTP")) {
                    sb.append("  - name: c").append(port).append(proto.toLowerCase()).append("\n    image: agnhost\n    ports:\n")
                            .append("    - containerPort: ").append(port).append("\n      protocol: ").append(proto)
                            .append("\n      name: serve-").append(port).append('-').append(proto.toLowerCase()).append('\n');
                }
                sb.append("status:\n  podIP: 10.0.").append(n + 1).append('.').append(p + 1).append("\n---\n");
            }
        }
        return sb.toString();
    }

    static PolicyEngine engine(String policies, EngineConfig cfg) {
        var objs = new ArrayList<>(ManifestReader.parse("model.yaml", yaml()));
        objs.addAll(ManifestReader.parse("policy.yaml", policies));
        var engine = new PolicyEngine(cfg);
        engine.load(PolicyInputs.decodeStrict(objs));
        return engine;
    }

    static List<String> pods() {
        List<String> out = new ArrayList<>();
        for (String n : NS) for (String p : PODS) out.add(n + "/" + p);
        return out;
    }

    /** The matrix as text: one row per source, '.' allowed, 'X' denied. */
    static String render(Map<String, Map<String, String>> m) {
        StringBuilder sb = new StringBuilder();
        for (String f : pods()) {
            sb.append(f).append(' ');
            for (String t : pods()) sb.append(m.get(f).get(t).equals("allow") ? '.' : 'X');
            sb.append('\n');
        }
        return sb.toString();
    }

    /** The expected matrix; a pod always reaches itself (loopback, as the Kubernetes e2e tests expect). */
    static String expected(BiPredicate<String, String> allowed) {
        StringBuilder sb = new StringBuilder();
        for (String f : pods()) {
            sb.append(f).append(' ');
            for (String t : pods()) sb.append(f.equals(t) || allowed.test(f, t) ? '.' : 'X');
            sb.append('\n');
        }
        return sb.toString();
    }

    static String matrix(String policies, String port, Protocol proto) {
        return matrix(policies, port, proto, EngineConfig.DEFAULT);
    }

    static String matrix(String policies, String port, Protocol proto, EngineConfig cfg) {
        return render(new PolicyAnalysis(engine(policies, cfg)).matrix(port, proto).matrix());
    }
}
