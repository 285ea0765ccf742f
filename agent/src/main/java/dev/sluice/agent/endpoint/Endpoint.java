package dev.sluice.agent.endpoint;

/**
 * A pod attached on this node: its CNI attachment, address and both ends of its veth.
 *
 * @param id endpoint id used in the data path's metrics and events (1-65535)
 * @param pod {@code namespace/name}
 * @param standalone a container without a Kubernetes Pod (its runtime passed no K8S_POD_NAMESPACE,
 *     e.g. podman): the agent itself puts it into the cluster state it computes policy from, as a pod
 *     without labels in {@code namespace}, on this node, with this address (see docs/cni.md)
 */
public record Endpoint(int id, String containerId, String ifname, String pod, String netns, String ip,
                       String hostIfname, int hostIfindex, String hostMac, String podMac, int mtu, boolean standalone) {}
