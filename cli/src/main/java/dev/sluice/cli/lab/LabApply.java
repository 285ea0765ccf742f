package dev.sluice.cli.lab;

import dev.sluice.cli.Output;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "apply", mixinStandardHelpOptions = true,
        description = "Create or change objects in the lab; returns once every agent has programmed the change.")
final class LabApply implements Callable<Integer> {
    @Mixin LabOptions lab;
    @Option(names = {"-f", "--filename"}, required = true, description = "Manifest files or directories.") List<Path> files;
    @Option(names = {"-o", "--output"}, defaultValue = "table", description = "json or table.") String output;

    @Override public Integer call() {
        String fmt = LabOptions.format(output);
        var l = lab.lab();
        var done = l.apply(files);
        if (fmt.equals("json")) Output.json(System.out, Map.of("lab", l.name(), "generation", done.generation(), "resourceVersions", done.versions()));
        return 0;
    }
}
