package dev.sluice.agent.dns;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * What the DNS proxy asks of the agent: whether a query may go on ({@code rules.dns} matchName and
 * matchPattern are evaluated by the policy model behind this), and to learn the addresses of an
 * allowed answer before the answer is released (so a {@code toFQDNs} rule already admits the first
 * connection to them). Called on proxy threads: must not block.
 */
public interface DnsPolicy {
    /**
     * The verdict on one query.
     *
     * @param allowed             forward it (true) or answer REFUSED without forwarding (false)
     * @param endpoint            the local endpoint that asked (the agent's key for it, e.g. {@code ns/pod}); "" when unknown
     * @param sourceIdentity      the asking endpoint's security identity (for observations)
     * @param destinationIdentity the DNS server's identity (for observations)
     * @param mark                the SO_MARK of the upstream socket ({@code MARK_PROXY_EGRESS | identity}); 0 for none
     * @param reason              why it was denied (for observations), "" when allowed
     */
    record Decision(boolean allowed, String endpoint, int sourceIdentity, int destinationIdentity, int mark, String reason) {
        public static Decision allow(String endpoint, int sourceIdentity, int destinationIdentity, int mark) {
            return new Decision(true, endpoint, sourceIdentity, destinationIdentity, mark, "");
        }

        public static Decision deny(String endpoint, int sourceIdentity, int destinationIdentity, String reason) {
            return new Decision(false, endpoint, sourceIdentity, destinationIdentity, 0, reason);
        }
    }

    /**
     * @param source      the client (the pod) as it sent the query
     * @param destination the original destination (the DNS server the pod asked)
     * @param qname       the name asked, lower case with the trailing dot
     * @param qtype       the DNS type number (1 A, 28 AAAA, ...)
     */
    Decision query(InetSocketAddress source, InetSocketAddress destination, String qname, int qtype);

    /**
     * The addresses an allowed answer gave for {@code name} (lower case, trailing dot; CNAME chains
     * followed), with the smallest TTL of the records that led to them. The answer is released when
     * the stage completes (or after {@code dnsProxy.proxyResponseMaxDelay}, counted).
     */
    CompletionStage<Void> learned(String endpoint, String name, List<InetAddress> addresses, int ttlSeconds);

    /** Allows everything and learns nothing (tests, and a proxy before the agent wires a policy). */
    DnsPolicy ALLOW_ALL = new DnsPolicy() {
        @Override public Decision query(InetSocketAddress source, InetSocketAddress destination, String qname, int qtype) {
            return Decision.allow("", 0, 0, 0);
        }

        @Override public CompletionStage<Void> learned(String endpoint, String name, List<InetAddress> addresses, int ttlSeconds) {
            return java.util.concurrent.CompletableFuture.completedFuture(null);
        }
    };
}
