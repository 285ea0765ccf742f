package dev.sluice.agent.proxy;

import java.net.InetSocketAddress;

/**
 * What the HTTP proxy asks the agent, per connection and again per request (so a policy change
 * applies to an open keep-alive connection or HTTP/2 stream at its next request). Called on the
 * proxy's event loop threads: must be quick and thread-safe (a lookup in the programmed policy, no I/O).
 */
@FunctionalInterface
public interface L7Policy {
    /**
     * The L7 context of a flow now, or null when the flow is no longer redirected to the proxy by any
     * policy (the request is answered 403 and the connection closed).
     *
     * @param ingress true for the ingress listener (the destination is a local endpoint and its ingress
     *                rules apply), false for the egress listener (the source is a local endpoint)
     * @param src     the original source (the client pod)
     * @param dst     the original destination (the address the client connected to)
     */
    L7Context http(boolean ingress, InetSocketAddress src, InetSocketAddress dst);
}
