package dev.sluice.agent.dns;

import dev.sluice.agent.flow.L7Observation;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.DatagramPacket;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.unix.IntegerUnixChannelOption;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.codec.LengthFieldPrepender;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.Message;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Type;

/**
 * The agent's DNS proxy: a UDP socket and a TCP listener (Netty, epoll) to which the data path
 * steers pods' DNS traffic ({@code bpf_sk_assign} into slots 3 and 4 of {@code sl_proxy_socks}; the
 * fds are {@link #udpFd()} and {@link #tcpFd()}).
 * <p>Per query: parse (dnsjava); anything that is not one plain question is answered FORMERR (or
 * NOTIMP) and never forwarded; ask {@link DnsPolicy#query}; a denied name gets REFUSED and is never
 * forwarded; an allowed one goes to its original destination from the node (a new socket per query,
 * connected, with the policy's SO_MARK and a fresh random id; only a response from that server with
 * that id and the same question is taken). Before the answer is released the addresses it gives for
 * the asked name (CNAME chain followed; records of other names never learned) go to
 * {@link DnsPolicy#learned}; the answer waits for that at most {@code proxyResponseMaxDelay}.
 * <p>Transparent mode (IP_TRANSPARENT, IP_RECVORIGDSTADDR) is the data path's: a TCP connection's
 * local address is then the original destination; a UDP answer leaves from the original
 * destination through a transparent socket bound to it. Without it (tests) the proxy is a plain
 * server on its own address and the original destination is that address.
 */
