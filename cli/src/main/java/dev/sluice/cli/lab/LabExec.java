package dev.sluice.cli.lab;

import dev.sluice.BadInputException;
import dev.sluice.lab.Lab;
import dev.sluice.lab.LabNames;
import dev.sluice.lab.LabNet;
import dev.sluice.lab.LabState;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

@Command(name = "exec", mixinStandardHelpOptions = true,
        description = "Run a command inside a pod (ns/name), a node (node1...) or the world host; its exit code is passed through.")
final class LabExec implements Callable<Integer> {
    @Mixin LabOptions lab;
    @Parameters(index = "0", paramLabel = "TARGET", description = "ns/pod, a node name, or world") String target;
    @Parameters(index = "1..*", arity = "1..*", paramLabel = "CMD", description = "the command, after --") List<String> command;

    @Override public Integer call() throws IOException, InterruptedException {
        Lab l = lab.lab();
        String netns = netnsOf(l.state(), target);
        var pb = new ProcessBuilder(LabNet.inNetns(netns, dev.sluice.lab.LabCgroups.joining(cgroupOf(l, target), command))).inheritIO();
        return pb.start().waitFor();
    }

    /**
     * The cgroup a command in the target joins: a node's own for the node and for its pods (their
     * sockets take that node's socket load balancer), none for the world.
     */
    static java.util.Optional<java.nio.file.Path> cgroupOf(Lab l, String target) {
        var st = l.state();
        String node = st.node(target).map(LabState.NodeState::name).orElseGet(() -> st.pods().containsKey(target) ? st.pods().get(target).node() : null);
        if (node == null) return java.util.Optional.empty();
        return dev.sluice.lab.LabCgroups.node(l.name(), node).filter(java.nio.file.Files::isDirectory);
    }

    /** The namespace of a target; bad input listing the valid ones. */
    static String netnsOf(LabState st, String target) {
        if (target.equals(LabNames.WORLD) && st.world() != null) return st.world().netns();
        var n = st.node(target);
        if (n.isPresent()) return n.get().netns();
        var p = st.pods().get(target);
        if (p != null) return p.netns();
        List<String> valid = new ArrayList<>();
        st.nodes().forEach(x -> valid.add(x.name()));
        valid.add(LabNames.WORLD);
        valid.addAll(st.pods().keySet());
        throw new BadInputException("exec: " + target + " (expected one of: " + String.join(", ", valid) + ")");
    }
}
