package dev.sluice.cli.bench;

import dev.sluice.lab.LabNet;
import dev.sluice.lab.Procs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A client, a router and a server, each in its own network namespace ({@code <prefix>c}, {@code r},
 * {@code s}): the client (10.77.250.2, a pod address) routes through the router to the server,
 * which owns every endpoint address of {@link KubeProxyRules} (10.77.0.0/17 is local there) and
 * answers on TCP 80 ({@code sluice-pod serve}). The router is the node: with {@code rules} other
 * than {@link Rules#NONE} it holds kube-proxy's rules for the Services, as kube-proxy writes them
 * with that backend, and DNATs each connection to a ClusterIP in PREROUTING; with {@code NONE} it
 * only routes (the baseline, the client connecting to an endpoint address directly). Nothing is
 * changed outside these namespaces.
 */
final class RoutedPath implements DataPath {
    enum Rules {
        NONE("routed baseline"), IPTABLES_LEGACY("iptables-legacy"), IPTABLES_NFT("iptables-nft"), NFTABLES("nftables");

        final String label;

        Rules(String label) { this.label = label; }
    }

    static final long CMD_TIMEOUT_MS = 30 * 60_000;
    private final Rules rules;
    private final int backends;
    private final Path script;
    private final String client, router, server;
    private boolean nftTable;

    /** Makes the namespaces and starts the server; on failure removes what it made and throws. */
    RoutedPath(Rules rules, String prefix, int backends, Path podTool, Path script, Path logDir) {
        this.rules = rules;
        this.backends = backends;
        this.script = script;
        this.client = prefix + "c";
        this.router = prefix + "r";
        this.server = prefix + "s";
        try {
            for (String ns : List.of(client, router, server)) LabNet.addNetns(ns);
            LabNet.veth(router, "toc", client, "eth0", 1500);
            LabNet.veth(router, "tos", server, "eth0", 1500);
            LabNet.address(client, "eth0", "10.77.250.2/24");
            LabNet.address(router, "toc", "10.77.250.1/24");
            LabNet.address(router, "tos", "10.78.0.1/24");
            LabNet.address(server, "eth0", "10.78.0.2/24");
            LabNet.ip(client, "route", "add", "default", "via", "10.77.250.1");
            LabNet.ip(server, "route", "add", "default", "via", "10.78.0.1");
            LabNet.ip(server, "route", "add", "local", "10.77.0.0/17", "dev", "lo");
            LabNet.ip(router, "route", "add", "10.77.0.0/17", "via", "10.78.0.2");
            LabNet.sysctl(router, "net.ipv4.ip_forward", "1");
            Path log = logDir.resolve(server + ".log");
            Procs.startDetached(LabNet.inNetns(server, List.of(podTool.toString(), "serve", "--name", "bench/" + server, "--tcp", "80")), null, log);
            awaitReady(log);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    private static void awaitReady(Path log) {
        long deadline = System.currentTimeMillis() + 10_000;
        while (System.currentTimeMillis() < deadline) {
            try {
                if (Files.exists(log) && Files.readAllLines(log).contains("ready")) return;
                Thread.sleep(20);
            } catch (java.io.IOException e) {
                // not written yet
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        throw new IllegalStateException("the bench server did not start: " + Procs.tail(log, 3));
    }

    @Override public String name() { return rules.label; }

    @Override public boolean programs() { return rules != Rules.NONE; }

    @Override public String clientNetns() { return client; }

    @Override public String target(int n) {
        return (rules == Rules.NONE ? KubeProxyRules.endpoint(KubeProxyRules.endpointIndex(n - 1, 0, backends)) : KubeProxyRules.vip(n - 1)) + ":80";
    }

    @Override public double fullSync(int n) {
        switch (rules) {
            case NONE -> throw new IllegalStateException("the routed baseline programs no Services");
            case NFTABLES -> {
                if (nftTable) restore(List.of("nft", "-f", "-"), KubeProxyRules.nftDelete());
                nftTable = true;
                return restore(List.of("nft", "-f", "-"), KubeProxyRules.nftFull(n, backends));
            }
            default -> {
                restore(restoreCommand(false), KubeProxyRules.iptablesEmpty());
                return restore(restoreCommand(false), iptables(n));
            }
        }
    }

    @Override public double oneChange(int n) {
        return switch (rules) {
            case NONE -> throw new IllegalStateException("the routed baseline programs no Services");
            case NFTABLES -> restore(List.of("nft", "-f", "-"), KubeProxyRules.nftOneAdded(n, backends));
            default -> restore(restoreCommand(true), KubeProxyRules.iptablesOneAdded(iptables(n + 1), KubeProxyRules.vip(n)));
        };
    }

    private List<String> restoreCommand(boolean noflush) {
        String tool = rules == Rules.IPTABLES_LEGACY ? "iptables-legacy-restore" : "iptables-nft-restore";
        return noflush ? List.of(tool, "--noflush") : List.of(tool);
    }

    /** kube-proxy's nat table for {@code n} Services (scripts/kube-proxy-rules.sh, shared with bench-agent.sh). */
    private String iptables(int n) {
        var r = Procs.run(List.of(script.toString(), Integer.toString(n), Integer.toString(backends)), null, null, CMD_TIMEOUT_MS);
        if (!r.ok()) throw new IllegalStateException(r.describe());
        return r.stdout();
    }

    /** Runs a restore in the router with {@code input} on stdin; the wall-clock milliseconds it took. */
    private double restore(List<String> command, String input) {
        long t0 = System.nanoTime();
        var r = Procs.run(LabNet.inNetns(router, command), null, input, CMD_TIMEOUT_MS);
        double ms = (System.nanoTime() - t0) / 1e6;
        if (!r.ok()) throw new IllegalStateException(name() + ": " + r.describe());
        return ms;
    }

    @Override public void close() {
        for (String ns : List.of(client, router, server)) {
            Procs.kill(LabNet.pids(ns), 2_000);
            try {
                LabNet.deleteNetns(ns);
            } catch (RuntimeException e) {
                System.err.println("bench: cannot delete namespace " + ns + ": " + e.getMessage());
            }
        }
    }
}
