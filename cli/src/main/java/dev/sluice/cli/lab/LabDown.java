package dev.sluice.cli.lab;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(name = "down", mixinStandardHelpOptions = true,
        description = "Remove a lab: its processes, namespaces, pinned maps and state; also after a crash. Idempotent.")
final class LabDown implements Callable<Integer> {
    @Mixin LabOptions lab;

    @Override public Integer call() {
        var l = lab.lab();
        if (l.down()) System.err.println("lab " + l.name() + " removed");
        else System.err.println("lab " + l.name() + ": nothing to remove");
        return 0;
    }
}
