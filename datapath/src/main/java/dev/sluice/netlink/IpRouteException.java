package dev.sluice.netlink;

/** An iproute2 command failed; the message names the command and ip's error. */
public final class IpRouteException extends RuntimeException {
    public IpRouteException(String message) { super(message); }
}
