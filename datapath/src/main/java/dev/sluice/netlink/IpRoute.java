package dev.sluice.netlink;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Links, addresses and routes through iproute2 ({@code ip -json}, {@code ip -batch}), in the
 * process's own network namespace or, with {@link #in(Path)}, in another one entered by nsenter.
 * Every failure names the command and carries ip's own error line.
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

    private static String run(List<String> cmd, String stdin) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(false).start();
            if (stdin != null) p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
            p.getOutputStream().close();
            var out = p.getInputStream().readAllBytes();
            var err = p.getErrorStream().readAllBytes();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IpRouteException(String.join(" ", cmd) + ": timed out after 30 s");
            }
            if (p.exitValue() != 0) {
                String e = new String(err, StandardCharsets.UTF_8).strip().replace('\n', ' ');
                throw new IpRouteException(String.join(" ", cmd) + ": exit " + p.exitValue() + ": " + e);
            }
            return new String(out, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IpRouteException(String.join(" ", cmd) + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IpRouteException(String.join(" ", cmd) + ": interrupted");
        }
    }
}
