package dev.sluice.cli.lab;

import dev.sluice.cli.Output;
import dev.sluice.lab.Lab;
import dev.sluice.lab.LabState;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "up", mixinStandardHelpOptions = true,
        description = "Build a lab: fabric, nodes with agents, the world host, and the pods of the manifests; returns when every pod is ready.")
final class LabUp implements Callable<Integer> {
    @Mixin LabOptions lab;
    @Option(names = "--nodes", defaultValue = "2", description = "Number of nodes, 1-16 (default: ${DEFAULT-VALUE}).") int nodes;
    @Option(names = "--routing", description = "native or tunnel (default: the values file's routingMode).") String routing;
    @Option(names = "--values", description = "A Helm-style values file.") Path values;
    @Option(names = {"-f", "--filename"}, description = "Manifest files or directories.") List<Path> files = new ArrayList<>();
    @Option(names = "--api", defaultValue = "kubernetes", description = "Where the cluster state lives: kubernetes (the lab's API server, "
            + "which the agents watch and kubectl reaches: `sluice lab kubectl`) or manifests (a directory the agents watch). Default: ${DEFAULT-VALUE}.")
    String api;
    @Option(names = {"-o", "--output"}, defaultValue = "table", description = "json or table.") String output;

    @Override public Integer call() {
        String fmt = LabOptions.format(output);
        Lab l = lab.lab();
        LabState st = l.up(new Lab.UpRequest(nodes, routing, values, files, api));
        if (fmt.equals("json")) {
            Output.json(System.out, st);
        } else {
            List<List<String>> rows = new ArrayList<>();
            rows.add(Output.row("NODE", "NETNS", "INTERNAL-IP", "POD-CIDR", "AGENT-PID"));
            for (var n : st.nodes()) rows.add(Output.row(n.name(), n.netns(), n.ip(), n.podCIDR(), n.agentPid()));
            Output.table(System.out, rows);
        }
        return 0;
    }
}
