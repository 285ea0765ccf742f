package dev.sluice.lab;

import dev.sluice.lab.api.ApiClient;
import dev.sluice.net.Cidr;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;

/**
 * The lab's API server process: started in the world namespace (where kubectl runs and which every
 * node reaches over the underlay), its kubeconfig, and the lab's client of it.
 */
public final class LabApi {
    private LabApi() {}

    public static final int PORT = 6443;
    static final long START_TIMEOUT_MS = 30_000;

    public static String url() { return "http://" + LabNames.WORLD_IP + ":" + PORT; }

    /** The command that runs the server (the hidden {@code sluice lab apiserver}). */
    static List<String> args(String lab, Cidr serviceCidr) {
        return List.of("lab", "apiserver", "--listen", LabNames.WORLD_IP + ":" + PORT, "--service-cidr", serviceCidr.toString(), "--lab", lab);
    }

    /** Starts the server in the world namespace, writes the kubeconfig, and returns the pid once it answers. */
    static long start(Agents agents, LabState.WorldState world, LabDir dir, Cidr serviceCidr) {
        long pid = Procs.startDetached(LabNet.inNetns(world.netns(), agents.sluice(args(dir.lab(), serviceCidr))), null, dir.apiServerLog());
        try (var client = client(world)) {
            long deadline = System.currentTimeMillis() + START_TIMEOUT_MS;
            String last = "";
            while (true) {
                try {
                    if (client.call("GET", "/healthz", null, null).ok()) break;
                } catch (RuntimeException e) {
                    last = e.getMessage();
                }
                if (!Procs.alive(pid))
                    throw new Procs.CommandException("the lab's API server exited before it answered; log " + dir.apiServerLog() + ": " + Procs.tail(dir.apiServerLog(), 5));
                if (System.currentTimeMillis() > deadline)
                    throw new Procs.CommandException("the lab's API server did not answer within " + START_TIMEOUT_MS / 1000 + " s (" + last + "); log "
                            + dir.apiServerLog() + ": " + Procs.tail(dir.apiServerLog(), 5));
                Kubelet.sleep(100);
            }
        }
        Lab.write(dir.kubeconfig(), kubeconfig(dir.lab()));
        return pid;
    }

    static String kubeconfig(String lab) {
        String cluster = "sluice-lab-" + lab;
        return """
                apiVersion: v1
                kind: Config
                clusters:
                - name: %1$s
                  cluster:
                    server: %2$s
                users:
                - name: %1$s
                  user: {}
                contexts:
                - name: %1$s
                  context:
                    cluster: %1$s
                    user: %1$s
                    namespace: default
                current-context: %1$s
                """.formatted(cluster, url());
    }

    static ApiClient client(LabState.WorldState world) {
        return new ApiClient(Path.of(LabNet.netnsPath(world.netns())), new InetSocketAddress(LabNames.WORLD_IP, PORT));
    }

    static ApiClusterStore store(LabState.WorldState world, LabDir dir) { return new ApiClusterStore(client(world), dir.kubeconfig()); }
}
