package dev.sluice.agent.flow;

import dev.sluice.datapath.DropReason;
import dev.sluice.datapath.maps.FlowEvent;

/** Our data path's codes under Hubble's names and numbers (flow.proto's DropReason and TraceObservationPoint). */
public final class HubbleNames {
    private HubbleNames() {}

    /** A Hubble DropReason: its enum name and number. */
    public record Reason(String name, int number) {}

    /** Hubble's drop reason for one of ours; the switch is exhaustive, so a new reason must be named here. */
    public static Reason dropReason(DropReason r) {
        return switch (r) {
            case FORWARDED, AUDIT -> new Reason("DROP_REASON_UNKNOWN", 0);
            case INVALID_SOURCE, TUNNEL_SPOOF, WIRE_SPOOF -> new Reason("INVALID_SOURCE_IP", 132);
            case UNSUPPORTED_L3 -> new Reason("UNSUPPORTED_L3_PROTOCOL", 139);
            case INVALID_PACKET -> new Reason("INVALID_PACKET_DROPPED", 134);
            case NO_CONFIG -> new Reason("NO_CONFIGURATION_AVAILABLE_TO_PERFORM_POLICY_DECISION", 165);
            case UNKNOWN_ENDPOINT -> new Reason("NO_MATCHING_LOCAL_CONTAINER_FOUND", 152);
            case NO_TUNNEL_KEY -> new Reason("NO_TUNNEL_OR_ENCAPSULATION_ENDPOINT", 160);
            case TUNNEL_SOURCE -> new Reason("UNKNOWN_SENDER", 172);
            case POLICY, POLICY_FULL, POLICY_REVOKED -> new Reason("POLICY_DENIED", 133);
            case POLICY_DENY -> new Reason("POLICY_DENY", 181);
            case POLICY_PENDING -> new Reason("DROP_EP_NOT_READY", 203);
            case PROXY_UNAVAILABLE -> new Reason("PROXY_REDIRECTION_NOT_SUPPORTED_FOR_PROTOCOL", 180);
            case PROXY_INVALID -> new Reason("POLICY_DENIED", 133);
            case NO_BACKEND -> new Reason("SERVICE_BACKEND_NOT_FOUND", 158);
            case CT_FULL -> new Reason("CT_MAP_INSERTION_FAILED", 155);
            case FRAGMENT -> new Reason("FIRST_LOGICAL_DATAGRAM_FRAGMENT_NOT_FOUND", 175);
            case NAT_NO_PORT -> new Reason("NO_MAPPING_FOR_NAT_MASQUERADE", 167);
            case DSR_INVALID -> new Reason("INVALID_PACKET_DROPPED", 134);
            case DSR_NO_ROOM -> new Reason("UNSUPPORTED_PROTOCOL_FOR_DSR_ENCAP", 193);
            case FRAG_NEEDED -> new Reason("IP_FRAGMENTATION_NOT_SUPPORTED", 157);
        };
    }

    /** A code the data path sent that Java does not know (a newer build): Hubble's unknown reason. */
    public static Reason dropReason(int code) {
        for (DropReason r : DropReason.values()) if (r.code == code) return dropReason(r);
        return new Reason("DROP_REASON_UNKNOWN", 0);
    }

    /** Hubble's TraceObservationPoint name of an event's point (the numbers are the same). */
    public static String observationPoint(int obs) {
        return switch (obs) {
            case FlowEvent.OBS_TO_PROXY -> "TO_PROXY";
            case FlowEvent.OBS_TO_STACK -> "TO_STACK";
            case FlowEvent.OBS_TO_OVERLAY -> "TO_OVERLAY";
            case FlowEvent.OBS_FROM_ENDPOINT -> "FROM_ENDPOINT";
            case FlowEvent.OBS_FROM_OVERLAY -> "FROM_OVERLAY";
            case FlowEvent.OBS_FROM_NETWORK -> "FROM_NETWORK";
            case FlowEvent.OBS_TO_NETWORK -> "TO_NETWORK";
            case FlowEvent.OBS_TO_ENDPOINT -> "TO_ENDPOINT";
            default -> "UNKNOWN_POINT";
        };
    }

    /** Cilium's trace sub type of a point (TraceToLxc is 0 where Hubble says TO_ENDPOINT 101). */
    static int traceSubType(int obs) { return obs == FlowEvent.OBS_TO_ENDPOINT ? 0 : obs; }

    static String ctState(int ct) {
        return switch (ct) {
            case FlowEvent.CT_NEW -> "new";
            case FlowEvent.CT_ESTABLISHED -> "established";
            case FlowEvent.CT_REPLY -> "reply";
            case FlowEvent.CT_RELATED -> "related";
            default -> "";
        };
    }

    static String policyMatch(int m, int dir) {
        if (dir == 0) return "";
        return switch (m) {
            case FlowEvent.MATCH_IDENTITY -> "identity";
            case FlowEvent.MATCH_ANY -> "any";
            case FlowEvent.MATCH_CIDR -> "cidr";
            case FlowEvent.MATCH_HOST -> "host";
            default -> "none";
        };
    }

