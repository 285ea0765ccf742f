package dev.sluice.agent.lb;

import dev.sluice.agent.endpoint.Endpoint;
import dev.sluice.bpf.Cgroup;
import dev.sluice.bpf.Netns;
import dev.sluice.config.Values;
import dev.sluice.datapath.NodeDatapath;
import dev.sluice.datapath.maps.SockMaps;
import dev.sluice.datapath.maps.SockNetns;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The socket load balancer's lifecycle (bpf_sock.c): which cgroup its programs attach to, which
 * network namespaces they serve (sl_sock_netns: the node's own, and each local pod's unless
 * socketLB.hostNamespaceOnly), and its status. The frontends and backends are the service maps
 * {@link LbReconciler} writes: every Service and endpoint change reaches sockets with no step here.
 *
 * <p>The cgroup: {@code --cgroup-root} (the lab's node cgroup), else {@code cgroup.hostRoot}, else
 * the cgroup2 mount's root. That last one holds every process of the host, so it is taken only by
 * an agent that is a node's (it installs the CNI plugin) and runs in the host's first network
 * namespace; any other agent (a lab's, a test's) without an explicit cgroup leaves socket LB off
 * and says why. The links stay attached when the agent stops (pinned beside the maps, as the tc
 * programs stay), and are detached when a start finds socket LB disabled.
 */
public final class SocketLb {
    private static final Logger log = LoggerFactory.getLogger(SocketLb.class);

    /** The status line's data. {@code state}: "on", "off" or "error"; {@code reason} says why when not on. */
    public record StatusView(boolean enabled, boolean hostNamespaceOnly, String state, String cgroup, String reason,
                             List<String> programs, int namespaces, Map<String, Long> counters) {}

    private final NodeDatapath datapath;
    private final SockMaps maps;
    private final Values.SocketLb cfg;
    private final Optional<Path> cgroupOverride;
    private final boolean nodeAgent;
    private volatile String state = "off", reason = "", cgroup = "";

    /**
     * @param nodeAgent the agent is a real node's (it installs the CNI plugin): only such an agent may
     *     default to the cgroup2 root
     */
    public SocketLb(NodeDatapath datapath, Values.SocketLb cfg, Optional<Path> cgroupOverride, boolean nodeAgent) {
        this.datapath = datapath;
        this.maps = datapath.sock();
        this.cfg = cfg;
        this.cgroupOverride = cgroupOverride;
        this.nodeAgent = nodeAgent;
    }

    /** Where to attach: a cgroup, or none and why. */
    record Choice(Optional<Path> cgroup, String reason) {}

    /**
     * The cgroup to attach to (pure: the facts are arguments). The flag, else the values key, else
     * the cgroup2 mount's root, which only a node's agent takes; the root is refused to an agent
     * outside the host's network namespace however it was named.
     */
    static Choice choose(Optional<Path> override, String hostRoot, boolean nodeAgent, Optional<Path> mount, boolean initialNetns) {
        Optional<Path> chosen = override.or(() -> hostRoot.isEmpty() ? Optional.empty() : Optional.of(Path.of(hostRoot)));
        if (chosen.isEmpty()) {
            if (!nodeAgent)
                return new Choice(Optional.empty(), "no cgroup given (--cgroup-root or cgroup.hostRoot) and this agent installs no CNI plugin"
                        + " (a lab's or a test's): the cgroup2 root would reach every process of this host");
            if (mount.isEmpty())
                return new Choice(Optional.empty(), "no cgroup2 file system is mounted (expected: cgroup v2 at /sys/fs/cgroup, or set cgroup.hostRoot)");
            chosen = mount;
        }
        Path c = chosen.get().normalize();
        if (mount.isPresent() && c.equals(mount.get().normalize()) && !initialNetns)
            return new Choice(Optional.empty(), "cgroup " + c + " is the cgroup2 root and this agent runs outside the host's network namespace:"
                    + " refusing to reach every process of the host (expected: a cgroup of this node's processes, --cgroup-root)");
        return new Choice(Optional.of(c), "");
    }

    /** The calling thread's network namespace is the one of pid 1 (the host's, or a node's container sharing it). */
    static boolean inInitialNetns() {
        try {
            return Files.readSymbolicLink(Path.of("/proc/thread-self/ns/net")).equals(Files.readSymbolicLink(Path.of("/proc/1/ns/net")));
        } catch (java.io.IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    /** Attaches (or, disabled, detaches) and registers this namespace; call from the agent's own namespace. */
    public synchronized void start() {
        if (!cfg.enabled()) {
            off("socketLB.enabled is false (its default follows kubeProxyReplacement)");
            return;
        }
        Choice choice = choose(cgroupOverride, cfg.cgroupHostRoot(), nodeAgent, Cgroup.cgroup2Mount(), inInitialNetns());
        Optional<Path> c = choice.cgroup();
        reason = choice.reason();
        if (c.isEmpty()) {
            log.warn("socket load balancing off: {}", reason);
            off(reason);
            return;
        }
        try {
            long own = Netns.cookie();
            maps.netns().put(own, new SockNetns(0, 0, SockNetns.HOST));
            datapath.attachSocketLb(c.get());
            cgroup = c.get().toString();
            state = "on";
            reason = "";
            log.info("socket load balancing on: cgroup {}, {}", cgroup, cfg.hostNamespaceOnly() ? "node namespace only" : "node and pods");
        } catch (RuntimeException e) {
            state = "error";
            cgroup = c.get().toString();
            reason = e.getMessage();
            log.error("socket load balancing: cannot attach to {}: {}", c.get(), e.getMessage());
        }
    }

    private void off(String why) {
        datapath.detachSocketLb();
        for (long k : maps.netns().all().keySet()) maps.netns().remove(k);
        state = "off";
        reason = why;
    }

    private boolean servesPods() { return state.equals("on") && !cfg.hostNamespaceOnly(); }

    /** A pod's namespace joins (or leaves) the served set; called before its CNI ADD answers, so its first socket is served. */
    public synchronized void endpointChanged(Endpoint e, boolean deleted) {
        if (deleted) {
            forget(Set.of(e.id()));
        } else if (servesPods()) {
            register(e);
        }
    }

    /** After restore: exactly the node and the endpoints there are (pods of a stopped agent's time included). */
    public synchronized void reconcile(List<Endpoint> endpoints) {
        Set<Integer> live = new HashSet<>();
        if (servesPods()) for (Endpoint e : endpoints) if (register(e)) live.add(e.id());
        Set<Integer> stale = new HashSet<>();
        maps.netns().all().forEach((k, v) -> {
            if (v.kind() == SockNetns.POD && !live.contains(v.endpoint())) stale.add(v.endpoint());
        });
        forget(stale);
    }

    private boolean register(Endpoint e) {
        try {
            maps.netns().put(Netns.cookie(Path.of(e.netns())), new SockNetns(e.id(), dev.sluice.net.Ip.parse(e.ip()), SockNetns.POD));
            return true;
        } catch (RuntimeException ex) {
            // its namespace is gone: the pod is going too; its sockets would need the per-packet path anyway
            log.warn("socket LB: pod {} netns {}: {}", e.pod(), e.netns(), ex.getMessage());
            return false;
        }
    }

    private void forget(Set<Integer> endpointIds) {
        if (endpointIds.isEmpty()) return;
        maps.netns().all().forEach((k, v) -> {
            if (v.kind() == SockNetns.POD && endpointIds.contains(v.endpoint())) maps.netns().remove(k);
        });
    }

    public StatusView status() {
        List<String> programs = datapath.socketLbLinks().stream().map(l -> l.type() + "=" + l.programId()).toList();
        return new StatusView(cfg.enabled(), cfg.hostNamespaceOnly(), state, cgroup, reason, programs, maps.netns().all().size(), maps.stats());
    }
}
