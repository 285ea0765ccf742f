package dev.sluice.lab;

import java.nio.file.Path;

/**
 * The state directory of one lab, {@code /run/sluice/labs/<lab>/} (the root can be moved with the
 * system property {@code sluice.lab.root}, for tests).
 */
public record LabDir(String lab, Path root) {
    public static final Path DEFAULT_ROOT = Path.of("/run/sluice/labs");
    public static final Path BPFFS_ROOT = Path.of("/sys/fs/bpf/sluice");

    public static LabDir of(String lab) {
        String r = System.getProperty("sluice.lab.root");
        return new LabDir(lab, (r == null || r.isBlank() ? DEFAULT_ROOT : Path.of(r)).resolve(lab));
    }

    public Path labJson() { return root.resolve("lab.json"); }
    public Path values() { return root.resolve("values.yaml"); }
    public Path manifests() { return root.resolve("manifests"); }
    public Path lock() { return root.resolve(".lock"); }
    public Path nodeDir(String node) { return root.resolve("nodes").resolve(node); }
    public Path socket(String node) { return nodeDir(node).resolve("agent.sock"); }
    public Path logs() { return root.resolve("logs"); }
    public Path nodeLog(String node) { return logs().resolve(node + ".log"); }
    public Path podLog(String podKey) { return logs().resolve(LabNames.podLogName(podKey) + ".log"); }
    public Path worldLog() { return logs().resolve("world.log"); }
    public Path apiServerLog() { return logs().resolve("apiserver.log"); }
    /** Each agent's Hubble Observer socket (the agent puts it beside its API socket). */
    public Path hubbleSocket(String node) { return dev.sluice.agent.hubble.HubbleApi.socket(socket(node)); }
    /** Hubble Relay's socket, when hubble.relay.enabled. */
    public Path relaySocket() { return root.resolve("hubble-relay.sock"); }
    public Path relayLog() { return logs().resolve("hubble-relay.log"); }
    /** The kubeconfig of the lab's API server (its address is reachable from the lab's world namespace and nodes). */
    public Path kubeconfig() { return root.resolve("kubeconfig"); }
    /** Where the agents of this lab pin their maps. */
    public Path bpffs() { return BPFFS_ROOT.resolve(lab); }
    public Path bpffs(String node) { return bpffs().resolve(node); }
}
