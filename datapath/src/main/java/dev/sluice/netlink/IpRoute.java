package dev.sluice.netlink;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Links, addresses and routes through iproute2 ({@code ip -json}, {@code ip -batch}), in the
 * process's own network namespace or, with {@link #in(Path)}, in another one entered by nsenter.
 * Every failure names the command and carries ip's own error line. One process per call: for
 * one-off set-up (the lab, agent start); per-pod and per-change paths use {@link Rtnetlink}.
 */
public final class IpRoute {
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private final Optional<Path> netns;

    private IpRoute(Optional<Path> netns) { this.netns = netns; }

    /** The process's own network namespace. */
    public static IpRoute local() { return new IpRoute(Optional.empty()); }

    /** Another network namespace, by path (e.g. a CNI_NETNS). */
    public static IpRoute in(Path netnsPath) { return new IpRoute(Optional.of(netnsPath)); }

    public Optional<Path> netns() { return netns; }

    /** Runs {@code ip ARGS...}; returns stdout. */
    public String ip(String... args) { return run(command("ip", List.of(args)), null); }

    public JsonNode json(String... args) {
        List<String> a = new ArrayList<>(List.of("-json"));
        a.addAll(List.of(args));
        String out = run(command("ip", a), null);
        return out.isBlank() ? JSON.createArrayNode() : JSON.readTree(out);
    }

    /** Runs many ip commands in one process ({@code ip -batch -}); stops at the first failure. */
    public void batch(List<String> lines) {
        if (lines.isEmpty()) return;
        run(command("ip", List.of("-batch", "-")), String.join("\n", lines) + "\n");
    }

    public boolean linkExists(String name) {
        try {
            ip("link", "show", "dev", name);
            return true;
        } catch (IpRouteException e) {
            return false;
        }
    }

    public Link link(String name) {
        JsonNode a = json("link", "show", "dev", name);
        if (!a.isArray() || a.isEmpty()) throw new IpRouteException("ip link show dev " + name + ": no such link");
        JsonNode l = a.get(0);
        return new Link(l.path("ifname").asString(), l.path("ifindex").asInt(), l.path("address").asString(""), l.path("mtu").asInt(),
                l.path("operstate").asString(""));
    }

    /** A link's identity and state as {@code ip -json link} reports it. */
    public record Link(String name, int index, String mac, int mtu, String state) {}

    private List<String> command(String prog, List<String> args) {
        List<String> c = new ArrayList<>();
        netns.ifPresent(p -> { c.add("nsenter"); c.add("--net=" + p); c.add("--"); });
        c.add(prog);
        c.addAll(args);
        return c;
    }

    private static String run(List<String> cmd, String stdin) { return run(cmd, stdin, TIMEOUT); }

    static final Duration TIMEOUT = Duration.ofSeconds(30);
    /** The end of a long stderr is where ip reports the failing line; the rest would only bloat the message. */
    private static final int ERROR_TAIL = 2000;

    /**
     * Runs {@code cmd}, feeding {@code stdin} (or nothing), and returns its stdout. Both output pipes
     * drain on their own threads while this one waits with a deadline: a child that fills one pipe
     * cannot block on it, and one that hangs is killed after {@code timeout}.
     */
    static String run(List<String> cmd, String stdin, Duration timeout) {
        String name = String.join(" ", cmd);
        long deadline = System.nanoTime() + timeout.toNanos();
        Process p;
        try {
            p = new ProcessBuilder(cmd).start();
        } catch (IOException e) {
            throw new IpRouteException(name + ": " + e.getMessage());
        }
        try {
            FutureTask<byte[]> out = background(p.getInputStream()::readAllBytes), err = background(p.getErrorStream()::readAllBytes);
            background(() -> {
                try (var in = p.getOutputStream()) {
                    if (stdin != null) in.write(stdin.getBytes(StandardCharsets.UTF_8));
                } catch (IOException e) {
                    // the child exited without reading it all: its exit status and stderr tell why
                }
                return null;
            });
            if (!p.waitFor(deadline - System.nanoTime(), TimeUnit.NANOSECONDS)) throw new IpRouteException(name + ": timed out after " + timeout.toSeconds() + " s");
            byte[] o = out.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            byte[] e = err.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (p.exitValue() != 0) {
                String text = new String(e, StandardCharsets.UTF_8).strip().replace('\n', ' ');
                if (text.length() > ERROR_TAIL) text = "..." + text.substring(text.length() - ERROR_TAIL);
                throw new IpRouteException(name + ": exit " + p.exitValue() + ": " + text);
            }
            return new String(o, StandardCharsets.UTF_8);
        } catch (TimeoutException e) {
            // exited, but a grandchild still holds a pipe open
            throw new IpRouteException(name + ": output not closed within " + timeout.toSeconds() + " s");
        } catch (ExecutionException e) {
            throw new IpRouteException(name + ": " + e.getCause().getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IpRouteException(name + ": interrupted");
        } finally {
            // a no-op once it exited; otherwise (timeout, interrupt) it must not outlive the call
            p.destroyForcibly();
        }
    }

    private static <T> FutureTask<T> background(Callable<T> body) {
        FutureTask<T> t = new FutureTask<>(body);
        Thread.ofVirtual().name("ip-io").start(t);
        return t;
    }
}
