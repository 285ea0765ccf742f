package dev.sluice.cli.lab;

import dev.sluice.BadInputException;
import dev.sluice.cli.Output;
import dev.sluice.k8s.ClusterNode;
import dev.sluice.k8s.Kinds;
import dev.sluice.k8s.KubeObject;
import dev.sluice.k8s.Pod;
import dev.sluice.lab.Lab;
import dev.sluice.k8s.Service;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "get", mixinStandardHelpOptions = true,
        description = "List the lab's pods, services or nodes as Kubernetes objects (-o json) or a kubectl-like table.")
final class LabGet implements Callable<Integer> {
    @Mixin LabOptions lab;
    @Parameters(index = "0", paramLabel = "WHAT", description = "pods, services or nodes") String what;
    @Option(names = {"-o", "--output"}, defaultValue = "table", description = "json or table.") String output;

    @Override public Integer call() {
        String fmt = LabOptions.format(output);
        String kind = switch (what) {
            case "pods", "pod", "po" -> Kinds.POD;
            case "services", "service", "svc" -> Kinds.SERVICE;
            case "nodes", "node", "no" -> Kinds.NODE;
            default -> throw new BadInputException("get: " + what + " (expected one of: pods, services, nodes)");
        };
        Lab l = lab.lab();
        l.state();
        List<KubeObject> objs = new ArrayList<>(l.store().all(kind));
        objs.sort(Comparator.comparing(KubeObject::namespace).thenComparing(KubeObject::name));
        if (fmt.equals("json")) {
            Map<String, Object> list = new LinkedHashMap<>();
            list.put("apiVersion", "v1");
            list.put("kind", "List");
            list.put("items", objs.stream().map(o -> o.body().json()).toList());
            Output.json(System.out, list);
            return 0;
        }
        List<List<String>> rows = new ArrayList<>();
        switch (kind) {
            case Kinds.POD -> {
                rows.add(Output.row("NAMESPACE", "NAME", "NODE", "IP", "PORTS", "LABELS"));
                for (var o : objs) {
                    Pod p = Pod.decode(o);
                    rows.add(Output.row(p.namespace(), p.name(), or(p.nodeName()), or(p.podIP()),
                            or(p.ports().stream().map(x -> x.port() + "/" + x.protocol()).collect(Collectors.joining(","))), labels(p.labels())));
                }
            }
            case Kinds.SERVICE -> {
                rows.add(Output.row("NAMESPACE", "NAME", "TYPE", "CLUSTER-IP", "PORT(S)", "SELECTOR"));
                for (var o : objs) {
                    Service s = Service.decode(o);
                    rows.add(Output.row(s.namespace(), s.name(), s.type().name(), or(s.clusterIP()),
                            or(s.ports().stream().map(x -> x.port() + "/" + x.protocol()).collect(Collectors.joining(","))), labels(s.selector())));
                }
            }
            default -> {
                rows.add(Output.row("NAME", "INTERNAL-IP", "POD-CIDRS"));
                for (var o : objs) {
                    ClusterNode n = ClusterNode.decode(o);
                    rows.add(Output.row(n.name(), n.internalIP(), n.podCIDRs().stream().map(Object::toString).collect(Collectors.joining(","))));
                }
            }
        }
        Output.table(System.out, rows);
        return 0;
    }

    private static String or(String s) { return s.isEmpty() ? "<none>" : s; }

    private static String labels(Map<String, String> l) {
        return l.isEmpty() ? "<none>" : l.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining(","));
    }
}
