package dev.sluice.cli.bench;

import dev.sluice.agent.api.AgentClient;
import dev.sluice.lab.Lab;
import dev.sluice.lab.LabEnv;
import dev.sluice.lab.LabState;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Sluice's eBPF path: a one-node lab (its own API server and agent) with a client pod and
 * {@code backends} server pods on the node; Service {@code i} ({@code bench/s<i>}) selects every
 * server pod. A sync is a {@code lab apply}, timed until the agent reports the change programmed
 * in its BPF maps: what a user of the lab waits for (the API server's write and watch included,
 * which kube-proxy's numbers do not contain). The client connects to the last Service's
 * ClusterIP, from the client pod's namespace.
 */
final class SluicePath implements DataPath {
    static final String NS = "bench";
    private final Lab lab;
    private final Path dir;
    private final List<Path> applied = new ArrayList<>();

    /** Starts the lab; on failure takes down whatever of it came up, and throws. */
    SluicePath(String labName, int backends, LabEnv env, Path dir) {
        this.lab = new Lab(labName, env, line -> {});
        this.dir = dir;
        try {
            StringBuilder pods = new StringBuilder(pod("client", "bench-client"));
            for (int b = 0; b < backends; b++) pods.append(pod("srv" + b, "bench-srv"));
            Path f = write("pods.yaml", pods.toString());
            lab.up(new Lab.UpRequest(1, null, null, List.of(f)));
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    private static String pod(String name, String app) {
        return "---\napiVersion: v1\nkind: Pod\nmetadata: {name: " + name + ", namespace: " + NS + ", labels: {app: " + app + "}}\n"
                + "spec: {nodeName: node1, containers: [{name: c, ports: [{containerPort: 80}]}]}\n";
    }

    private static String service(String name) {
        return "---\napiVersion: v1\nkind: Service\nmetadata: {name: " + name + ", namespace: " + NS + "}\n"
                + "spec: {selector: {app: bench-srv}, ports: [{name: http, port: 80}]}\n";
    }

    private static String serviceName(int i) { return String.format("s%05d", i); }

    private Path write(String name, String text) {
        try {
            return Files.writeString(dir.resolve(name), text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override public String name() { return "sluice eBPF"; }

    @Override public String clientNetns() {
        var p = lab.state().pods().get(NS + "/client");
        if (p == null) throw new IllegalStateException("lab " + lab.name() + ": the client pod did not start");
        return p.netns();
    }

    @Override public double fullSync(int n) {
        if (!applied.isEmpty()) lab.delete(applied);
        applied.clear();
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) sb.append(service(serviceName(i)));
        return timedApply(write("services-" + n + ".yaml", sb.toString()));
    }

    @Override public double oneChange(int n) {
        return timedApply(write("one-" + n + ".yaml", service(serviceName(n))));
    }

    private double timedApply(Path f) {
        long t0 = System.nanoTime();
        lab.apply(List.of(f));
        double ms = (System.nanoTime() - t0) / 1e6;
        applied.add(f);
        return ms;
    }

    @Override public String target(int n) {
        String want = NS + "/" + serviceName(n - 1);
        LabState.NodeState node = lab.state().nodes().getFirst();
        for (var s : AgentClient.call(Path.of(node.socket()), "services", Map.of()))
            if (s.path("service").asString().equals(want)) return s.path("clusterIP").asString() + ":80";
        throw new IllegalStateException("Service " + want + " is not programmed on " + node.name());
    }

    @Override public void close() {
        try {
            lab.down();
        } catch (RuntimeException e) {
            System.err.println("bench: lab down --name " + lab.name() + " failed: " + e.getMessage());
        }
    }
}
