package dev.sluice.agent;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.sluice.agent.lb.LbRuntime;
import dev.sluice.agent.source.ClusterSource;
import java.util.List;
import java.util.Map;

/** What the agent's API answers, as records: the JSON the CLI reads has these fields, in this order. */
public final class AgentViews {
    private AgentViews() {}

    /** {@code status}. */
    public record Status(String node, String health, long programmedGeneration, Map<String, Long> programmedVersions, ClusterSource.Status source,
                         String routing, String nodeIP, String podCIDR, Mtu mtu, Ipam ipam, List<EndpointView> endpoints, List<Program> programs,
                         List<MapUse> maps, LbRuntime.StatusView services, dev.sluice.agent.lb.SocketLb.StatusView socketLB,
                         dev.sluice.agent.flow.FlowObserver.Counters flows,
                         List<String> errors, dev.sluice.agent.l2.L2Announcer.StatusView l2announcements) {}

    public record Mtu(int underlay, int pod) {}

    public record Ipam(String cidr, int used, long capacity) {}

    public record Program(String program, String device, String direction) {}

    public record MapUse(String name, int entries, int max) {}

    /** One local endpoint; {@code policy} is ok, pending, overflow or audit. */
    public record EndpointView(int id, String pod, String ip, int identity, boolean ingressEnforced, boolean egressEnforced, String policy,
                               @JsonProperty("interface") String iface, int ifindex, String containerID) {}

    /** {@code ipcache}: one prefix as the kernel map holds it. */
    public record IpcacheEntry(String prefix, int identity, String tunnelEndpoint, int flags) {}

    /** {@code metrics}: drop (or forward) counters by reason, direction and endpoint. */
    public record Metric(String reason, int code, String direction, String endpoint, long packets, long bytes) {}

    /** {@code identities}. */
    public record IdentityView(int id, String labels, List<String> pods) {}

    /** {@code policy}: a local pod's policy as the kernel holds it, with the rules behind each entry. */
    public record PolicyView(String pod, String node, int endpoint, int identity, boolean ingressEnforced, boolean egressEnforced, boolean audit,
                             boolean pending, boolean overflow, List<PolicyEntry> entries, List<PolicyCidr> cidrs) {}

    public record PolicyEntry(String direction, long identity, String peer, String l4, String verdict, List<String> rules) {}

    public record PolicyCidr(String direction, String cidr, long identity) {}
}
