package dev.sluice.cli.policy;

import dev.sluice.BadInputException;
import dev.sluice.cli.Output;
import dev.sluice.policy.flows.PolicySuggest;
import dev.sluice.policy.flows.RecordedFlow;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Predicate;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code sluice policy suggest}: least-privilege NetworkPolicies (or CiliumNetworkPolicies) for a
 * namespace's or some pods' workloads, from the flows they were seen in.
 */
@Command(name = "suggest", mixinStandardHelpOptions = true,
        description = {"Least-privilege policies from observed flows: per workload, ingress and egress with exactly the peers and ports seen, plus DNS to kube-dns.",
                "Prints YAML manifests (valid for 'policy validate'); notes on what was left out go to stderr."})
public final class SuggestCommand implements Callable<Integer> {
    @Mixin FlowInput input;
    @Option(names = {"-n", "--namespace"}, description = "The namespace whose workloads get policies (with --pod or -l: where to look).")
    String namespace;
    @Option(names = "--pod", description = "Only pods whose name starts with this: [namespace/]name-prefix (repeatable).")
    List<String> pods = new ArrayList<>();
    @Option(names = {"-l", "--selector"}, description = "Only pods with these labels: key=value, key!=value or key, comma-separated.")
    String selector;
    @Option(names = "--kind", defaultValue = "np", description = "np (NetworkPolicy, the default) or cnp (CiliumNetworkPolicy).")
    String kind;
    @Option(names = {"-o", "--output"}, defaultValue = "yaml", description = "yaml or json (a list of manifests).")
    String output;

    @Override public Integer call() {
        String fmt = Output.format(output, "yaml", "json");
        PolicySuggest.Kind k = switch (kind) {
            case "np", "networkpolicy", "NetworkPolicy" -> PolicySuggest.Kind.NETWORK_POLICY;
            case "cnp", "ciliumnetworkpolicy", "CiliumNetworkPolicy" -> PolicySuggest.Kind.CILIUM_NETWORK_POLICY;
            default -> throw new BadInputException("--kind: " + kind + " (expected: np or cnp)");
        };
        Predicate<RecordedFlow.Peer> target = target();
        PolicySuggest.Result r = PolicySuggest.suggest(input.read(), target, k);
        for (String n : r.notes()) System.err.println("sluice: note: " + n);
        if (r.manifests().isEmpty()) {
            System.err.println("sluice: no forwarded flow of the selected pods (expected: flows with a policy verdict from or to them)");
            return 1;
        }
        if (fmt.equals("json")) Output.json(System.out, r.manifests());
        else System.out.print(r.yaml());
        return 0;
    }

    Predicate<RecordedFlow.Peer> target() {
        if (namespace == null && pods.isEmpty() && selector == null)
            throw new BadInputException("target: none given (expected: -n NAMESPACE, --pod [namespace/]name-prefix or -l SELECTOR)");
        if (namespace != null && !namespace.matches("[a-z0-9]([-a-z0-9]*[a-z0-9])?"))
            throw new BadInputException("--namespace: " + namespace + " (expected: a namespace name)");
        List<String[]> prefixes = new ArrayList<>();
        for (String p : pods) {
            String ns = p.contains("/") ? p.substring(0, p.indexOf('/')) : namespace;
            String name = p.contains("/") ? p.substring(p.indexOf('/') + 1) : p;
            if (ns == null || ns.isEmpty()) throw new BadInputException("--pod: " + p + " (expected: namespace/name-prefix, or -n with the name prefix)");
            prefixes.add(new String[] {ns, name});
        }
        List<Predicate<Map<String, String>>> terms = new ArrayList<>();
        if (selector != null) for (String t : selector.split(",")) terms.add(term(t.strip()));
        return p -> {
            if (!p.isPod()) return false;
            if (namespace != null && prefixes.isEmpty() && !p.namespace().equals(namespace)) return false;
            if (!prefixes.isEmpty() && prefixes.stream().noneMatch(x -> x[0].equals(p.namespace()) && p.pod().startsWith(x[1]))) return false;
            for (var t : terms) if (!t.test(p.labels())) return false;
            return true;
        };
    }

    private static Predicate<Map<String, String>> term(String t) {
        String key = "[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?", value = "[-A-Za-z0-9_.]*";
        if (t.matches(key + "!=" + value)) {
            String[] kv = t.split("!=", 2);
            return l -> !kv[1].equals(l.get(kv[0]));
        }
        if (t.matches(key + "==?" + value)) {
            String[] kv = t.split("==?", 2);
            return l -> kv[1].equals(l.get(kv[0]));
        }
        if (t.matches(key)) return l -> l.containsKey(t);
        throw new BadInputException("--selector: " + t + " (expected: key=value, key!=value or key)");
    }
}
