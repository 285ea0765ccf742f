package dev.sluice.agent.proxy;

import dev.sluice.config.HttpProxyValues;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.unix.IntegerUnixChannelOption;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.util.AttributeKey;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Upstream HTTP/1.1 connections to original destinations, pooled per event loop, destination and
 * SO_MARK (so connections made for one source identity never carry another's requests), at most
 * {@code upstreamMaxPerDestination} per key (a request above it waits for a release), closed after
 * {@code upstreamIdleTimeout} unused. Everything of one loop's pool runs on that loop: no locks.
 */
final class UpstreamPool {
    record Key(InetSocketAddress dst, int mark) {}

    /** setsockopt(SOL_SOCKET=1, SO_MARK=36): Netty's epoll transport has no named option for it. */
    static final IntegerUnixChannelOption SO_MARK = new IntegerUnixChannelOption("SO_MARK", 1, 36);
    private static final AttributeKey<Key> KEY = AttributeKey.valueOf("sluice.proxy.upstream.key");
    private static final AttributeKey<Long> IDLE_SINCE = AttributeKey.valueOf("sluice.proxy.upstream.idle");

    private final HttpProxyValues cfg;
    private final ProxyCounters counters;
    private final Map<EventLoop, LoopPool> loops = new ConcurrentHashMap<>();

    UpstreamPool(HttpProxyValues cfg, ProxyCounters counters) {
        this.cfg = cfg;
        this.counters = counters;
    }

    /** An upstream channel for {@code key}, created on {@code loop}; call on that loop. */
    Future<Channel> acquire(EventLoop loop, Key key) {
        return loops.computeIfAbsent(loop, LoopPool::new).acquire(key);
    }

    /** Gives a channel back: kept for reuse when {@code reusable} and alive, else closed. Call on its loop. */
    void release(Channel ch, boolean reusable) {
        LoopPool p = loops.get(ch.eventLoop());
        if (p == null) {
            ch.close();
            return;
        }
        p.release(ch, reusable);
    }

    static UpstreamHandler handler(Channel ch) { return ch.pipeline().get(UpstreamHandler.class); }

    private final class LoopPool {
        private final EventLoop loop;
        private final Map<Key, ArrayDeque<Channel>> idle = new HashMap<>();
        private final Map<Key, Integer> open = new HashMap<>();
        private final Map<Key, ArrayDeque<Promise<Channel>>> waiters = new HashMap<>();

        LoopPool(EventLoop loop) { this.loop = loop; }

        Future<Channel> acquire(Key key) {
            Promise<Channel> p = loop.newPromise();
            ArrayDeque<Channel> q = idle.get(key);
            while (q != null && !q.isEmpty()) {
                Channel ch = q.pollFirst();
                counters.upstreamIdle.decrementAndGet();
                if (ch.isActive()) {
                    counters.upstreamReused.increment();
                    p.setSuccess(ch);
                    return p;
                }
            }
            if (open.getOrDefault(key, 0) < cfg.upstreamMaxPerDestination()) connect(key, p);
            else waiters.computeIfAbsent(key, k -> new ArrayDeque<>()).addLast(p);
            return p;
        }

        private void connect(Key key, Promise<Channel> p) {
            open.merge(key, 1, Integer::sum);
            var b = new Bootstrap().group(loop).channel(EpollSocketChannel.class).attr(KEY, key)
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, cfg.upstreamConnectTimeout().toMillis()))
                    .option(ChannelOption.TCP_NODELAY, true)
                    .handler(new ChannelInitializer<Channel>() {
                        @Override protected void initChannel(Channel ch) {
                            ch.pipeline().addLast(new HttpClientCodec(cfg.maxRequestLineBytes(), Math.max(cfg.maxHeaderBytes(), 8192), 65536),
                                    new UpstreamHandler());
                        }
                    });
            if (key.mark() != 0) b.option(SO_MARK, key.mark());
            var f = b.connect(key.dst());
            Channel ch = f.channel();
            ch.closeFuture().addListener((ChannelFutureListener) cf -> closed(ch));
            f.addListener((ChannelFutureListener) cf -> {
                if (cf.isSuccess()) {
                    counters.upstreamOpen.incrementAndGet();
                    counters.upstreamCreated.increment();
                    ch.closeFuture().addListener(x -> counters.upstreamOpen.decrementAndGet());
                    if (!p.trySuccess(ch)) release(ch, true);
                } else {
                    p.tryFailure(cf.cause());
                }
            });
        }

        /** A channel closed (by us, the server or a failed connect): its slot goes to a waiter. */
        private void closed(Channel ch) {
            Key key = ch.attr(KEY).get();
            ArrayDeque<Channel> q = idle.get(key);
            if (q != null && q.remove(ch)) counters.upstreamIdle.decrementAndGet();
            open.merge(key, -1, Integer::sum);
            if (open.get(key) <= 0) open.remove(key);
            Promise<Channel> w = nextWaiter(key);
            if (w != null) connect(key, w);
        }

        private Promise<Channel> nextWaiter(Key key) {
            ArrayDeque<Promise<Channel>> ws = waiters.get(key);
            while (ws != null && !ws.isEmpty()) {
                Promise<Channel> w = ws.pollFirst();
                if (!w.isDone()) return w;
            }
            if (ws != null && ws.isEmpty()) waiters.remove(key);
            return null;
        }

        void release(Channel ch, boolean reusable) {
            UpstreamHandler h = handler(ch);
            if (h != null) h.current = null;
            if (!reusable || !ch.isActive()) {
                ch.close();
                return;
            }
            ch.config().setAutoRead(true);
            Key key = ch.attr(KEY).get();
            Promise<Channel> w = nextWaiter(key);
            if (w != null) {
                counters.upstreamReused.increment();
                w.setSuccess(ch);
                return;
            }
            idle.computeIfAbsent(key, k -> new ArrayDeque<>()).addFirst(ch);
            counters.upstreamIdle.incrementAndGet();
            long since = System.nanoTime();
            ch.attr(IDLE_SINCE).set(since);
            loop.schedule(() -> {
                ArrayDeque<Channel> q = idle.get(key);
                if (q != null && q.contains(ch) && Long.valueOf(since).equals(ch.attr(IDLE_SINCE).get())) ch.close();
            }, cfg.upstreamIdleTimeout().toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    /** The upstream channel's end: hands the response to the exchange it currently serves. */
    static final class UpstreamHandler extends ChannelInboundHandlerAdapter {
        Exchange current;

        @Override public void channelRead(ChannelHandlerContext ctx, Object msg) {
            Exchange ex = current;
            if (ex == null || !(msg instanceof HttpObject o)) { // bytes nobody asked for: the connection is not safe to reuse
                ReferenceCountUtil.release(msg);
                ctx.close();
                return;
            }
            if (!o.decoderResult().isSuccess()) {
                ReferenceCountUtil.release(msg);
                ctx.close();
                return;
            }
            if (msg instanceof HttpResponse r) ex.onHead(r);
            if (msg instanceof HttpContent c) ex.onContent(c);
        }

        @Override public void channelInactive(ChannelHandlerContext ctx) {
            Exchange ex = current;
            current = null;
            if (ex != null) ex.onUpstreamClosed("the upstream closed the connection");
        }

        @Override public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (current != null) current.upstreamWritable(ctx.channel().isWritable());
            ctx.fireChannelWritabilityChanged();
        }

        @Override public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) { ctx.close(); }
    }
}
