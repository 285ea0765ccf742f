package dev.sluice.agent.endpoint;

import dev.sluice.agent.ipam.IpamStore;
import dev.sluice.agent.lb.CtGc;
import dev.sluice.agent.policy.PolicyReconciler;
import dev.sluice.bpf.Netns;
import dev.sluice.datapath.NodeDatapath;
import dev.sluice.datapath.maps.EndpointInfo;
import dev.sluice.datapath.maps.EndpointKey;
import dev.sluice.datapath.maps.LxcInfo;
import dev.sluice.net.Cidr;
import dev.sluice.net.Ip;
import dev.sluice.netlink.Rtnetlink;
import dev.sluice.policymap.PolicyMaps;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.json.JsonMapper;

/**
 * Creates and removes pod endpoints: the veth pair, the pod's address, routes and MTU (through
 * rtnetlink, no process per pod), the data path programs on the host side and the endpoint map
 * entry. Link work happens in the calling thread's namespace, the node's. Each endpoint is persisted so a
 * restarted agent re-adopts it without touching the running pod. A failed create removes what it
 * made, so nothing is left half-made. A removed endpoint takes its conntrack, NAT and affinity
 * entries with it before its address can be handed out again.
 */
public final class EndpointManager {
    private static final Logger log = LoggerFactory.getLogger(EndpointManager.class);
    /** The pod's default gateway: a link-local address answered by a static neighbour entry. */
    public static final String GATEWAY = "169.254.1.1";
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final Path dir;
    private final IpamStore ipam;
    private final NodeDatapath datapath;
    private final Map<String, Endpoint> byAttachment = new ConcurrentHashMap<>();
    private final PolicyReconciler policy;
    /** The identity each endpoint's map entries carry (its flags are the policy reconciler's). */
    private final Map<Integer, Integer> writtenIdentity = new ConcurrentHashMap<>();
    private final CtGc conntrack;

    public EndpointManager(Path dir, IpamStore ipam, NodeDatapath datapath, PolicyReconciler policy, CtGc conntrack) throws IOException {
        this.dir = dir;
        this.ipam = ipam;
        this.datapath = datapath;
        this.policy = policy;
        this.conntrack = conntrack;
        Files.createDirectories(dir);
    }

    /** Hears of endpoints created and forgotten (Hubble's agent events); called under this manager's lock, must not block. */
    @FunctionalInterface
    public interface Listener {
        void changed(Endpoint e, boolean deleted);
    }

    private volatile Listener listener = (e, deleted) -> {};

    public void listen(Listener l) { listener = l; }

    static String attachment(String containerId, String ifname) { return containerId + "/" + ifname; }

    /**
     * Rewrites the endpoints a policy update touched, and those whose identity moved or whose
     * policy is still pending or did not fit (they are tried again): the others are as they were.
     */
    public synchronized void refresh(PolicyReconciler.Update update) {
        for (Endpoint e : byAttachment.values()) {
            Integer identity = writtenIdentity.get(e.id());
            int flags = policy.programmed(e.id()).map(PolicyMaps.EndpointMaps::flags).orElse(PolicyMaps.F_PENDING);
            if (update.touches(e.pod()) || identity == null || identity != policy.identityOf(e.pod())
                    || (flags & (PolicyMaps.F_PENDING | PolicyMaps.F_OVERFLOW)) != 0)
                writeMap(e);
        }
    }

    public List<Endpoint> list() {
        return byAttachment.values().stream().sorted(java.util.Comparator.comparing(Endpoint::pod)).toList();
    }

    public Optional<Endpoint> get(String containerId, String ifname) { return Optional.ofNullable(byAttachment.get(attachment(containerId, ifname))); }

    /** An endpoint's file: not the temporary file of a write that a crash interrupted (".lxc....json"). */
    private static boolean isRecord(Path f) {
        String name = f.getFileName().toString();
        return name.endsWith(".json") && !name.startsWith(".");
    }

