package dev.sluice.cli;

import dev.sluice.BadInputException;
import dev.sluice.agent.Agent;
import dev.sluice.agent.AgentConfig;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code sluice agent}: runs the node agent in the foreground (the lab starts one per node namespace). */
@Command(name = "agent", description = "Run the node agent in the foreground.")
public final class AgentCommand implements Callable<Integer> {
    @Option(names = "--node", required = true, description = "This node's name (a Node with this name must exist).")
    String node;
    @Option(names = "--api", defaultValue = "manifests", description = "Where the cluster state comes from: manifests (the --manifests directory)"
            + " or kubernetes (the API server of --kubeconfig, or in-cluster) (default: ${DEFAULT-VALUE}).")
    String api;
    @Option(names = "--manifests", description = "Directory of cluster-state manifests to watch (with --api manifests).")
    Path manifests;
    @Option(names = "--kubeconfig", description = "Kubeconfig file (with --api kubernetes; default: in-cluster configuration, then $KUBECONFIG, ~/.kube/config).")
    Path kubeconfig;
    @Option(names = "--state-dir", required = true, description = "The agent's own persistent state (IPAM, endpoints).")
    Path stateDir;
    @Option(names = "--socket", defaultValue = "/var/run/sluice/agent.sock", description = "API socket (default: ${DEFAULT-VALUE}).")
    Path socket;
    @Option(names = "--bpffs", required = true, description = "Directory under /sys/fs/bpf for this node's pinned maps.")
    Path bpffs;
    @Option(names = "--values", description = "Values file (Helm-style).")
    Path values;
    @Option(names = "--routing", description = "native or tunnel; overrides the values file.")
    String routing;
    @Option(names = "--uplink", defaultValue = "eth0", description = "The node's uplink device (default: ${DEFAULT-VALUE}).")
    String uplink;
    // arity 0..1: the chart passes --cni-install=true|false from its values
    @Option(names = "--cni-install", arity = "0..1", description = "Once ready, install the CNI plugin and its conflist (real nodes; the lab's kubelet needs neither).")
    boolean cniInstall;
    @Option(names = "--cni-plugin", description = "The plugin binary to install (default: build/bin/sluice-cni under the Sluice home).")
    Path cniPlugin;
    @Option(names = "--cni-bin-dir", defaultValue = "/opt/cni/bin", description = "Where the runtime finds CNI plugins (default: ${DEFAULT-VALUE}).")
    Path cniBinDir;
    @Option(names = "--cni-conf-dir", defaultValue = "/etc/cni/net.d", description = "Where the conflist goes, as 05-sluice.conflist (default: ${DEFAULT-VALUE}).")
    Path cniConfDir;
    @Option(names = "--cni-uninstall", arity = "0..1", description = "Remove the conflist when the agent stops cleanly.")
    boolean cniUninstall;
    @Option(names = "--cgroup-root", description = "The cgroup v2 directory the socket load balancer attaches to; overrides cgroup.hostRoot"
            + " (the lab gives each node's agent its own).")
    Path cgroupRoot;

    AgentConfig config() {
        if (routing != null && !routing.equals("native") && !routing.equals("tunnel"))
            throw new BadInputException("--routing: " + routing + " (expected: native or tunnel)");
        if (!api.equals("manifests") && !api.equals("kubernetes"))
            throw new BadInputException("--api: " + api + " (expected: manifests or kubernetes)");
        if (api.equals("manifests") && manifests == null)
            throw new BadInputException("--manifests: missing (expected: a directory of manifests with --api manifests)");
        if (api.equals("manifests") && kubeconfig != null)
            throw new BadInputException("--kubeconfig: " + kubeconfig + " (expected: only with --api kubernetes)");
        Optional<AgentConfig.Kubernetes> kubernetes = api.equals("kubernetes")
                ? Optional.of(new AgentConfig.Kubernetes(Optional.ofNullable(kubeconfig))) : Optional.empty();
        Path home = Path.of(System.getProperty("sluice.home", "."));
        Optional<AgentConfig.CniInstall> cni = cniInstall ? Optional.of(new AgentConfig.CniInstall(
                cniPlugin != null ? cniPlugin : home.resolve("build/bin/sluice-cni"), cniBinDir, cniConfDir, cniUninstall)) : Optional.empty();
        if (cgroupRoot != null && !cgroupRoot.isAbsolute())
            throw new BadInputException("--cgroup-root: " + cgroupRoot + " (expected: an absolute path of a cgroup v2 directory)");
        return new AgentConfig(node, manifests, stateDir, socket, bpffs, Optional.ofNullable(values), Optional.ofNullable(routing),
                uplink, home.resolve("build/bpf"), cni, kubernetes, Optional.ofNullable(cgroupRoot));
    }

    @Override public Integer call() throws Exception {
        Agent agent = new Agent(config());
        Runtime.getRuntime().addShutdownHook(new Thread(agent::close, "agent-stop"));
        agent.start();
        agent.awaitShutdown();
        return 0;
    }
}
