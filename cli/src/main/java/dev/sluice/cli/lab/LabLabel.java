package dev.sluice.cli.lab;

import dev.sluice.BadInputException;
import dev.sluice.cli.Output;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "label", mixinStandardHelpOptions = true,
        description = "Set (k=v) or remove (k-) labels of a pod (ns/name) or a namespace, as kubectl label --overwrite.")
final class LabLabel implements Callable<Integer> {
    @Mixin LabOptions lab;
    @Parameters(index = "0", paramLabel = "KIND", description = "pod or namespace") String kind;
    @Parameters(index = "1", paramLabel = "TARGET", description = "ns/name for a pod, the name for a namespace") String target;
    @Parameters(index = "2..*", paramLabel = "LABEL", description = "k=v or k-") List<String> changes = List.of();
    @Option(names = {"-o", "--output"}, defaultValue = "table", description = "json or table.") String output;

    @Override public Integer call() {
        String fmt = LabOptions.format(output);
        String k = switch (kind) {
            case "pod", "pods", "po" -> "pod";
            case "namespace", "namespaces", "ns" -> "namespace";
            default -> throw new BadInputException("label: " + kind + " (expected: pod or namespace)");
        };
        var l = lab.lab();
        var done = l.label(k, target, changes);
        if (fmt.equals("json")) Output.json(System.out, Map.of("lab", l.name(), "generation", done.generation(), "resourceVersions", done.versions()));
        return 0;
    }
}