    /** The endpoints an earlier run persisted, as read, without adopting them (see {@link #restore}). */
    public List<Endpoint> persisted() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            List<Endpoint> out = new ArrayList<>();
            for (Path p : s.filter(EndpointManager::isRecord).sorted().toList())
                out.add(JSON.readValue(Files.readString(p), Endpoint.class));
            return out;
        }
    }

    /** Re-adopts persisted endpoints after a restart: programs re-attached, map entries rewritten. */
    public void restore() throws IOException {
        Map<String, Integer> links = new HashMap<>();   // one dump, however many endpoints there are
        try (Rtnetlink host = Rtnetlink.open()) {
            host.links().forEach(l -> links.put(l.name(), l.index()));
        }
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.filter(EndpointManager::isRecord).toList()) {
                Endpoint e = JSON.readValue(Files.readString(p), Endpoint.class);
                int ifindex = links.getOrDefault(e.hostIfname(), 0);
                if (ifindex <= 0) {
                    log.warn("endpoint {} ({}): its veth {} is gone; releasing it", e.pod(), e.ip(), e.hostIfname());
                    forget(e);
                    continue;
                }
                Endpoint cur = ifindex == e.hostIfindex() ? e : new Endpoint(e.id(), e.containerId(), e.ifname(), e.pod(), e.netns(), e.ip(),
                        e.hostIfname(), ifindex, e.hostMac(), e.podMac(), e.mtu(), e.standalone());
                byAttachment.put(attachment(e.containerId(), e.ifname()), cur);
                datapath.attachEndpoint(cur.hostIfname(), cur.hostIfindex());
                writeMap(cur);
            }
        }
    }

    /** CNI ADD of a Kubernetes pod. Returns the existing endpoint when this attachment is already set up. */
    public Endpoint add(String containerId, String ifname, String netns, String pod, int mtu) throws IOException {
        return add(containerId, ifname, netns, pod, false, mtu);
    }

    /**
     * CNI ADD. Returns the existing endpoint when this attachment is already set up. A standalone
     * container (no Kubernetes Pod) must not take a {@code namespace/name} another attachment of
     * this node holds: two endpoints under one name could not be told apart by policy.
     */
    public synchronized Endpoint add(String containerId, String ifname, String netns, String pod, boolean standalone, int mtu)
            throws IOException {
        Endpoint existing = byAttachment.get(attachment(containerId, ifname));
        if (existing != null) return existing;
        if (standalone)
            for (Endpoint other : byAttachment.values())
                if (other.pod().equals(pod))
                    throw new NameTakenException("pod name " + pod + " is taken by container " + other.containerId() + " on this node"
                            + " (expected: a container name not used by another container or pod in that namespace)");
        String hostIf = hostIfname(containerId, ifname);
        String hostMac = mac(0x0e, containerId, ifname), podMac = mac(0x0a, containerId, ifname);
        // rtnetlink requests, no process: the socket works in this thread's namespace (the node's)
        try (Rtnetlink host = Rtnetlink.open()) {
            int ip = ipam.allocate(new IpamStore.Owner(containerId, ifname, pod));
            Endpoint made = null;
            try {
                host.deleteLink(hostIf); // left by a crash mid-ADD
                // Addresses are chosen here, so nothing has to be read back.
                host.addVeth(new Rtnetlink.VethEnd(hostIf, hostMac, mtu), new Rtnetlink.VethEnd(ifname, podMac, mtu), Path.of(netns));
                // addrgenmode none before up keeps IPv6 off both ends (IPv4 only for now), so no router solicitation shows up as a drop.
                host.setAddrGenModeNone(hostIf);
                host.setUp(hostIf, true);
                int ifindex = host.linkIndex(hostIf);
                if (ifindex <= 0) throw new IllegalStateException("link " + hostIf + ": missing right after creation");
                host.replaceRoute(Rtnetlink.Route.onLink(new Cidr(ip, 32), ifindex, Rtnetlink.PROTO_BOOT, 0));
                Netns.run(Path.of(netns), () -> configurePod(ifname, ip, hostMac, mtu));
                Endpoint e = new Endpoint(freeId(), containerId, ifname, pod, netns, Ip.format(ip), hostIf, ifindex, hostMac, podMac, mtu,
                        standalone);
                made = e;
                datapath.attachEndpoint(hostIf, ifindex);
                writeMap(e);
                persist(e);
                byAttachment.put(attachment(containerId, ifname), e);
                log.info("endpoint {} {} on {} (ifindex {})", pod, e.ip(), hostIf, ifindex);
                listener.changed(e, false);
                return e;
            } catch (RuntimeException | IOException ex) {
                try {
                    host.deleteLink(hostIf); // takes the pod's end, its address and routes along
                } catch (RuntimeException cleanup) {
                    log.warn("rollback of {}: {}", hostIf, cleanup.getMessage());
                }
                datapath.endpoints().remove(new EndpointKey(ip));
                if (made != null) {   // its map entries may be written already: nothing of it stays
                    datapath.lxc().remove(made.hostIfindex());
                    policy.forget(made.id());
                    writtenIdentity.remove(made.id());
                }
                ipam.release(containerId, ifname);
                throw ex;
            }
        }
    }

    /** A standalone container asked for a name that another attachment of the node holds. */
    public static final class NameTakenException extends IllegalArgumentException {
        public NameTakenException(String message) { super(message); }
    }

    /**
     * Inside the pod's namespace (on a thread that entered it): loopback up, the pod's /32, the
     * gateway as an on-link route answered by a permanent neighbour entry (the host end's MAC), and
     * the default route through it with the pod MTU.
     */
    private static void configurePod(String ifname, int ip, String hostMac, int mtu) {
        try (Rtnetlink pod = Rtnetlink.open()) {
            pod.setAddrGenModeNone(ifname);
            pod.setUp("lo", true);
            int index = pod.linkIndex(ifname);
            if (index <= 0) throw new IllegalStateException("link " + ifname + ": missing in the pod's namespace right after creation");
            pod.addAddress(index, ip, 32);
            pod.setUp(ifname, true);
            int gateway = Ip.parse(GATEWAY);
            pod.addRoute(Rtnetlink.Route.onLink(new Cidr(gateway, 32), index, Rtnetlink.PROTO_BOOT, 0));
            pod.addRoute(Rtnetlink.Route.via(new Cidr(0, 0), gateway, index, Rtnetlink.PROTO_BOOT, mtu));
            pod.replacePermanentNeighbour(index, gateway, hostMac);
        }
    }

    /** CNI DEL: idempotent; releases the address even when the endpoint was never completed. */
    public synchronized void delete(String containerId, String ifname) throws IOException {
        Endpoint e = byAttachment.get(attachment(containerId, ifname));
        if (e != null) {
            datapath.detachEndpoint(e.hostIfindex());
            try (Rtnetlink host = Rtnetlink.open()) {
                host.deleteLink(e.hostIfname());
            }
            forget(e);
        }
        ipam.release(containerId, ifname);
    }

    private void forget(Endpoint e) throws IOException {
        datapath.endpoints().remove(new EndpointKey(Ip.parse(e.ip())));
        datapath.lxc().remove(e.hostIfindex());
        policy.forget(e.id());
        writtenIdentity.remove(e.id());
        // Before the address is released: a pod that gets it next must not receive this one's replies.
        CtGc.Stats ct = conntrack.forget(Ip.parse(e.ip()));
        log.debug("endpoint {} {}: removed {} conntrack, {} NAT, {} affinity entries", e.pod(), e.ip(), ct.removedCt(), ct.removedNat(),
                ct.removedAffinity());
        byAttachment.remove(attachment(e.containerId(), e.ifname()));
        listener.changed(e, true);
        Files.deleteIfExists(file(e.containerId(), e.ifname()));
        ipam.release(e.containerId(), e.ifname());
    }

    /** CNI CHECK: the veth, address and map entry are all in place; empty when healthy. */
    public List<String> check(String containerId, String ifname) {
        List<String> problems = new ArrayList<>();
        Endpoint e = byAttachment.get(attachment(containerId, ifname));
        if (e == null) return List.of("no endpoint for container " + containerId + " interface " + ifname);
        if (Netns.ifindex(e.hostIfname()) <= 0) problems.add("host veth " + e.hostIfname() + " is missing");
        if (datapath.endpoints().get(new EndpointKey(Ip.parse(e.ip()))).isEmpty()) problems.add("endpoint map has no entry for " + e.ip());
        return problems;
    }

    /** Policy first, then the entries that let traffic reach it: a new endpoint is never open. */
    private void writeMap(Endpoint e) {
        int identity = policy.identityOf(e.pod());
        int flags = policy.program(e);
        writtenIdentity.put(e.id(), identity);
        datapath.lxc().put(e.hostIfindex(), new LxcInfo(e.id(), identity));
        datapath.endpoints().put(new EndpointKey(Ip.parse(e.ip())),
                new EndpointInfo(e.hostIfindex(), identity, e.id(), flags, e.podMac(), e.hostMac()));
    }

    private void persist(Endpoint e) throws IOException {
        Path f = file(e.containerId(), e.ifname());
        Path tmp = f.resolveSibling("." + f.getFileName());
        Files.writeString(tmp, JSON.writeValueAsString(e), StandardCharsets.UTF_8);
        Files.move(tmp, f, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private Path file(String containerId, String ifname) { return dir.resolve(hostIfname(containerId, ifname) + ".json"); }

    private int freeId() {
        var used = new TreeMap<Integer, Boolean>();
        byAttachment.values().forEach(e -> used.put(e.id(), true));
        for (int i = 1; i < 65536; i++) if (!used.containsKey(i)) return i;
        throw new IllegalStateException("no free endpoint id (expected: fewer than 65535 endpoints on a node)");
    }

    /** A locally administered unicast MAC for one end of an attachment's veth, stable across restarts. */
    static String mac(int firstByte, String containerId, String ifname) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest((firstByte + "/" + attachment(containerId, ifname)).getBytes(StandardCharsets.UTF_8));
            return String.format("%02x:%02x:%02x:%02x:%02x:%02x", firstByte, h[0] & 0xff, h[1] & 0xff, h[2] & 0xff, h[3] & 0xff, h[4] & 0xff);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** lxc + 11 hex digits of a hash of the attachment: unique, stable, and within IFNAMSIZ. */
    static String hostIfname(String containerId, String ifname) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(attachment(containerId, ifname).getBytes(StandardCharsets.UTF_8));
            return "lxc" + HexFormat.of().formatHex(h).substring(0, 11);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
