package dev.sluice.agent.proxy;

import dev.sluice.agent.flow.L7Observation;
import dev.sluice.config.HttpProxyValues;
import dev.sluice.policy.HttpRule;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;

/** A proxy (not transparent: no steering on loopback) whose every connection goes to a recording upstream. */
final class ProxyFixture implements AutoCloseable {
    final RecordingUpstream upstream;
    final AtomicReference<L7Context> policy = new AtomicReference<>();
    final List<L7Observation> observed = new CopyOnWriteArrayList<>();
    final HttpProxy proxy;

    ProxyFixture(HttpProxyValues cfg) throws Exception {
        this(cfg, null);
    }

    /** {@code dst}: the original destination of every connection; null = the upstream. */
    ProxyFixture(HttpProxyValues cfg, InetSocketAddress dst) throws Exception {
        upstream = new RecordingUpstream();
        InetSocketAddress to = dst == null ? upstream.address() : dst;
        proxy = new HttpProxy(cfg, (ingress, src, d) -> policy.get(), observed::add, false, ch -> to, 1);
        proxy.start();
    }

    static HttpProxyValues cfg() { return HttpProxyValues.DEFAULT; }

    static HttpProxyValues cfg(Duration headersTimeout, Duration idle, int maxStreams, int maxResets) {
        var d = HttpProxyValues.DEFAULT;
        return new HttpProxyValues(d.listenAddress(), d.maxHeaderBytes(), d.maxHeaders(), d.maxRequestLineBytes(), headersTimeout, idle,
                d.upstreamConnectTimeout(), d.upstreamIdleTimeout(), d.upstreamMaxPerDestination(), d.maxBufferedBytes(), maxStreams,
                maxResets, d.http2ResetWindow());
    }

    /** Allows exactly these rules, the flow from identity 1001 to 2002, upstream unmarked. */
    void allow(HttpRule... rules) { policy.set(L7Context.of(List.of(rules), 1001, 2002)); }

    static HttpRule rule(String method, String path) { return new HttpRule(method, path, "", List.of()); }

    InetSocketAddress ingress() { return new InetSocketAddress("127.0.0.1", proxy.ingress().port()); }

    InetSocketAddress egress() { return new InetSocketAddress("127.0.0.1", proxy.egress().port()); }

    @Override public void close() {
        proxy.stop();
        upstream.close();
    }
}