    /** ICMPv4 types by number, with the names of their codes where a type has several (RFC 792, 950, 1256). */
    private static final java.util.Map<Integer, String> ICMP4_TYPES = java.util.Map.ofEntries(
            java.util.Map.entry(0, "EchoReply"), java.util.Map.entry(3, "DestinationUnreachable"), java.util.Map.entry(4, "SourceQuench"),
            java.util.Map.entry(5, "Redirect"), java.util.Map.entry(8, "EchoRequest"), java.util.Map.entry(9, "RouterAdvertisement"),
            java.util.Map.entry(10, "RouterSolicitation"), java.util.Map.entry(11, "TimeExceeded"), java.util.Map.entry(12, "ParameterProblem"),
            java.util.Map.entry(13, "TimestampRequest"), java.util.Map.entry(14, "TimestampReply"), java.util.Map.entry(15, "InfoRequest"),
            java.util.Map.entry(16, "InfoReply"), java.util.Map.entry(17, "AddressMaskRequest"), java.util.Map.entry(18, "AddressMaskReply"));
    private static final java.util.Map<Integer, java.util.List<String>> ICMP4_CODES = java.util.Map.of(
            3, java.util.List.of("Net", "Host", "Protocol", "Port", "FragmentationNeeded", "SourceRoutingFailed", "NetUnknown",
                    "HostUnknown", "SourceIsolated", "NetAdminProhibited", "HostAdminProhibited", "NetTOS", "HostTOS",
                    "CommAdminProhibited", "HostPrecedence", "PrecedenceCutoff"),
            5, java.util.List.of("Net", "Host", "TOS+Net", "TOS+Host"),
            11, java.util.List.of("TTLExceeded", "FragmentReassemblyTimeExceeded"),
            12, java.util.List.of("PointerIndicatesError", "MissingOption", "BadLength"));

    /**
     * An ICMPv4 type and code as Hubble names them (its {@code hubble_icmp_total} type label and
     * its flow summaries, after gopacket): {@code EchoRequest}, {@code DestinationUnreachable(Port)},
     * {@code EchoReply(Code: 1)} for a code a type does not use, {@code 42(0)} for an unknown type.
     */
    public static String icmpv4(int type, int code) {
        String t = ICMP4_TYPES.get(type);
        if (t == null) return type + "(" + code + ")";
        java.util.List<String> codes = ICMP4_CODES.get(type);
        if (codes == null) return code == 0 ? t : t + "(Code: " + code + ")";
        return code < codes.size() ? t + "(" + codes.get(code) + ")" : t + "(Code: " + code + ")";
    }

    /** Hubble's words for a DNS RCODE (its dns metric's {@code rcode} label and the answer's summary). */
    public static String rcode(int rcode) {
        String n = RCODES.get(rcode);
        return n != null ? n : Integer.toString(rcode);
    }

    private static final java.util.Map<Integer, String> RCODES = java.util.Map.ofEntries(java.util.Map.entry(0, "No Error"),
            java.util.Map.entry(1, "Format Error"), java.util.Map.entry(2, "Server Failure"), java.util.Map.entry(3, "Non-Existent Domain"),
            java.util.Map.entry(4, "Not Implemented"), java.util.Map.entry(5, "Query Refused"),
            java.util.Map.entry(6, "Name Exists when it should not"), java.util.Map.entry(7, "RR Set Exists when it should not"),
            java.util.Map.entry(8, "RR Set that should exist does not"), java.util.Map.entry(9, "Not Authorized"),
            java.util.Map.entry(10, "Name not contained in zone"), java.util.Map.entry(11, "DSO-TYPE Not Implemented"),
            java.util.Map.entry(16, "Bad OPT Version"), java.util.Map.entry(17, "Key not recognized"),
            java.util.Map.entry(18, "Signature out of time window"), java.util.Map.entry(19, "Bad TKEY Mode"),
            java.util.Map.entry(20, "Duplicate key name"), java.util.Map.entry(21, "Algorithm not supported"),
            java.util.Map.entry(22, "Bad Truncation"), java.util.Map.entry(23, "Bad/missing Server Cookie"));

    /**
     * Hubble's summary of an HTTP record: {@code HTTP/1.1 GET http://backend/api/v1/data} for a
     * request, {@code HTTP/1.1 403 0ms (GET http://backend/api/v1/data)} for a response.
     */
    public static String httpSummary(Flow.L7Type type, Flow.Http h, long latencyNs) {
        String request = h.method() + " " + h.url();
        return type == Flow.L7Type.RESPONSE ? h.protocol() + " " + h.code() + " " + latencyNs / 1_000_000 + "ms (" + request + ")"
                : h.protocol() + " " + request;
    }

    /**
     * Hubble's summary of a DNS record: {@code DNS Query backend.x.svc.cluster.local. A}, or for an
     * answer {@code DNS Answer "10.96.0.20" TTL: 30 (Proxy backend.x.svc.cluster.local. A)} (with
     * {@code CNAMEs: "..."} when there are some; {@code RCode: Query Refused} instead when it is not NOERROR).
     */
    public static String dnsSummary(Flow.L7Type type, Flow.Dns d) {
        String qtypes = String.join(",", d.qtypes());
        if (type != Flow.L7Type.RESPONSE) return "DNS Query " + d.query() + " " + qtypes;
        String answer;
        if (d.rcode() != 0) {
            answer = "RCode: " + rcode(d.rcode());
        } else {
            java.util.List<String> parts = new java.util.ArrayList<>();
            if (!d.ips().isEmpty()) parts.add(quote(String.join(",", d.ips())));
            if (!d.cnames().isEmpty()) parts.add("CNAMEs: " + quote(String.join(",", d.cnames())));
            answer = String.join(" ", parts);
        }
        return "DNS Answer " + answer + " TTL: " + Integer.toUnsignedString(d.ttl()) + " ("
                + (d.observationSource().equals("proxy") ? "Proxy" : "Query") + " " + d.query() + " " + qtypes + ")";
    }

    /** A double-quoted string with quotes, backslashes and control characters escaped. */
    static String quote(String s) {
        StringBuilder sb = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') sb.append('\\').append(c);
            else if (c < 0x20 || c == 0x7f) sb.append(String.format("\\x%02x", (int) c));
            else sb.append(c);
        }
        return sb.append('"').toString();
    }
}
