package dev.sluice.agent.proxy;

import dev.sluice.agent.flow.L7Observation;
import dev.sluice.config.HttpProxyValues;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The node's transparent HTTP proxy (docs/l7-proxy.md): two listeners, ingress (the destination's
 * ingress rules apply; sockmap slot 1) and egress (the source's egress rules; slot 2), each an epoll
 * server socket with IP_TRANSPARENT so the data path's {@code bpf_sk_assign} can hand it connections
 * to any address. An accepted connection's local address is the original destination, its remote
 * address the original source. HTTP/1.1 and HTTP/2 cleartext (prior knowledge and h2c upgrade) are
 * served on both; every request is checked against {@link L7Policy} when it arrives.
 *
 * <p>Lifecycle: {@link #start()} binds both listeners (threads named {@code sluice-http-proxy-*}),
 * {@link #stop()} closes every connection and ends every thread. Not restartable.
 */
public final class HttpProxy implements AutoCloseable {
    static final String HTTP1_ENCODER = "http1-encoder";
    private static final ByteBuf PREFACE = Http2CodecUtil.connectionPrefaceBuf();

    private final Shared shared;
    private final boolean transparent;
    private final OriginalDestination origDst;
    private final int threads;
    private EventLoopGroup group;
    private Channel ingress, egress;
    private volatile boolean running;

    /**
     * @param cfg         limits and the listen address ({@code proxy.http.*})
     * @param policy      asked per connection and per request
     * @param sink        receives every request and response as an {@link L7Observation.Http}
     * @param transparent set IP_TRANSPARENT on the listeners (needs CAP_NET_ADMIN; production: true)
     * @param origDst     the original destination of an accepted connection: {@link OriginalDestination#LOCAL_ADDRESS}
     *                    in production; tests without steering map it themselves
     * @param threads     event loop threads (0: one per core, at most 4)
     */
    public HttpProxy(HttpProxyValues cfg, L7Policy policy, L7Observation.L7Sink sink, boolean transparent,
                     OriginalDestination origDst, int threads) {
        var counters = new ProxyCounters();
        this.shared = new Shared(cfg, policy, sink == null ? L7Observation.L7Sink.NONE : sink, counters, new UpstreamPool(cfg, counters));
        this.transparent = transparent;
        this.origDst = origDst;
        this.threads = threads > 0 ? threads : Math.min(4, Runtime.getRuntime().availableProcessors());
    }

    /** The production proxy: transparent listeners, original destination = the accepted socket's local address. */
    public static HttpProxy transparent(HttpProxyValues cfg, L7Policy policy, L7Observation.L7Sink sink) {
        return new HttpProxy(cfg, policy, sink, true, OriginalDestination.LOCAL_ADDRESS, 0);
    }

    /** Binds both listeners; throws with the address and the cause when it cannot. */
    public synchronized void start() {
        if (group != null) throw new IllegalStateException("http proxy: already started (it is not restartable)");
        if (!Epoll.isAvailable()) throw new IllegalStateException("http proxy: the epoll transport is unavailable: " + Epoll.unavailabilityCause());
        group = new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory("sluice-http-proxy", true), EpollIoHandler.newFactory());
        try {
            ingress = bind(true);
            egress = bind(false);
        } catch (RuntimeException e) {
            stop();
            throw e;
        }
        running = true;
    }

    private Channel bind(boolean isIngress) {
        var b = new ServerBootstrap().group(group).channel(EpollServerSocketChannel.class)
                .option(ChannelOption.SO_BACKLOG, 1024).option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override protected void initChannel(SocketChannel ch) {
                        InetSocketAddress dst = origDst.of(ch);
                        shared.counters.downstreamOpen.incrementAndGet();
                        ch.closeFuture().addListener(f -> shared.counters.downstreamOpen.decrementAndGet());
                        if (isListener(dst)) { // a client that reached the listener itself: forwarding would loop into the proxy
                            shared.counters.reject(Reject.DIRECT_CONNECTION);
                            ch.close();
                            return;
                        }
                        var flow = new Flow(isIngress, (InetSocketAddress) ch.remoteAddress(), dst);
                        if (Boolean.getBoolean("sluice.proxy.debug")) ch.pipeline().addLast(new io.netty.channel.ChannelOutboundHandlerAdapter() {
                            @Override public void close(ChannelHandlerContext c, io.netty.channel.ChannelPromise pr) throws Exception {
                                new Throwable("DBG close").printStackTrace(System.out);
                                super.close(c, pr);
                            }
                        });
                        ch.pipeline().addLast(new IdleStateHandler(shared.cfg.idleTimeout().toMillis(), 0, 0, TimeUnit.MILLISECONDS),
                                new Sniffer(flow));
                    }
                });
        if (transparent) b.option(EpollChannelOption.IP_TRANSPARENT, true);
        String addr = shared.cfg.listenAddress();
        try {
            return b.bind(new InetSocketAddress(InetAddress.getByName(addr), 0)).sync().channel();
        } catch (Exception e) {
            throw new IllegalStateException("http proxy: cannot bind the " + (isIngress ? "ingress" : "egress") + " listener on "
                    + addr + (transparent ? " with IP_TRANSPARENT" : "") + ": " + e.getMessage(), e);
        }
    }

    private boolean isListener(InetSocketAddress dst) {
        for (Channel l : new Channel[] {ingress, egress})
            if (l != null && dst != null && dst.getPort() == ((InetSocketAddress) l.localAddress()).getPort()
                    && (dst.getAddress().equals(((InetSocketAddress) l.localAddress()).getAddress()) || dst.getAddress().isLoopbackAddress()
                        || ((InetSocketAddress) l.localAddress()).getAddress().isAnyLocalAddress()))
                return true;
        return false;
    }

    /** Closes both listeners and every connection, and ends the event loop threads before returning. */
    public synchronized void stop() {
        running = false;
        if (group == null) return;
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @Override public void close() { stop(); }

    /** The ingress listener (sockmap slot 1). */
    public ProxyStatus.Listener ingress() { return listener("ingress", ingress); }

    /** The egress listener (sockmap slot 2). */
    public ProxyStatus.Listener egress() { return listener("egress", egress); }

    private static ProxyStatus.Listener listener(String dir, Channel ch) {
        if (ch == null) return new ProxyStatus.Listener(dir, "", 0, -1);
        var a = (InetSocketAddress) ch.localAddress();
        return new ProxyStatus.Listener(dir, a.getAddress().getHostAddress(), a.getPort(), ((EpollServerSocketChannel) ch).fd().intValue());
    }

    public ProxyStatus status() {
        var c = shared.counters;
        List<ProxyStatus.Listener> ls = new ArrayList<>();
        if (running) {
            ls.add(ingress());
            ls.add(egress());
        }
        return new ProxyStatus(running, ls, c.downstreamOpen.get(), c.upstreamOpen.get(), c.upstreamIdle.get(),
                c.upstreamCreated.sum(), c.upstreamReused.sum(), c.forwarded.sum(), c.denied.sum(), c.error.sum(), c.rejections());
    }

    /** Rejections counted under {@code reason} (a {@link ProxyStatus#rejections()} key). */
    public long rejected(String reason) { return shared.counters.rejected(reason); }

    /** Tells HTTP/2 (its connection preface) from HTTP/1.1 on a new connection, then builds the pipeline for it. */
    private final class Sniffer extends ByteToMessageDecoder {
        private final Flow flow;

        Sniffer(Flow flow) { this.flow = flow; }

        @Override protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
            int n = Math.min(in.readableBytes(), PREFACE.readableBytes());
            boolean prefix = ByteBufUtil.equals(in, in.readerIndex(), PREFACE, 0, n);
            if (prefix && n < PREFACE.readableBytes()) return; // maybe the preface: wait for the rest
            var p = ctx.pipeline();
            if (prefix) {
                p.addAfter(ctx.name(), "h2", H2Connection.create(shared, flow));
            } else {
                var dec = new Http1Decoder(shared.cfg.maxRequestLineBytes(), shared.cfg.maxHeaderBytes(), shared.cfg.requestHeadersTimeout().toMillis());
                p.addAfter(ctx.name(), "http1-decoder", dec);
                p.addAfter("http1-decoder", HTTP1_ENCODER, new HttpResponseEncoder());
                p.addAfter(HTTP1_ENCODER, "http1", new Http1Connection(shared, flow, dec));
            }
            p.remove(this); // hands the bytes read so far to what was just added
        }

        @Override public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
            if (evt instanceof io.netty.handler.timeout.IdleStateEvent) { // connected and silent
                shared.counters.reject(Reject.IDLE_TIMEOUT);
                ctx.close();
                return;
            }
            super.userEventTriggered(ctx, evt);
        }
    }

    /** Request headers as the rules see them: names lower case, repeated fields joined with ", ". */
    static Map<String, String> headerMap(HttpHeaders h) {
        Map<String, String> m = new LinkedHashMap<>();
        for (var e : h) m.merge(e.getKey().toLowerCase(Locale.ROOT), e.getValue(), (a, b) -> a + ", " + b);
        return m;
    }

    private static final Set<String> SECRET = Set.of("authorization", "proxy-authorization", "cookie", "set-cookie");

    /** What every part of the proxy shares. */
    static final class Shared {
        final HttpProxyValues cfg;
        final L7Policy policy;
        final L7Observation.L7Sink sink;
        final ProxyCounters counters;
        final UpstreamPool pool;

        Shared(HttpProxyValues cfg, L7Policy policy, L7Observation.L7Sink sink, ProxyCounters counters, UpstreamPool pool) {
            this.cfg = cfg;
            this.policy = policy;
            this.sink = sink;
            this.counters = counters;
            this.pool = pool;
        }

        void observe(L7Observation o) {
            try {
                sink.observe(o);
            } catch (RuntimeException e) {
                // an observer must not break the proxy
            }
        }

        void observeRequest(Flow f, L7Context ctx, String protocol, String method, String url, L7Observation.Verdict v,
                            String reason, HttpHeaders headers) {
            List<L7Observation.Header> hs = new ArrayList<>();
            for (var e : headers) hs.add(new L7Observation.Header(e.getKey().toLowerCase(Locale.ROOT),
                    SECRET.contains(e.getKey().toLowerCase(Locale.ROOT)) ? "[redacted]" : e.getValue()));
            observe(new L7Observation.Http(Instant.now(), f.ingress(), L7Observation.Type.REQUEST, f.srcIp(), f.src().getPort(),
                    ctx == null ? 0 : ctx.sourceIdentity(), f.dstIp(), f.dst().getPort(), ctx == null ? 0 : ctx.destinationIdentity(),
                    v, protocol, method, url, 0, 0, hs, reason));
        }

        void observeResponse(Flow f, L7Context ctx, String protocol, String method, String url, int code, long startNanos,
                             L7Observation.Verdict v, String reason) {
            observe(new L7Observation.Http(Instant.now(), f.ingress(), L7Observation.Type.RESPONSE, f.srcIp(), f.src().getPort(),
                    ctx == null ? 0 : ctx.sourceIdentity(), f.dstIp(), f.dst().getPort(), ctx == null ? 0 : ctx.destinationIdentity(),
                    v, protocol, method, url, code, System.nanoTime() - startNanos, List.of(), reason));
        }
    }
}
