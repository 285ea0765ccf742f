package dev.sluice.policy.flows;

import dev.sluice.policy.Direction;
import java.util.List;
import java.util.Map;

/**
 * One recorded flow, as far as policy is concerned: its two ends, L4, which direction's policy the
 * data path checked where it was seen (Hubble's {@code traffic_direction}: the connection's
 * direction seen from the endpoint it was checked at), whether the packet was a reply, and the
 * verdict. {@code skip} is why the flow carries no policy verdict to compare ("" when it does).
 *
 * @param where  where it came from ({@code file:line}, or the node and uuid of a flow from the API)
 * @param protocol IP protocol number (6 TCP, 17 UDP, 132 SCTP, 1 ICMP)
 * @param verdict FORWARDED, DROPPED or AUDIT when {@code skip} is empty
 */
public record RecordedFlow(String where, String time, String node, Peer source, Peer destination, int protocol,
                           int sourcePort, int destinationPort, Direction direction, boolean reply, String verdict,
                           String dropReason, String skip) {
    /** One end of a flow: a pod (namespace and name set) or an address with reserved labels. */
    public record Peer(String ip, long identity, String namespace, String pod, Map<String, String> labels,
                       Map<String, String> namespaceLabels, List<String> reserved, String workload) {
        public Peer {
            labels = Map.copyOf(labels);
            namespaceLabels = Map.copyOf(namespaceLabels);
            reserved = List.copyOf(reserved);
        }

        public boolean isPod() { return !pod.isEmpty(); }

        /** {@code namespace/pod} */
        public String key() { return namespace + "/" + pod; }

        /** The workload, {@code namespace/name}, for grouping; for other ends the reserved label or the address. */
        public String workloadKey() {
            if (isPod()) return namespace + "/" + workload;
            return reserved.isEmpty() ? ip : "reserved:" + reserved.getFirst();
        }

        /** As flows print it: {@code ns/pod} or the address. */
        public String display() { return isPod() ? key() : ip + (reserved.isEmpty() ? "" : " (" + reserved.getFirst() + ")"); }
    }

    public boolean evaluated() { return skip.isEmpty(); }

    /** The end that opened the connection. */
    public Peer opener() { return reply ? destination : source; }

    /** The end the connection was opened to. */
    public Peer responder() { return reply ? source : destination; }

    /** The connection's destination port (the packet's source port on a reply), as the data path checks it. */
    public int port() { return reply ? sourcePort : destinationPort; }

    /** The endpoint whose policy decided: the responder for ingress, the opener for egress. */
    public Peer local() { return direction == Direction.INGRESS ? responder() : opener(); }

    public Peer peer() { return direction == Direction.INGRESS ? opener() : responder(); }

    /** The recorded policy verdict: FORWARDED, or DROPPED (an audit is what the policy would have dropped). */
    public String policyVerdict() { return verdict.equals("FORWARDED") ? "FORWARDED" : "DROPPED"; }

    public String protocolName() { return protocolName(protocol); }

    public static String protocolName(int p) {
        return switch (p) { case 6 -> "TCP"; case 17 -> "UDP"; case 132 -> "SCTP"; case 1 -> "ICMP"; default -> "proto" + p; };
    }

    /** {@code TCP/80}, or {@code ICMP}. */
    public String l4() { return protocol == 6 || protocol == 17 || protocol == 132 ? protocolName() + "/" + port() : protocolName(); }
}
