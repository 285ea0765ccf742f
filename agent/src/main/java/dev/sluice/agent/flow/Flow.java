package dev.sluice.agent.flow;

import java.time.Instant;
import java.util.List;

/**
 * One enriched flow, shaped as Hubble's {@code flow.Flow} message so that the later gRPC Observer
 * maps it field by field: every component is named after the proto field it becomes (see
 * {@link FlowJson} for the JSON names). Values Hubble has no field for (our own reason code, the
 * conntrack state, which policy lookup matched) are in {@link Extra}.
 *
 * @param dropReason Hubble's number of {@code dropReasonDesc} (0 unless dropped)
 * @param isReply null when unknown (not tracked where it was seen)
 * @param l7 what an L7 proxy saw (Hubble's {@code Type} L7, event type 129), null for a data path (L3/L4) flow
 */
public record Flow(Instant time, String uuid, Verdict verdict, int dropReason, String dropReasonDesc, Ip ip, L4 l4,
                   Endpoint source, Endpoint destination, String nodeName, Service sourceService, Service destinationService,
                   TrafficDirection trafficDirection, String traceObservationPoint, Boolean isReply, EventType eventType,
                   List<PolicyRef> ingressAllowedBy, List<PolicyRef> egressAllowedBy, List<PolicyRef> ingressDeniedBy,
                   List<PolicyRef> egressDeniedBy, String summary, Extra extra, Layer7 l7) {
    /** Hubble's event type of the proxies' records (Cilium's MessageTypeAccessLog). */
    public static final int EVENT_L7 = 129;

    public Flow {
        ingressAllowedBy = List.copyOf(ingressAllowedBy);
        egressAllowedBy = List.copyOf(egressAllowedBy);
        ingressDeniedBy = List.copyOf(ingressDeniedBy);
        egressDeniedBy = List.copyOf(egressDeniedBy);
    }

    /** A data path (L3/L4) flow: no L7 record. */
    public Flow(Instant time, String uuid, Verdict verdict, int dropReason, String dropReasonDesc, Ip ip, L4 l4,
                Endpoint source, Endpoint destination, String nodeName, Service sourceService, Service destinationService,
                TrafficDirection trafficDirection, String traceObservationPoint, Boolean isReply, EventType eventType,
                List<PolicyRef> ingressAllowedBy, List<PolicyRef> egressAllowedBy, List<PolicyRef> ingressDeniedBy,
                List<PolicyRef> egressDeniedBy, String summary, Extra extra) {
        this(time, uuid, verdict, dropReason, dropReasonDesc, ip, l4, source, destination, nodeName, sourceService, destinationService,
                trafficDirection, traceObservationPoint, isReply, eventType, ingressAllowedBy, egressAllowedBy, ingressDeniedBy,
                egressDeniedBy, summary, extra, null);
    }

    /** The HTTP record of an L7 flow, or null. */
    public Http http() { return l7 != null && l7.record() instanceof Http h ? h : null; }

    /** The DNS record of an L7 flow, or null. */
    public Dns dns() { return l7 != null && l7.record() instanceof Dns d ? d : null; }

    /** Hubble's flow.Verdict, with its numbers. */
    public enum Verdict {
        VERDICT_UNKNOWN(0), FORWARDED(1), DROPPED(2), ERROR(3), AUDIT(4), TRANSLATED(7);
        public final int number;
        Verdict(int number) { this.number = number; }
    }

    /** Hubble's flow.TrafficDirection: the direction of the connection, seen from the local endpoint. */
    public enum TrafficDirection {
        TRAFFIC_DIRECTION_UNKNOWN(0), INGRESS(1), EGRESS(2);
        public final int number;
        TrafficDirection(int number) { this.number = number; }
    }

    /** Hubble's flow.IP (IPv4 only for now). */
    public record Ip(String source, String destination, String ipVersion) {}

    /** Hubble's flow.Layer4: exactly one protocol. */
    public sealed interface L4 permits Tcp, Udp, Sctp, Icmpv4, Other {
        int sourcePort();
        int destinationPort();
        String protocol();
    }

    public record Tcp(int sourcePort, int destinationPort, TcpFlags flags) implements L4 {
        public String protocol() { return "TCP"; }
    }

    public record Udp(int sourcePort, int destinationPort) implements L4 {
        public String protocol() { return "UDP"; }
    }

    public record Sctp(int sourcePort, int destinationPort) implements L4 {
        public String protocol() { return "SCTP"; }
    }

    /**
     * ICMP: the type and code of the packet's own header (an error's outer one), -1 when the packet
     * did not carry it (a non-first fragment); echo flows carry their identifier in the ports, as
     * the data path tracks them.
     */
    public record Icmpv4(int sourcePort, int destinationPort, int type, int code) implements L4 {
        public String protocol() { return "ICMP"; }

        public boolean known() { return type >= 0; }

        /** Hubble's name of the type and code ({@code EchoRequest}), "" when not known. */
        public String typeName() { return known() ? HubbleNames.icmpv4(type, code) : ""; }
    }

    /** A protocol Hubble's Layer4 has no member for: the number only. */
    public record Other(int number) implements L4 {
        public int sourcePort() { return 0; }
        public int destinationPort() { return 0; }
        public String protocol() { return "proto" + number; }
    }

    /** Hubble's flow.TCPFlags, from the TCP header's flag byte. */
    public record TcpFlags(boolean FIN, boolean SYN, boolean RST, boolean PSH, boolean ACK, boolean URG, boolean ECE, boolean CWR) {
        public static TcpFlags of(int b) {
            return new TcpFlags((b & 0x01) != 0, (b & 0x02) != 0, (b & 0x04) != 0, (b & 0x08) != 0, (b & 0x10) != 0,
                    (b & 0x20) != 0, (b & 0x40) != 0, (b & 0x80) != 0);
        }

        /** {@code SYN, ACK} as hubble observe prints them. */
        public String text() {
            List<String> out = new java.util.ArrayList<>();
            if (SYN) out.add("SYN");
            if (FIN) out.add("FIN");
            if (RST) out.add("RST");
            if (PSH) out.add("PSH");
            if (ACK) out.add("ACK");
            if (URG) out.add("URG");
            if (ECE) out.add("ECE");
            if (CWR) out.add("CWR");
            return String.join(", ", out);
        }
    }

    /**
     * Hubble's flow.Endpoint. {@code id} is the local endpoint id (0 elsewhere); {@code labels} in
     * {@code source:key=value} form ({@code k8s:app=web}, {@code reserved:world}).
     */
    public record Endpoint(int id, long identity, String namespace, List<String> labels, String podName, List<Workload> workloads) {
        public Endpoint {
            labels = List.copyOf(labels);
            workloads = List.copyOf(workloads);
        }

        /** {@code namespace/pod}, or "" when not a pod. */
        public String pod() { return podName.isEmpty() ? "" : namespace + "/" + podName; }
    }

    public record Workload(String name, String kind) {}

    /** Hubble's flow.L7FlowType. */
    public enum L7Type { UNKNOWN_L7_TYPE, REQUEST, RESPONSE }

    /**
     * Hubble's flow.Layer7: a proxy's decision on a request, or the response coming back with its
     * latency (request's first byte to the response's headers; 0 on a request), and one record.
     */
    public record Layer7(L7Type type, long latencyNs, L7Record record) {}

    /** The record of a {@link Layer7}: exactly one protocol. */
    public sealed interface L7Record permits Http, Dns {}

    /** Hubble's flow.HTTP: {@code code} 0 on a request; {@code url} {@code http://host/path?query}. */
    public record Http(int code, String method, String url, String protocol, List<HttpHeader> headers) implements L7Record {
        public Http {
            headers = List.copyOf(headers);
        }
    }

    public record HttpHeader(String key, String value) {}

    /**
     * Hubble's flow.DNS: the name asked (lower case, trailing dot), the answer's addresses, its
     * smallest TTL, CNAMEs, where it was seen ("proxy"), the RCODE, the query's and the answer's types.
     */
    public record Dns(String query, List<String> ips, int ttl, List<String> cnames, String observationSource, int rcode,
                      List<String> qtypes, List<String> rrtypes) implements L7Record {
        public Dns {
            ips = List.copyOf(ips);
            cnames = List.copyOf(cnames);
            qtypes = List.copyOf(qtypes);
            rrtypes = List.copyOf(rrtypes);
        }
    }

    /** Hubble's flow.Service. */
    public record Service(String name, String namespace) {}

    /** Hubble's flow.CiliumEventType: type 1 drop (sub type: the Hubble drop reason), 4 trace (sub type: the observation point), 5 policy verdict, 129 L7 (a proxy's record). */
    public record EventType(int type, int subType) {}

    /**
     * What Sluice knows beyond Hubble's fields.
     *
     * @param reason our reason code (bpf/lib/drop.h) and its words
     * @param ctState new, established, reply, related or "" (not tracked where seen)
     * @param policyMatch which policy lookup decided: identity, any, cidr, host, none or ""
     * @param endpoint the local endpoint ({@code namespace/pod}) the event is counted against
     * @param frontend for a translated flow: the service address and port the client used
     */
    public record Extra(int reasonCode, String reason, String ctState, String policyMatch, String endpoint, int ifindex, int length,
                        String frontend) {}
}
