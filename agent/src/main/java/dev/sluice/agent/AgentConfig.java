package dev.sluice.agent;

import java.nio.file.Path;
import java.util.Optional;

/**
 * How one agent runs: which node it is, where the cluster state, its own state, its socket and
 * its pinned maps live, and where the compiled data path is.
 *
 * @param routing overrides the values file's routingMode when present
 * @param socket the API socket; also written into the installed CNI conflist, so on a real node it
 *     must be the same path inside the agent's container and on the host
 * @param cniInstall present on a real node, where the agent installs the CNI plugin; empty in the lab
 */
public record AgentConfig(String node, Path manifests, Path stateDir, Path socket, Path bpffs, Optional<Path> values,
                          Optional<String> routing, String uplink, Path bpfObjects, Optional<CniInstall> cniInstall) {

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
}
