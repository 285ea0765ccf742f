package dev.sluice.config;

import java.time.Duration;

/**
 * The transparent HTTP proxy's limits ({@code proxy.http.*}, docs/l7-proxy.md and docs/configuration.md).
 * The header limits are Envoy's defaults, so a request Cilium's Envoy accepts is accepted here too.
 *
 * @param listenAddress            address both listeners (ingress, egress) bind to, port ephemeral
 * @param maxHeaderBytes           an HTTP/1.1 header block or an HTTP/2 header list above this is refused (431)
 * @param maxHeaders               more header fields than this is refused (431)
 * @param maxRequestLineBytes      a request line longer than this is refused (414)
 * @param requestHeadersTimeout    a request whose header block is not complete this long after its first byte gets 408 (slowloris)
 * @param idleTimeout              a downstream connection with no request in flight and no byte for this long is closed
 * @param upstreamConnectTimeout   connecting to the original destination longer than this answers 503
 * @param upstreamIdleTimeout      a pooled upstream connection unused this long is closed
 * @param upstreamMaxPerDestination pooled plus busy upstream connections per destination, source identity and event loop;
 *                                 a request above it waits for one to be released
 * @param maxBufferedBytes         request or response bytes held while the other side is not ready; above it reading pauses
 * @param http2MaxConcurrentStreams SETTINGS_MAX_CONCURRENT_STREAMS; a stream above it is refused (RST_STREAM REFUSED_STREAM)
 * @param http2MaxResetsPerWindow  RST_STREAM frames a client may send per window before GOAWAY ENHANCE_YOUR_CALM (rapid reset)
 * @param http2ResetWindow         that window
 */
public record HttpProxyValues(String listenAddress, int maxHeaderBytes, int maxHeaders, int maxRequestLineBytes,
                              Duration requestHeadersTimeout, Duration idleTimeout, Duration upstreamConnectTimeout,
                              Duration upstreamIdleTimeout, int upstreamMaxPerDestination, int maxBufferedBytes,
                              int http2MaxConcurrentStreams, int http2MaxResetsPerWindow, Duration http2ResetWindow) {

    public static final HttpProxyValues DEFAULT = new HttpProxyValues("127.0.0.1", 60 * 1024, 100, 16 * 1024,
            Duration.ofSeconds(10), Duration.ofSeconds(60), Duration.ofSeconds(5), Duration.ofSeconds(60), 64, 1 << 20,
            100, 200, Duration.ofSeconds(30));

    static HttpProxyValues read(String file, Schema.Reader r) {
        String addr = r.string("proxy.http.listenAddress", DEFAULT.listenAddress);
        if (!addr.matches("(\\d{1,3}\\.){3}\\d{1,3}") || java.util.Arrays.stream(addr.split("\\.")).anyMatch(o -> Integer.parseInt(o) > 255))
            throw new dev.sluice.k8s.ManifestException(file, "", "proxy.http.listenAddress", "\"" + addr + "\" (expected: an IPv4 address such as 127.0.0.1)");
        return new HttpProxyValues(addr,
                r.integer("proxy.http.maxHeaderBytes", DEFAULT.maxHeaderBytes, 1024, 1 << 20),
                r.integer("proxy.http.maxHeaders", DEFAULT.maxHeaders, 1, 10_000),
                r.integer("proxy.http.maxRequestLineBytes", DEFAULT.maxRequestLineBytes, 256, 1 << 20),
                d(file, r, "proxy.http.requestHeadersTimeout", DEFAULT.requestHeadersTimeout, 100, 3_600_000),
                d(file, r, "proxy.http.idleTimeout", DEFAULT.idleTimeout, 100, 86_400_000),
                d(file, r, "proxy.http.upstreamConnectTimeout", DEFAULT.upstreamConnectTimeout, 10, 600_000),
                d(file, r, "proxy.http.upstreamIdleTimeout", DEFAULT.upstreamIdleTimeout, 100, 86_400_000),
                r.integer("proxy.http.upstreamMaxPerDestination", DEFAULT.upstreamMaxPerDestination, 1, 65_536),
                r.integer("proxy.http.maxBufferedBytes", DEFAULT.maxBufferedBytes, 4096, 1 << 30),
                r.integer("proxy.http.http2MaxConcurrentStreams", DEFAULT.http2MaxConcurrentStreams, 1, 65_536),
                r.integer("proxy.http.http2MaxResetsPerWindow", DEFAULT.http2MaxResetsPerWindow, 1, 1_000_000),
                d(file, r, "proxy.http.http2ResetWindow", DEFAULT.http2ResetWindow, 1000, 3_600_000));
    }

    private static Duration d(String file, Schema.Reader r, String key, Duration dflt, long minMs, long maxMs) {
        return Values.duration(file, key, r.string(key, Values.text(dflt)), minMs, maxMs);
    }

    /** A copy with another listen address (tests, the lab). */
    public HttpProxyValues withListenAddress(String a) {
        return new HttpProxyValues(a, maxHeaderBytes, maxHeaders, maxRequestLineBytes, requestHeadersTimeout, idleTimeout,
                upstreamConnectTimeout, upstreamIdleTimeout, upstreamMaxPerDestination, maxBufferedBytes,
                http2MaxConcurrentStreams, http2MaxResetsPerWindow, http2ResetWindow);
    }
}
