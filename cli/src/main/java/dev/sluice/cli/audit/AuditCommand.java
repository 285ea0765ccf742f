package dev.sluice.cli.audit;

import dev.sluice.BadInputException;
import dev.sluice.cli.Output;
import dev.sluice.config.Values;
import dev.sluice.k8s.ClusterNode;
import dev.sluice.k8s.Kinds;
import dev.sluice.k8s.KubeObject;
import dev.sluice.k8s.ManifestFiles;
import dev.sluice.k8s.Service;
import dev.sluice.policy.PolicyInputs;
import dev.sluice.lab.Lab;
import dev.sluice.lab.LabEnv;
import dev.sluice.lab.LabNames;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code sluice audit}: the seed's pitfalls and checklist as checks, against a live lab
 * ({@code --name}) or manifests alone ({@code -f} with {@code --values}); exit 1 when one fails.
 */
@Command(name = "audit", description = "Check a lab or manifests against known pitfalls: MTU, IPAM, conntrack, DNS, Service CIDR, "
        + "NodePort exposure, default deny, kube-proxy, identity labels. Exit 1 when a check fails.")
public final class AuditCommand implements Callable<Integer> {
    @Option(names = "--name", paramLabel = "N", description = "Audit this live lab (default: lab 'sluice' unless -f is given).")
    String name;
    @Option(names = {"-f", "--filename"}, paramLabel = "PATH", description = "Audit these manifest files or directories instead (offline).")
    List<Path> files;
    @Option(names = "--values", paramLabel = "F", description = "Values file for -f (pod CIDRs, serviceCIDR, mtu, routing, labels, ...).")
    Path values;
    @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table or json.")
    String output;

    @Override public Integer call() {
        String fmt = Output.format(output, "table", "json");
        AuditInput in;
        if (files != null && !files.isEmpty()) {
            if (name != null) throw new BadInputException("--name: " + name + " (expected: either --name for a lab or -f for manifests, not both)");
            Values v = values == null ? Values.defaults() : Values.load(values, Map.of());
            List<KubeObject> objects = ManifestFiles.load(files);
            validate(objects);
            in = new AuditInput("manifests " + files.stream().map(Path::toString).toList(), v, objects, List.of(), null);
        } else {
            if (values != null) throw new BadInputException("--values: " + values + " (expected: only with -f; a lab audit reads the lab's own values)");
            Lab lab = new Lab(LabNames.validateLab(name == null ? LabNames.DEFAULT_LAB : name), LabEnv.detect(), System.err::println);
            if (!lab.exists()) throw new BadInputException("--name: " + lab.name() + " (expected: a running lab; see sluice lab up)");
            in = LabFacts.collect(lab);
        }
        List<Finding> findings = Checks.run(in);
        if (fmt.equals("json")) Output.json(System.out, AuditReport.json(in.source(), findings));
        else AuditReport.table(System.out, in.source(), findings);
        return Checks.overall(findings).equals(Finding.FAIL) ? 1 : 0;
    }

    /** Manifests given to audit offline decode entirely, or the first problem is bad input (exit 2). */
    static void validate(List<KubeObject> objects) {
        PolicyInputs.decodeStrict(objects);
        for (KubeObject o : objects) {
            if (o.kind().equals(Kinds.SERVICE)) Service.decode(o);
            else if (o.kind().equals(Kinds.NODE)) ClusterNode.decode(o);
        }
    }
}
