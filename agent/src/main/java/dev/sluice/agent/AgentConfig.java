package dev.sluice.agent;

import java.nio.file.Path;
import java.util.Optional;

/**
 * How one agent runs: which node it is, where the cluster state, its own state, its socket and
 * its pinned maps live, and where the compiled data path is.
 *
 * @param routing overrides the values file's routingMode when present
 */
public record AgentConfig(String node, Path manifests, Path stateDir, Path socket, Path bpffs, Optional<Path> values,
                          Optional<String> routing, String uplink, Path bpfObjects) {}
