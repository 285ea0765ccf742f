package dev.sluice.bpf;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Runs code inside another network namespace. setns(2) switches only the calling thread, so
 * {@link #inNetns} runs the body on a fresh platform thread that enters the namespace first and
 * then ends: no pooled or virtual thread is ever left in a foreign namespace. Everything the body
 * does that is per-netns (sockets, netlink, {@link Tc}, if_nametoindex) happens in that namespace.
 */
public final class Netns {
    private Netns() {}

    private static final int O_RDONLY = 0, O_CLOEXEC = 0x80000, CLONE_NEWNET = 0x40000000;

    /**
     * Runs {@code body} in the namespace at {@code netnsPath} (e.g. /var/run/netns/NAME or
     * /proc/PID/ns/net) and returns its result. Runtime exceptions and errors from the body are
     * rethrown as they are; checked ones wrapped in a RuntimeException.
     */
    public static <T> T inNetns(Path netnsPath, Callable<T> body) {
        AtomicReference<T> result = new AtomicReference<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = Thread.ofPlatform().name("netns-" + netnsPath.getFileName()).unstarted(() -> {
            try {
                enter(netnsPath);
                result.set(body.call());
            } catch (Throwable e) {
                failure.set(e);
            }
        });
        t.start();
        boolean interrupted = false;
        while (true) {
            try {
                t.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;   // the body must finish: it may hold kernel state half-done
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
        Throwable e = failure.get();
        if (e instanceof RuntimeException re) throw re;
        if (e instanceof Error er) throw er;
        if (e != null) throw new RuntimeException("in netns " + netnsPath + ": " + e, e);
        return result.get();
    }

    /** {@link #inNetns} for a body without a result. */
    public static void run(Path netnsPath, Runnable body) {
        inNetns(netnsPath, () -> {
            body.run();
            return null;
        });
    }

    /** if_nametoindex in the calling thread's namespace; 0 when absent. */
    public static int ifindex(String name) {
        try (Arena a = Arena.ofConfined()) {
            int r = Libbpf.call(Libbpf.IF_NAMETOINDEX, a, a.allocateFrom(name));
            return Math.max(r, 0);
        }
    }

    private static final int AF_UNIX = 1, SOCK_DGRAM = 2, SOCK_CLOEXEC = 0x80000, SOL_SOCKET = 1, SO_NETNS_COOKIE = 71;

    /**
     * The cookie of the calling thread's network namespace (SO_NETNS_COOKIE, Linux 5.14): what
     * bpf_get_netns_cookie returns for that namespace's sockets, unique for the boot and never reused.
     */
    public static long cookie() {
        try (Arena a = Arena.ofConfined()) {
            int fd = Libbpf.call(Libbpf.SOCKET, a, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            if (fd < 0) throw new BpfException("netns cookie", "socket(AF_UNIX)", -fd);
            try {
                var value = a.allocate(java.lang.foreign.ValueLayout.JAVA_LONG);
                var len = a.allocate(java.lang.foreign.ValueLayout.JAVA_INT);
                len.set(java.lang.foreign.ValueLayout.JAVA_INT, 0, 8);
                int r = Libbpf.call(Libbpf.GETSOCKOPT, a, fd, SOL_SOCKET, SO_NETNS_COOKIE, value, len);
                if (r < 0) throw new BpfException("netns cookie", "getsockopt(SO_NETNS_COOKIE)", -r);
                return value.get(java.lang.foreign.ValueLayout.JAVA_LONG, 0);
            } finally {
                Libbpf.call(Libbpf.CLOSE, a, fd);
            }
        }
    }

    /** The cookie of the namespace at {@code netnsPath} (see {@link #cookie()}). */
    public static long cookie(Path netnsPath) { return inNetns(netnsPath, Netns::cookie); }

    private static void enter(Path netnsPath) {
        try (Arena a = Arena.ofConfined()) {
            int fd = Libbpf.call(Libbpf.OPEN, a, a.allocateFrom(netnsPath.toString()), O_RDONLY | O_CLOEXEC, 0);
            if (fd < 0) throw new BpfException("netns " + netnsPath, "open", -fd);
            try {
                int r = Libbpf.call(Libbpf.SETNS, a, fd, CLONE_NEWNET);
                if (r < 0) throw new BpfException("netns " + netnsPath, "setns(CLONE_NEWNET)", -r);
            } finally {
                Libbpf.call(Libbpf.CLOSE, a, fd);
            }
        }
    }
}