public final class DnsProxy implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(DnsProxy.class);
    /** SOL_SOCKET / SO_MARK of Linux (asm-generic/socket.h). */
    static final IntegerUnixChannelOption SO_MARK = new IntegerUnixChannelOption("SO_MARK", 1, 36);
    static final int MAX_IN_FLIGHT_PER_CONNECTION = 32;
    static final int MAX_REPLY_SOCKETS = 256;

    /**
     * @param udp                   where the UDP socket binds (port 53 in the data path's use, so UDP answers leave from port 53)
     * @param tcp                   where the TCP listener binds
     * @param transparent           IP_TRANSPARENT sockets (needs CAP_NET_ADMIN)
     * @param upstreamTimeout       how long an upstream server may take before the client gets SERVFAIL
     * @param responseMaxDelay      {@code dnsProxy.proxyResponseMaxDelay}
     * @param maxTcpConnections     TCP clients at once; more are closed at once (counted)
     * @param tcpIdle               a TCP client idle this long is closed
     * @param forwardTo             the server a query to an original destination goes to: the original destination
     *                              itself in the data path's use; tests without IP_TRANSPARENT (where the original
     *                              destination is the proxy's own address) name their fake server
     */
    public record Config(InetSocketAddress udp, InetSocketAddress tcp, boolean transparent, Duration upstreamTimeout,
                         Duration responseMaxDelay, int maxTcpConnections, Duration tcpIdle,
                         java.util.function.UnaryOperator<InetSocketAddress> forwardTo) {
        public Config {
            if (upstreamTimeout.isNegative() || upstreamTimeout.isZero()) throw new IllegalArgumentException("upstreamTimeout: " + upstreamTimeout + " (expected: > 0)");
            if (responseMaxDelay.isNegative()) throw new IllegalArgumentException("responseMaxDelay: " + responseMaxDelay + " (expected: >= 0)");
            if (maxTcpConnections < 1) throw new IllegalArgumentException("maxTcpConnections: " + maxTcpConnections + " (expected: >= 1)");
        }

        /** The data path's proxy: transparent, on port 53 of every address, with the values' delay. */
        public static Config of(dev.sluice.config.DnsValues v) {
            var any = new InetSocketAddress("0.0.0.0", 53);
            return new Config(any, any, true, Duration.ofSeconds(5), v.proxyResponseMaxDelay(), 1024, Duration.ofSeconds(10), a -> a);
        }
    }

    /** Counters since start. {@code heldNanos} is the total time answers waited for {@link DnsPolicy#learned}. */
    public record Stats(long allowed, long denied, long malformed, long forwardErrors, long answers, long answersHeld, long heldNanos,
                        long heldMaxNanos, long releasedUnlearned, long learnErrors, long tcpConnections, long tcpRefused, long dropped) {
        public Map<String, Long> asMap() {
            return Map.ofEntries(Map.entry("allowed", allowed), Map.entry("denied", denied), Map.entry("malformed", malformed),
                    Map.entry("forwardErrors", forwardErrors), Map.entry("answers", answers), Map.entry("answersHeld", answersHeld),
                    Map.entry("heldNanos", heldNanos), Map.entry("heldMaxNanos", heldMaxNanos), Map.entry("releasedUnlearned", releasedUnlearned),
                    Map.entry("learnErrors", learnErrors), Map.entry("tcpConnections", tcpConnections), Map.entry("tcpRefused", tcpRefused),
                    Map.entry("dropped", dropped));
        }
    }

    private final Config config;
    private final DnsPolicy policy;
    private final L7Observation.L7Sink sink;
    private final SecureRandom random = new SecureRandom();
    private final AtomicLong allowed = new AtomicLong(), denied = new AtomicLong(), malformed = new AtomicLong(), forwardErrors = new AtomicLong(),
            answers = new AtomicLong(), held = new AtomicLong(), heldNanos = new AtomicLong(), heldMax = new AtomicLong(),
            releasedUnlearned = new AtomicLong(), learnErrors = new AtomicLong(), tcpConnections = new AtomicLong(), tcpRefused = new AtomicLong(),
            dropped = new AtomicLong();
    private final AtomicInteger openTcp = new AtomicInteger();
    private final Map<InetSocketAddress, ChannelFuture> replySockets = new ConcurrentHashMap<>();
    private EventLoopGroup group;
    private Channel udp;
    private Channel tcp;

    public DnsProxy(Config config, DnsPolicy policy, L7Observation.L7Sink sink) {
        this.config = config;
        this.policy = policy;
        this.sink = sink;
    }

    /**
     * Binds both sockets; throws naming the address when one cannot be bound. Call it in the network
     * namespace the proxy serves (the agent's, the node's): the event-loop threads are born on this
     * call and inherit it, so the upstream and reply sockets they open later are in it too.
     */
    public synchronized DnsProxy start() {
        if (group != null) throw new IllegalStateException("the DNS proxy is already started");
        group = new MultiThreadIoEventLoopGroup(2, EpollIoHandler.newFactory());
        try {
            udp = new Bootstrap().group(group).channel(EpollDatagramChannel.class)
                    .option(ChannelOption.SO_REUSEADDR, true)
                    .option(EpollChannelOption.IP_TRANSPARENT, config.transparent())
                    .option(EpollChannelOption.IP_RECVORIGDSTADDR, true)
                    .handler(new SimpleChannelInboundHandler<DatagramPacket>() {
                        @Override protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket p) { onUdp(p); }
                    })
                    .bind(config.udp()).syncUninterruptibly().channel();
            tcp = new ServerBootstrap().group(group).channel(EpollServerSocketChannel.class)
                    .option(ChannelOption.SO_REUSEADDR, true)
                    .option(EpollChannelOption.IP_TRANSPARENT, config.transparent())
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override protected void initChannel(SocketChannel ch) { onTcpClient(ch); }
                    })
                    .bind(config.tcp()).syncUninterruptibly().channel();
        } catch (RuntimeException e) {
            close();
            throw new IllegalStateException("DNS proxy: cannot bind UDP " + config.udp() + " and TCP " + config.tcp() + ": " + e.getMessage(), e);
        }
        log.info("DNS proxy on UDP {} and TCP {}{}", udp.localAddress(), tcp.localAddress(), config.transparent() ? " (transparent)" : "");
        return this;
    }

    public InetSocketAddress udpAddress() { return (InetSocketAddress) udp.localAddress(); }
    public InetSocketAddress tcpAddress() { return (InetSocketAddress) tcp.localAddress(); }
    /** The UDP socket's fd, for {@code sl_proxy_socks} slot 3. */
    public int udpFd() { return ((EpollDatagramChannel) udp).fd().intValue(); }
    /** The TCP listener's fd, for {@code sl_proxy_socks} slot 4. */
    public int tcpFd() { return ((EpollServerSocketChannel) tcp).fd().intValue(); }

    public Stats stats() {
        return new Stats(allowed.get(), denied.get(), malformed.get(), forwardErrors.get(), answers.get(), held.get(), heldNanos.get(), heldMax.get(),
                releasedUnlearned.get(), learnErrors.get(), tcpConnections.get(), tcpRefused.get(), dropped.get());
    }

    // ---------------------------------------------------------------- transports

    private void onUdp(DatagramPacket p) {
        byte[] wire = ByteBufUtil.getBytes(p.content());
        InetSocketAddress src = p.sender();
        InetSocketAddress dst = p.recipient() != null && !p.recipient().getAddress().isAnyLocalAddress() ? p.recipient() : udpAddress();
        handle(wire, src, dst, false).whenComplete((reply, err) -> {
            if (err != null) log.warn("DNS proxy: {}", err.toString());
            else if (reply != null) sendUdp(reply, dst, src);
        });
    }

    /** A UDP answer from the original destination: the listener itself when that is its own address, else a transparent socket bound there. */
    private void sendUdp(byte[] reply, InetSocketAddress from, InetSocketAddress to) {
        if (!config.transparent() || from.equals(udp.localAddress())) {
            udp.writeAndFlush(new DatagramPacket(Unpooled.wrappedBuffer(reply), to));
            return;
        }
        if (replySockets.size() >= MAX_REPLY_SOCKETS) closeReplySockets();
        // a query that reaches this socket by socket lookup (TPROXY-like steering, or the node's own
        // traffic to that address) is served as the listener's are, never dropped
        ChannelFuture f = replySockets.computeIfAbsent(from, a -> new Bootstrap().group(group).channel(EpollDatagramChannel.class)
                .option(ChannelOption.SO_REUSEADDR, true)
                .option(EpollChannelOption.IP_TRANSPARENT, true)
                .option(EpollChannelOption.IP_RECVORIGDSTADDR, true)
                .handler(new SimpleChannelInboundHandler<DatagramPacket>() {
                    @Override protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket p) { onUdp(p); }
                })
                .bind(a));
        f.addListener(done -> {
            if (done.isSuccess()) {
                f.channel().writeAndFlush(new DatagramPacket(Unpooled.wrappedBuffer(reply), to));
            } else {
                replySockets.remove(from, f);
                dropped.incrementAndGet();
                log.warn("DNS proxy: cannot answer from {}: {}", from, done.cause().toString());
            }
        });
    }

    private void closeReplySockets() {
        for (var f : replySockets.values()) f.channel().close();
        replySockets.clear();
    }

    private void onTcpClient(SocketChannel ch) {
        tcpConnections.incrementAndGet();
        if (openTcp.incrementAndGet() > config.maxTcpConnections()) {
            openTcp.decrementAndGet();
            tcpRefused.incrementAndGet();
            ch.close();
            return;
        }
        ch.closeFuture().addListener(x -> openTcp.decrementAndGet());
        AtomicInteger inFlight = new AtomicInteger();
        ch.pipeline().addLast(new IdleStateHandler(0, 0, config.tcpIdle().toMillis(), TimeUnit.MILLISECONDS),
                new LengthFieldBasedFrameDecoder(65535, 0, 2, 0, 2), new LengthFieldPrepender(2),
                new SimpleChannelInboundHandler<ByteBuf>() {
                    @Override protected void channelRead0(ChannelHandlerContext ctx, ByteBuf frame) {
                        if (inFlight.incrementAndGet() > MAX_IN_FLIGHT_PER_CONNECTION) {
                            inFlight.decrementAndGet();
                            dropped.incrementAndGet();
                            return;
                        }
                        byte[] wire = ByteBufUtil.getBytes(frame);
                        handle(wire, ch.remoteAddress(), ch.localAddress(), true).whenComplete((reply, err) -> {
                            inFlight.decrementAndGet();
                            if (reply != null && err == null) ch.writeAndFlush(Unpooled.wrappedBuffer(reply));
                            else ch.close();
                        });
                    }

                    @Override public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                        if (evt instanceof IdleStateEvent) ctx.close();
                    }

                    @Override public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                        ctx.close(); // a frame over 65535 cannot be: the length field is 16 bits; I/O errors end the client
                    }
                });
    }

    // ---------------------------------------------------------------- one query

    /**
     * The answer to one message from {@code src} to {@code dst} (the original destination); null
     * when nothing can be answered (not even a header).
     */
    CompletableFuture<byte[]> handle(byte[] wire, InetSocketAddress src, InetSocketAddress dst, boolean overTcp) {
        long start = System.nanoTime();
        Object read = DnsMessages.readQuery(wire);
        if (read instanceof DnsMessages.Rejected r) {
            malformed.incrementAndGet();
            observe(L7Observation.Type.REQUEST, src, dst, 0, 0, L7Observation.Verdict.ERROR, "", List.of(), null, r.rcode() < 0 ? Rcode.FORMERR : r.rcode(), 0, r.reason());
            return CompletableFuture.completedFuture(r.rcode() < 0 ? null : DnsMessages.answer(wire, null, r.rcode()));
        }
        DnsMessages.Query q = (DnsMessages.Query) read;
        DnsPolicy.Decision d;
        try {
            d = policy.query(src, dst, q.qname(), q.qtype());
        } catch (RuntimeException e) {
            d = DnsPolicy.Decision.deny("", 0, 0, "the policy failed: " + e.getMessage());
        }
        List<String> qtypes = List.of(Type.string(q.qtype()));
        if (!d.allowed()) {
            denied.incrementAndGet();
            observe(L7Observation.Type.REQUEST, src, dst, d.sourceIdentity(), d.destinationIdentity(), L7Observation.Verdict.DENIED, q.qname(), qtypes,
                    null, Rcode.REFUSED, 0, d.reason());
            return CompletableFuture.completedFuture(DnsMessages.answer(wire, q.message(), Rcode.REFUSED));
        }
        allowed.incrementAndGet();
        observe(L7Observation.Type.REQUEST, src, dst, d.sourceIdentity(), d.destinationIdentity(), L7Observation.Verdict.FORWARDED, q.qname(), qtypes,
                null, 0, 0, "");
        int id = random.nextInt(0x10000);
        Message up = q.message().clone();
        up.getHeader().setID(id);
        int clientId = q.message().getHeader().getID();
        DnsPolicy.Decision dec = d;
        Predicate<byte[]> accept = b -> {
            try {
                return DnsMessages.answers(new Message(b), id, q);
            } catch (IOException | RuntimeException e) {
                return false;
            }
        };
        InetSocketAddress server = config.forwardTo().apply(dst);
        return exchange(server, up.toWire(), dec.mark(), overTcp, accept).handle((resp, err) -> {
            if (err != null) {
                forwardErrors.incrementAndGet();
                observe(L7Observation.Type.RESPONSE, src, dst, dec.sourceIdentity(), dec.destinationIdentity(), L7Observation.Verdict.ERROR, q.qname(),
                        qtypes, null, Rcode.SERVFAIL, System.nanoTime() - start, "upstream " + server + ": " + rootMessage(err));
                return CompletableFuture.completedFuture(DnsMessages.answer(wire, q.message(), Rcode.SERVFAIL));
            }
            return release(resp, clientId, q, dec, src, dst, qtypes, start);
        }).thenCompose(f -> f);
    }

    private CompletableFuture<byte[]> release(byte[] resp, int clientId, DnsMessages.Query q, DnsPolicy.Decision d, InetSocketAddress src,
                                              InetSocketAddress dst, List<String> qtypes, long start) {
        Message m;
        try {
            m = new Message(resp);
        } catch (IOException e) {
            return CompletableFuture.completedFuture(null); // accept() parsed it already
        }
        byte[] out = resp.clone();
        out[0] = (byte) (clientId >> 8);
        out[1] = (byte) clientId;
        DnsMessages.Learned l = DnsMessages.learned(m, q.qname());
        Runnable done = () -> {
            answers.incrementAndGet();
            observe(L7Observation.Type.RESPONSE, src, dst, d.sourceIdentity(), d.destinationIdentity(), L7Observation.Verdict.FORWARDED, q.qname(),
                    qtypes, l, m.getRcode(), System.nanoTime() - start, "");
        };
        if (m.getRcode() != Rcode.NOERROR || l.addresses().isEmpty()) {
            done.run();
            return CompletableFuture.completedFuture(out);
        }
        long holdStart = System.nanoTime();
        CompletableFuture<Boolean> learned;
        try {
            learned = policy.learned(d.endpoint(), q.qname(), l.addresses(), l.ttl()).toCompletableFuture()
                    .handle((v, e) -> {
                        if (e != null) learnErrors.incrementAndGet();
                        return true;
                    });
        } catch (RuntimeException e) {
            learnErrors.incrementAndGet();
            learned = CompletableFuture.completedFuture(true);
        }
        return learned.completeOnTimeout(false, config.responseMaxDelay().toNanos(), TimeUnit.NANOSECONDS).thenApply(inTime -> {
            long h = System.nanoTime() - holdStart;
            held.incrementAndGet();
            heldNanos.addAndGet(h);
            heldMax.accumulateAndGet(h, Math::max);
            if (!inTime) releasedUnlearned.incrementAndGet();
            done.run();
            return out;
        });
    }

    private static String rootMessage(Throwable t) {
        while (t.getCause() != null && t != t.getCause()) t = t.getCause();
        return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    }

    /**
     * One exchange with a server: a new socket (UDP, or TCP with a 2-byte length), connected to
     * {@code server}, with SO_MARK {@code mark} when not 0; the first message {@code accept}s
     * completes it; nothing in {@code config.upstreamTimeout} fails it.
     */
    CompletableFuture<byte[]> exchange(InetSocketAddress server, byte[] query, int mark, boolean overTcp, Predicate<byte[]> accept) {
        CompletableFuture<byte[]> result = new CompletableFuture<>();
        Bootstrap b = new Bootstrap().group(group);
        if (mark != 0) b.option(SO_MARK, mark);
        if (overTcp) {
            b.channel(EpollSocketChannel.class).option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) config.upstreamTimeout().toMillis())
                    .handler(new ChannelInitializer<SocketChannel>() {
                        @Override protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(new LengthFieldBasedFrameDecoder(65535, 0, 2, 0, 2), new LengthFieldPrepender(2),
                                    new SimpleChannelInboundHandler<ByteBuf>() {
                                        @Override protected void channelRead0(ChannelHandlerContext ctx, ByteBuf m) {
                                            byte[] bytes = ByteBufUtil.getBytes(m);
                                            if (accept.test(bytes)) result.complete(bytes);
                                        }

                                        @Override public void channelInactive(ChannelHandlerContext ctx) {
                                            result.completeExceptionally(new IOException("the server closed the connection"));
                                        }

                                        @Override public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) { result.completeExceptionally(cause); }
                                    });
                        }
                    });
        } else {
            b.channel(EpollDatagramChannel.class).handler(new SimpleChannelInboundHandler<DatagramPacket>() {
                @Override protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket p) {
                    byte[] bytes = ByteBufUtil.getBytes(p.content());
                    if (server.equals(p.sender()) && accept.test(bytes)) result.complete(bytes);
                }

                @Override public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) { result.completeExceptionally(cause); }
            });
        }
        // UDP too is connected (a fresh port per query; the kernel drops datagrams from any other source)
        ChannelFuture cf = b.connect(server);
        cf.addListener(f -> {
            if (!f.isSuccess()) {
                result.completeExceptionally(f.cause());
                return;
            }
            Channel ch = cf.channel();
            ch.writeAndFlush(Unpooled.wrappedBuffer(query)).addListener(w -> {
                if (!w.isSuccess()) result.completeExceptionally(w.cause());
            });
            // ask once more after a quarter of the timeout, as a stub resolver does: UDP is lossy, and on
            // loopback about 1 answer in 150 that the kernel delivered (InDatagrams counted it, NoPorts
            // not) was never read by Netty's epoll channel until the next datagram came (cause not found)
            var again = overTcp ? null : ch.eventLoop().schedule(() -> {
                if (!result.isDone()) ch.writeAndFlush(Unpooled.wrappedBuffer(query));
            }, config.upstreamTimeout().toMillis() / 4, TimeUnit.MILLISECONDS);
            var timer = ch.eventLoop().schedule(() -> result.completeExceptionally(
                    new IOException("no answer within " + config.upstreamTimeout().toMillis() + " ms")), config.upstreamTimeout().toMillis(), TimeUnit.MILLISECONDS);
            result.whenComplete((r, e) -> {
                timer.cancel(false);
                if (again != null) again.cancel(false);
                ch.close();
            });
        });
        return result;
    }

    private void observe(L7Observation.Type type, InetSocketAddress src, InetSocketAddress dst, int srcId, int dstId, L7Observation.Verdict v,
                         String qname, List<String> qtypes, DnsMessages.Learned l, int rcode, long latency, String reason) {
        try {
            sink.observe(new L7Observation.Dns(Instant.now(), false, type, ip(src), port(src), srcId, ip(dst), port(dst), dstId, v, qname, qtypes,
                    l == null ? List.of() : l.addresses().stream().map(InetAddress::getHostAddress).toList(), l == null ? 0 : l.ttl(),
                    l == null ? List.of() : l.cnames(), rcode, l == null ? List.of() : l.rrtypes(), latency, reason));
        } catch (RuntimeException e) {
            log.debug("DNS proxy: the sink failed: {}", e.toString());
        }
    }

    private static String ip(InetSocketAddress a) { return a == null || a.getAddress() == null ? "" : a.getAddress().getHostAddress(); }

    private static int port(InetSocketAddress a) { return a == null ? 0 : a.getPort(); }

    @Override public synchronized void close() {
        closeReplySockets();
        if (udp != null) udp.close().syncUninterruptibly();
        if (tcp != null) tcp.close().syncUninterruptibly();
        if (group != null) group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        group = null;
    }
}
