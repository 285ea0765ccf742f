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
}
