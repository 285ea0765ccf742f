package dev.sluice.agent.flow;

import java.time.Instant;
import java.util.List;

/**
 * What a proxy saw of one L7 exchange, as the HTTP proxy ({@code agent/proxy}) and the DNS proxy
 * ({@code agent/dns}) hand it to the flow pipeline ({@link L7Sink}), which enriches it into a Hubble
 * L7 flow and the {@code hubble_http_*} / {@code hubble_dns_*} metrics. Addresses are dotted IPv4;
 * identities are the security identities the proxy resolved for the two ends.
 */
public sealed interface L7Observation {
    Instant time();
    /** Seen from the local endpoint: true when the proxy enforces the destination's ingress rules. */
    boolean ingress();
    String sourceIp();
    int sourcePort();
    int sourceIdentity();
    String destinationIp();
    int destinationPort();
    int destinationIdentity();
    Verdict verdict();

    /** FORWARDED: the request went on (or the answer was released); DENIED: the proxy refused it
     *  (HTTP 403, DNS REFUSED); ERROR: it could not be forwarded (upstream failure, bad input). */
    enum Verdict { FORWARDED, DENIED, ERROR }

    /** REQUEST when the proxy decided on a request, RESPONSE when the answer came back (latency set). */
    enum Type { REQUEST, RESPONSE }

    /**
     * One HTTP request or response. {@code protocol} is "HTTP/1.1" or "HTTP/2"; {@code url} is
     * {@code http://host/path?query}; {@code code} the status (0 for a request); {@code latencyNanos}
     * from the request's first byte to the response's headers (0 for a request); {@code reason} is the
     * proxy's words for a DENIED or ERROR ("no rule of ns/name allows it", "request smuggling: ...").
     */
    record Http(Instant time, boolean ingress, Type type, String sourceIp, int sourcePort, int sourceIdentity,
                String destinationIp, int destinationPort, int destinationIdentity, Verdict verdict, String protocol,
                String method, String url, int code, long latencyNanos, List<Header> headers, String reason) implements L7Observation {
        public Http {
            headers = List.copyOf(headers);
        }
    }

    record Header(String key, String value) {}

    /**
     * One DNS query (type REQUEST) or its answer (type RESPONSE). {@code query} is the name asked,
     * lower case with the trailing dot; {@code qtypes} e.g. ["A"]; {@code ips} the A records of the
     * answer; {@code ttl} the smallest TTL of the answer's records; {@code rcode} the DNS RCODE number
     * (0 NOERROR, 3 NXDOMAIN, 5 REFUSED); {@code rrtypes} the types of the answer's records.
     */
    record Dns(Instant time, boolean ingress, Type type, String sourceIp, int sourcePort, int sourceIdentity,
               String destinationIp, int destinationPort, int destinationIdentity, Verdict verdict, String query,
               List<String> qtypes, List<String> ips, int ttl, List<String> cnames, int rcode, List<String> rrtypes,
               long latencyNanos, String reason) implements L7Observation {
        public Dns {
            qtypes = List.copyOf(qtypes);
            ips = List.copyOf(ips);
            cnames = List.copyOf(cnames);
            rrtypes = List.copyOf(rrtypes);
        }
    }

    /** Where the proxies hand their observations; must be cheap and thread-safe (called on proxy threads). */
    @FunctionalInterface
    interface L7Sink {
        void observe(L7Observation o);

        L7Sink NONE = o -> {};
    }
}
