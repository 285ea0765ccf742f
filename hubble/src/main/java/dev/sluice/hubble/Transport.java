package dev.sluice.hubble;

import io.grpc.BindableService;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * gRPC over grpc-netty-shaded's epoll transport, on Unix sockets and TCP alike: one event loop
 * thread for all of one process's servers and channels (the agent's idle memory counts every
 * thread), and handlers on virtual threads.
 */
public final class Transport {
    private Transport() {}

    private static final String ALLOCATOR = "io.grpc.netty.shaded.io.netty.allocator.type";

    static {
        // Netty's pooled buffers keep about 6 MiB per process once a call has run; the agent's
        // flow rates need no pool (docs/observability.md). Set before any Netty class is loaded;
        // a -D on the command line wins.
        if (System.getProperty(ALLOCATOR) == null) System.setProperty(ALLOCATOR, "unpooled");
    }

    private static final Pattern HOST_PORT = Pattern.compile("(\\[[0-9A-Fa-f:.]+]|[A-Za-z0-9.-]*):(\\d{1,5})");
    private static EventLoopGroup group;

    /** The one event loop of this process, made on first use. */
    static synchronized EventLoopGroup group() {
        if (group == null) group = new MultiThreadIoEventLoopGroup(1, Thread.ofPlatform().name("grpc-epoll", 0).daemon().factory(),
                EpollIoHandler.newFactory());
        return group;
    }

    private static final Executor HANDLERS = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("grpc-", 0).factory());

    /**
     * An address as users write it: {@code unix:///path} (or {@code unix:/path}, or a path starting
     * with {@code /}) or {@code host:port} ({@code :port} for every address when listening).
     *
     * @throws IllegalArgumentException naming the value and what was expected
     */
    public static SocketAddress address(String field, String s) {
        if (s.startsWith("unix://")) return new DomainSocketAddress(s.substring("unix://".length()));
        if (s.startsWith("unix:")) return new DomainSocketAddress(s.substring("unix:".length()));
        if (s.startsWith("/")) return new DomainSocketAddress(s);
        var m = HOST_PORT.matcher(s);
        if (!m.matches() || Integer.parseInt(m.group(2)) < 1 || Integer.parseInt(m.group(2)) > 65535)
            throw new IllegalArgumentException(field + ": \"" + s + "\" (expected: unix:///path/to/socket or HOST:PORT with PORT 1-65535)");
        String host = m.group(1);
        if (host.startsWith("[")) host = host.substring(1, host.length() - 1);
        int port = Integer.parseInt(m.group(2));
        return host.isEmpty() ? new InetSocketAddress(port) : new InetSocketAddress(host, port);
    }

    /** A plaintext client channel to {@code address} ({@link #address}). */
    public static ManagedChannel channel(String field, String address) {
        SocketAddress a = address(field, address);
        var b = NettyChannelBuilder.forAddress(a).eventLoopGroup(group()).usePlaintext().executor(HANDLERS)
                .channelType(a instanceof DomainSocketAddress ? EpollDomainSocketChannel.class : EpollSocketChannel.class);
        // a Unix socket has no authority; gRPC wants one in its requests all the same
        if (a instanceof DomainSocketAddress) b.overrideAuthority("localhost");
        return b.build();
    }

    /**
     * Serves {@code services} on every address given; a Unix socket's file is replaced (a stale one
     * of an earlier run) and removed again by {@link Servers#close}.
     */
    public static Servers serve(List<String> addresses, List<BindableService> services) throws IOException {
        List<Server> started = new ArrayList<>();
        List<Path> files = new ArrayList<>();
        try {
            for (String s : addresses) {
                SocketAddress a = address("listen", s);
                if (a instanceof DomainSocketAddress d) {
                    Path p = Path.of(d.path());
                    Files.createDirectories(p.toAbsolutePath().getParent());
                    Files.deleteIfExists(p);
                    files.add(p);
                }
                var b = NettyServerBuilder.forAddress(a).bossEventLoopGroup(group()).workerEventLoopGroup(group())
                        .channelType(a instanceof DomainSocketAddress ? EpollServerDomainSocketChannel.class : EpollServerSocketChannel.class)
                        .executor(HANDLERS).permitKeepAliveWithoutCalls(true).permitKeepAliveTime(10, TimeUnit.SECONDS);
                services.forEach(b::addService);
                started.add(b.build().start());
            }
        } catch (IOException | RuntimeException e) {
            new Servers(started, files).close();
            throw e;
        }
        return new Servers(started, files);
    }

    /** Running servers: closing stops them (calls in flight are cancelled) and removes their socket files. */
    public record Servers(List<Server> servers, List<Path> files) implements AutoCloseable {
        /** The TCP port of the first TCP listener (the one the system chose for port 0); -1 when none. */
        public int tcpPort() {
            for (Server s : servers)
                for (SocketAddress a : s.getListenSockets())
                    if (a instanceof InetSocketAddress i) return i.getPort();
            return -1;
        }

        @Override public void close() {
            for (Server s : servers) s.shutdownNow();
            for (Server s : servers) {
                try {
                    s.awaitTermination(2, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            for (Path p : files) {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        }
    }
}
