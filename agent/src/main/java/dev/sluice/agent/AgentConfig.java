package dev.sluice.agent;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * How one agent runs: which node it is, where the cluster state, its own state, its socket and
 * its pinned maps live, and where the compiled data path is.
 *
 * @param routing overrides the values file's routingMode when present
 * @param socket the API socket; also written into the installed CNI conflist, so on a real node it
 *     must be the same path inside the agent's container and on the host
 * @param manifests the watched directory of cluster state; unused (may be null) when {@code kubernetes} is present
 * @param cniInstall present on a real node, where the agent installs the CNI plugin; empty in the lab
 * @param kubernetes present when the cluster state comes from the Kubernetes API instead of {@code manifests}
 * @param cgroupRoot the cgroup the socket load balancer attaches to; overrides the values file's cgroup.hostRoot
 *     (the lab gives each node's agent its node's cgroup)
 */
public record AgentConfig(String node, Path manifests, Path stateDir, Path socket, Path bpffs, Optional<Path> values,
                          Optional<String> routing, String uplink, Path bpfObjects, Optional<CniInstall> cniInstall,
                          Optional<Kubernetes> kubernetes, Optional<Path> cgroupRoot) {

    public AgentConfig(String node, Path manifests, Path stateDir, Path socket, Path bpffs, Optional<Path> values,
                       Optional<String> routing, String uplink, Path bpfObjects, Optional<CniInstall> cniInstall,
                       Optional<Kubernetes> kubernetes) {
        this(node, manifests, stateDir, socket, bpffs, values, routing, uplink, bpfObjects, cniInstall, kubernetes, Optional.empty());
    }

    /** A configuration that reads the manifest directory. */
    public AgentConfig(String node, Path manifests, Path stateDir, Path socket, Path bpffs, Optional<Path> values,
                       Optional<String> routing, String uplink, Path bpfObjects, Optional<CniInstall> cniInstall) {
        this(node, manifests, stateDir, socket, bpffs, values, routing, uplink, bpfObjects, cniInstall, Optional.empty());
    }

    /** A configuration that installs no CNI plugin (the lab's: its kubelet runs build/bin/sluice-cni itself). */
    public AgentConfig(String node, Path manifests, Path stateDir, Path socket, Path bpffs, Optional<Path> values,
                       Optional<String> routing, String uplink, Path bpfObjects) {
        this(node, manifests, stateDir, socket, bpffs, values, routing, uplink, bpfObjects, Optional.empty());
    }

    /**
     * Installing the CNI plugin once the agent is ready.
     *
     * @param plugin the sluice-cni binary to copy
     * @param binDir the runtime's plugin directory (/opt/cni/bin)
     * @param confDir the runtime's configuration directory (/etc/cni/net.d); the agent writes 05-sluice.conflist there
     * @param uninstall remove the conflist when the agent stops cleanly
     */
    public record CniInstall(Path plugin, Path binDir, Path confDir, boolean uninstall) {}

    /**
     * Reading the cluster state from the Kubernetes API.
     *
     * @param kubeconfig the kubeconfig file; empty for fabric8's auto-configuration (in-cluster service
     *     account, then $KUBECONFIG and ~/.kube/config)
     * @param syncTimeout how long start waits for the first list of the built-in kinds (Nodes at least)
     */
    public record Kubernetes(Optional<Path> kubeconfig, Duration syncTimeout) {
        public static final Duration DEFAULT_SYNC_TIMEOUT = Duration.ofSeconds(60);

        public Kubernetes {
            if (syncTimeout.isNegative() || syncTimeout.isZero())
                throw new IllegalArgumentException("syncTimeout: " + syncTimeout + " (expected: more than zero)");
        }

        public Kubernetes(Optional<Path> kubeconfig) { this(kubeconfig, DEFAULT_SYNC_TIMEOUT); }
    }
}
