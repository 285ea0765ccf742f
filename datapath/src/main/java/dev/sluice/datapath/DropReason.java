package dev.sluice.datapath;

import java.util.Arrays;

/** The data path's reason codes (bpf/lib/drop.h), with the names users see. */
public enum DropReason {
    FORWARDED(0, "Forwarded"),
    INVALID_SOURCE(130, "Invalid source address (spoofed)"),
    UNSUPPORTED_L3(131, "Unsupported L3 protocol"),
    INVALID_PACKET(132, "Invalid packet"),
    NO_CONFIG(133, "Node config not programmed"),
    UNKNOWN_ENDPOINT(134, "Unknown endpoint"),
    NO_TUNNEL_KEY(135, "Cannot set tunnel key"),
    TUNNEL_SOURCE(136, "Tunnel packet not from a known node"),
    TUNNEL_SPOOF(137, "Tunnel packet with a source its node cannot send"),
    WIRE_SPOOF(138, "Packet from the wire with a cluster source it cannot have"),
    POLICY(140, "Policy denied"),
    POLICY_DENY(141, "Policy denied by deny rule"),
    POLICY_PENDING(142, "Endpoint policy not programmed yet"),
    POLICY_FULL(143, "Endpoint policy map full"),
    PROXY_UNAVAILABLE(144, "L7 rule needs the proxy, which is not available"),
    AUDIT(145, "Policy audit (would be denied, forwarded)"),
    POLICY_REVOKED(146, "Reply of a flow the policy no longer allows"),
    PROXY_INVALID(147, "Packet for the L7 proxy that its policy does not call for (forged mark or fragment)"),
    NO_BACKEND(150, "Service backend not found"),
    CT_FULL(151, "Conntrack table full"),
    FRAGMENT(152, "Fragment whose first fragment was not seen"),
    NAT_NO_PORT(153, "No free port for source NAT"),
    DSR_INVALID(154, "DSR option not accepted (forged, or from a pod)"),
    DSR_NO_ROOM(155, "No room for the DSR option (IP options present, or over the MTU)"),
    FRAG_NEEDED(156, "Too big for the backend, DF set (answered fragmentation needed)");

    public final int code;
    public final String text;

    DropReason(int code, String text) {
        this.code = code;
        this.text = text;
    }

    public static String describe(int code) {
        return Arrays.stream(values()).filter(r -> r.code == code).map(r -> r.text).findFirst().orElse("Unknown reason " + code);
    }
}
