package dev.sluice.lab;

import java.util.ArrayList;
import java.util.List;

/**
 * The network namespace and link plumbing of a lab, through {@code ip} and {@code nsenter}.
 * Every command runs inside a lab namespace ({@code ip -n NS ...}, {@code nsenter --net=...}); veth
 * pairs are created inside one lab namespace with the peer sent straight to another, so nothing
 * ever appears in the root namespace, even for a moment. Failures name the command and its stderr.
 */
public final class LabNet {
    private LabNet() {}

    /** The path {@code nsenter --net=} takes for a named namespace. */
    public static String netnsPath(String netns) { return LabNames.NETNS_DIR + netns; }

    /**
     * {@code nsenter --net=<ns> -- command...}: the way into a namespace that keeps /sys/fs/bpf visible.
     * When the namespace has its own resolv.conf ({@code /etc/netns/<ns>/resolv.conf}, as
     * {@code ip netns exec} reads it: a lab pod's, pointing at the cluster DNS) the command runs in a
     * private mount namespace where that file is bind-mounted on /etc/resolv.conf; nothing changes
     * for any other process.
     */
    public static List<String> inNetns(String netns, List<String> command) {
        List<String> c = new ArrayList<>(List.of("nsenter", "--net=" + netnsPath(netns), "--"));
        java.nio.file.Path resolv = java.nio.file.Path.of("/etc/netns", netns, "resolv.conf");
        if (java.nio.file.Files.isRegularFile(resolv))
            c.addAll(List.of("unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
                    "mount --bind \"$0\" /etc/resolv.conf && exec \"$@\"", resolv.toString()));
        c.addAll(command);
        return c;
    }

    public static void addNetns(String netns) {
        Procs.check(List.of("ip", "netns", "add", netns));
        ip(netns, "link", "set", "lo", "up");
    }

    /** Deletes a namespace; no error when it is already gone. */
    public static void deleteNetns(String netns) {
        if (!listNetns().contains(netns)) return;
        var r = Procs.run(List.of("ip", "netns", "del", netns));
        if (!r.ok() && listNetns().contains(netns)) throw new Procs.CommandException(r.describe());
    }

    /** Names of all named network namespaces on the host. */
    public static List<String> listNetns() {
        var r = Procs.check(List.of("ip", "netns", "list"));
        List<String> out = new ArrayList<>();
        for (String line : r.stdout().split("\n")) {
            String t = line.strip();
            if (t.isEmpty()) continue;
            int sp = t.indexOf(' ');
            out.add(sp < 0 ? t : t.substring(0, sp));
        }
        return out;
    }

    /** The namespaces of one lab: every name starting with {@code sl-<lab>-}. */
    public static List<String> labNetns(String lab) {
        String p = LabNames.prefix(lab);
        return listNetns().stream().filter(n -> n.startsWith(p)).sorted().toList();
    }

    /** Pids of processes inside a namespace ({@code ip netns pids}); empty when it is gone. */
    public static List<Long> pids(String netns) {
        var r = Procs.run(List.of("ip", "netns", "pids", netns));
        if (!r.ok()) return List.of();
        List<Long> out = new ArrayList<>();
        for (String s : r.stdout().split("\\s+")) if (s.matches("\\d+")) out.add(Long.parseLong(s));
        return out;
    }

    /** {@code ip -n NS args...}. */
    public static Procs.Result ip(String netns, String... args) {
        List<String> c = new ArrayList<>(List.of("ip", "-n", netns));
        c.addAll(List.of(args));
        return Procs.check(c);
    }

    public static void bridge(String netns, String name) {
        ip(netns, "link", "add", name, "type", "bridge");
        ip(netns, "link", "set", name, "up");
    }

    /**
     * A veth pair made inside {@code netnsA}: {@code nameA} stays there, {@code nameB} goes to
     * {@code netnsB}.
     */
    public static void veth(String netnsA, String nameA, String netnsB, String nameB, int mtu) {
        ip(netnsA, "link", "add", nameA, "mtu", String.valueOf(mtu), "type", "veth", "peer", "name", nameB,
                "mtu", String.valueOf(mtu), "netns", netnsB);
    }

    public static void enslave(String netns, String link, String bridge) {
        ip(netns, "link", "set", link, "master", bridge);
        ip(netns, "link", "set", link, "up");
    }

    public static void address(String netns, String link, String cidr) {
        ip(netns, "addr", "add", cidr, "dev", link);
        ip(netns, "link", "set", link, "up");
    }

    /** Sets a sysctl inside a lab namespace (never the root one: /proc/sys/net is per namespace). */
    public static void sysctl(String netns, String key, String value) {
        Procs.check(inNetns(netns, List.of("sysctl", "-q", "-w", key + "=" + value)));
    }

    /** Runs a command inside a namespace and returns its result (not checked). */
    public static Procs.Result exec(String netns, List<String> command, long timeoutMs) {
        return Procs.run(inNetns(netns, command), null, null, timeoutMs);
    }
}
