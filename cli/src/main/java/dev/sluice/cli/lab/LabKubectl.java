package dev.sluice.cli.lab;

import dev.sluice.BadInputException;
import dev.sluice.lab.LabNet;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

@Command(name = "kubectl", mixinStandardHelpOptions = true,
        description = "Run kubectl against the lab's API server, from the lab's world namespace, with the lab's kubeconfig; "
                + "its exit code is passed through. Example: sluice lab kubectl -- get pods -A -o wide")
final class LabKubectl implements Callable<Integer> {
    /** Subcommands that validate against OpenAPI documents, which the lab's API server does not serve. */
    static final Set<String> VALIDATING = Set.of("apply", "create", "replace");
    @Mixin LabOptions lab;
    @Parameters(arity = "0..*", paramLabel = "ARGS", description = "kubectl's arguments, after --") List<String> args = new ArrayList<>();

    @Override public Integer call() throws IOException, InterruptedException {
        var l = lab.lab();
        var st = l.state();
        if (st.world().apiServer().isEmpty())
            throw new BadInputException("lab " + l.name() + " keeps its state in " + st.manifestsDir()
                    + ", not in an API server (expected: a lab made with `sluice lab up --api kubernetes`, the default)");
        return new ProcessBuilder(LabNet.inNetns(st.world().netns(), command(l.dir().kubeconfig().toString(), args))).inheritIO().start().waitFor();
    }

    static List<String> command(String kubeconfig, List<String> args) {
        List<String> c = new ArrayList<>(List.of("kubectl", "--kubeconfig", kubeconfig));
        c.addAll(args);
        if (!args.isEmpty() && VALIDATING.contains(args.getFirst()) && args.stream().noneMatch(a -> a.startsWith("--validate")))
            c.add("--validate=false");
        return c;
    }
}
