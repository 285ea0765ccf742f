package dev.sluice.lab;

import dev.sluice.bpf.Cgroup;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * One cgroup v2 per lab node, {@code <cgroup2 mount>/sluice-<lab>-<node>}: the node's agent, its pods'
 * processes and {@code lab exec} into the node or its pods join it, and the node's socket load
 * balancer attaches there (the agent's {@code --cgroup-root}). cgroup programs act on every process
 * of their cgroup whatever its network namespace, and all lab nodes share this host's one cgroup
 * tree: a cgroup of the node's own processes is what keeps the programs away from the root
 * namespace's processes and from other nodes' (docs/services.md, "Socket load balancing in the lab").
 * The world host joins none. Without a cgroup2 mount the lab runs without (socket LB then stays off).
 */
public final class LabCgroups {
    private LabCgroups() {}

    private static String prefix(String lab) { return "sluice-" + lab + "-"; }

    /** The node's cgroup, or empty when this host has no cgroup2 mount. */
    public static Optional<Path> node(String lab, String node) {
        return Cgroup.cgroup2Mount().map(m -> m.resolve(prefix(lab) + node));
    }

    /** Creates the node's cgroup (already there is fine); empty when there is no cgroup2 mount. */
    public static Optional<Path> create(String lab, String node) {
        Optional<Path> c = node(lab, node);
        if (c.isEmpty()) return c;
        try {
            Files.createDirectories(c.get());
        } catch (IOException e) {
            throw new Procs.CommandException("cannot create cgroup " + c.get() + ": " + e.getMessage());
        }
        return c;
    }

    /**
     * {@code command}, run so that it first moves itself into {@code cgroup} (a shell writes its own
     * pid, then execs): every process it starts is born there. No cgroup (or none made, as in a lab
     * an older version started): the command as it is.
     */
    public static List<String> joining(Optional<Path> cgroup, List<String> command) {
        if (cgroup.isEmpty() || !Files.isDirectory(cgroup.get())) return command;
        List<String> c = new ArrayList<>(List.of("sh", "-c", "echo 0 > \"$0\" && exec \"$@\"", cgroup.get().resolve("cgroup.procs").toString()));
        c.addAll(command);
        return c;
    }

    /** The cgroups of this lab that exist. */
    public static List<Path> all(String lab) {
        Optional<Path> m = Cgroup.cgroup2Mount();
        if (m.isEmpty() || !Files.isDirectory(m.get())) return List.of();
        try (Stream<Path> s = Files.list(m.get())) {
            return s.filter(p -> p.getFileName().toString().startsWith(prefix(lab)) && Files.isDirectory(p)).sorted().toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    /**
     * Removes the lab's cgroups: whatever still runs in one (a `lab exec` left behind) is killed
     * through cgroup.kill, then the directory goes, and with it every program attached there.
     * Problems are added to {@code errors}.
     */
    public static void removeAll(String lab, List<String> errors) {
        for (Path c : all(lab)) {
            try {
                if (!procs(c).isEmpty()) {
                    Files.writeString(c.resolve("cgroup.kill"), "1");
                    long deadline = System.currentTimeMillis() + 5000;
                    while (!procs(c).isEmpty() && System.currentTimeMillis() < deadline) Kubelet.sleep(20);
                }
                Files.delete(c);
            } catch (IOException e) {
                errors.add("cgroup " + c + ": cannot remove (" + e.getMessage() + "); still in it: " + procs(c));
            }
        }
    }

    /** Pids in a cgroup (its cgroup.procs); empty when gone. */
    static List<Long> procs(Path cgroup) {
        try {
            return Files.readAllLines(cgroup.resolve("cgroup.procs")).stream().filter(l -> !l.isBlank()).map(Long::parseLong).toList();
        } catch (IOException e) {
            return List.of();
        }
    }
}
