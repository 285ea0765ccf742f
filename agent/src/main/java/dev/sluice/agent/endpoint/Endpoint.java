package dev.sluice.agent.endpoint;

/**
 * A pod attached on this node: its CNI attachment, address and both ends of its veth.
 *
 * @param id endpoint id used in the data path's metrics and events (1-65535)
 */
public record Endpoint(int id, String containerId, String ifname, String pod, String netns, String ip,
                       String hostIfname, int hostIfindex, String hostMac, String podMac, int mtu) {}
