package dev.sluice.datapath;

import dev.sluice.bpf.BpfMap;
import dev.sluice.bpf.BpfObject;
import dev.sluice.bpf.BpfProgram;
import dev.sluice.bpf.Bpffs;
import dev.sluice.bpf.Cgroup;
import dev.sluice.bpf.Tc;
import dev.sluice.bpf.TypedMap;
import dev.sluice.datapath.maps.EndpointInfo;
import dev.sluice.datapath.maps.EndpointKey;
import dev.sluice.datapath.maps.IpcacheKey;
import dev.sluice.datapath.maps.IpcacheValue;
import dev.sluice.datapath.maps.LxcInfo;
import dev.sluice.datapath.maps.MetricsKey;
import dev.sluice.datapath.maps.MetricsValue;
import dev.sluice.datapath.maps.NodeConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One node's loaded data path: the three program objects (pod veths, uplink, overlay) sharing maps
 * pinned under {@code pinDir}, so a restarted agent finds the same maps and the kernel keeps
 * forwarding while no agent runs.
 *
 * <p>Once loaded, only what the agent uses stays open: each map through its pin and each program
 * through an fd of its own. libbpf's copies of the objects (ELF sections, BTF, relocations: about
 * 8 MiB of the idle agent's memory) are closed right after the load.
 */
public final class NodeDatapath implements AutoCloseable {
    /** tc filter handle and priority Sluice uses on every hook. */
    public static final int TC_HANDLE = 1, TC_PRIORITY = 1;
    /** Maps without state: a pinned one of another size (an older agent's) is replaced rather than refused. */
    static final List<String> STATELESS = List.of("sl_events");
    public static final List<String> MAPS = List.of("sl_endpoints", "sl_lxc", "sl_ipcache", "sl_config", "sl_metrics", "sl_events", "sl_policy", "sl_policy_cidr", "sl_l2_responder");

    private final Path pinDir;
    /** Every pinned map, by name (the objects share them). */
    private final Map<String, BpfMap> maps;
    /** Every program of the three objects, by name (names are unique across them). */
    private final Map<String, BpfProgram> programs;
    private final List<Attachment> attachments = new ArrayList<>();

    /** A program attached to a tc hook, for status. */
    public record Attachment(String program, String device, int ifindex, Tc.Direction direction) {}

    private NodeDatapath(Path pinDir, Map<String, BpfMap> maps, Map<String, BpfProgram> programs) {
        this.pinDir = pinDir;
        this.maps = maps;
        this.programs = programs;
    }

    /** Loads the objects from {@code objDir} (build/bpf), creating or reusing the maps pinned under {@code pinDir}. */
    public static NodeDatapath load(Path objDir, Path pinDir) { return load(objDir, pinDir, Map.of()); }

    /**
     * As {@link #load(Path, Path)}, with max_entries per map name (bpf.ctTcpMax, bpf.ctAnyMax,
     * bpf.lbMapMax...). A pinned map of another size cannot be reused: its pin is removed and the map
     * recreated empty (for conntrack: established flows through services lose their backend choice).
     */
    public static NodeDatapath load(Path objDir, Path pinDir, Map<String, Integer> sizes) {
        Bpffs.ensureMounted(Path.of("/sys/fs/bpf"));
        try {
            Files.createDirectories(pinDir);
        } catch (java.io.IOException e) {
            throw new IllegalStateException(pinDir + ": cannot create the pin directory: " + e.getMessage());
        }
        List<BpfObject> opened = new ArrayList<>();
        Map<String, BpfMap> maps = new LinkedHashMap<>();
        Map<String, BpfProgram> programs = new LinkedHashMap<>();
        try {
            for (String name : List.of("bpf_lxc.o", "bpf_netdev.o", "bpf_overlay.o", "bpf_sock.o")) {
                Path obj = objDir.resolve(name);
                if (!Files.isRegularFile(obj))
                    throw new IllegalStateException(obj + ": missing (expected: the compiled data path; run 'make build')");
                DatapathConstants.check(obj);
                BpfObject o = BpfObject.open(obj, BpfObject.OpenOptions.defaults().withPinRoot(pinDir));
                opened.add(o);
                // maps that hold no state (the event ring) take the object's size, whatever an older agent pinned
                Map<String, Integer> withStateless = new java.util.HashMap<>(sizes);
                for (String m : STATELESS) if (o.mapNames().contains(m)) withStateless.putIfAbsent(m, o.maxEntries(m));
                dev.sluice.datapath.maps.MapSizes.apply(o, pinDir, withStateless);
                o.load();
                for (var p : o.detachPrograms().entrySet())
                    if (programs.putIfAbsent(p.getKey(), p.getValue()) != null) {
                        p.getValue().close();
                        throw new IllegalStateException(obj + ": program " + p.getKey() + " is also in another object (expected: unique names)");
                    }
                for (String m : o.pinnedMapNames()) if (!maps.containsKey(m)) maps.put(m, BpfMap.openPinned(pinDir.resolve(m)));
            }
            return new NodeDatapath(pinDir, maps, programs);
        } catch (RuntimeException e) {
            maps.values().forEach(BpfMap::close);
            programs.values().forEach(BpfProgram::close);
            throw e;
        } finally {
            opened.forEach(BpfObject::close);
        }
    }

    public Path pinDir() { return pinDir; }

    public TypedMap<EndpointKey, EndpointInfo> endpoints() { return map("sl_endpoints").typed(EndpointKey.CODEC, EndpointInfo.CODEC); }
    public TypedMap<Integer, LxcInfo> lxc() { return map("sl_lxc").typed(LxcInfo.KEY, LxcInfo.CODEC); }
    public TypedMap<IpcacheKey, IpcacheValue> ipcache() { return map("sl_ipcache").typed(IpcacheKey.CODEC, IpcacheValue.CODEC); }
    public TypedMap<Integer, NodeConfig> config() { return map("sl_config").typed(NodeConfig.KEY, NodeConfig.CODEC); }
    public TypedMap<MetricsKey, MetricsValue> metrics() { return map("sl_metrics").typed(MetricsKey.CODEC, MetricsValue.CODEC); }
    public BpfMap events() { return map("sl_events"); }
    public TypedMap<dev.sluice.datapath.maps.PolicyEntryKey, dev.sluice.datapath.maps.PolicyEntryValue> policy() {
        return map("sl_policy").typed(dev.sluice.datapath.maps.PolicyEntryKey.CODEC, dev.sluice.datapath.maps.PolicyEntryValue.CODEC);
    }
    public TypedMap<dev.sluice.datapath.maps.PolicyCidrKey, Integer> policyCidr() {
        return map("sl_policy_cidr").typed(dev.sluice.datapath.maps.PolicyCidrKey.CODEC, dev.sluice.datapath.maps.PolicyCidrKey.VALUE);
    }
    /** The addresses this node answers ARP for, per interface (bpf/lib/l2.h). */
    public TypedMap<dev.sluice.datapath.maps.L2ResponderKey, dev.sluice.datapath.maps.L2ResponderValue> l2Responder() {
        return map("sl_l2_responder").typed(dev.sluice.datapath.maps.L2ResponderKey.CODEC, dev.sluice.datapath.maps.L2ResponderValue.CODEC);
    }

    /** ARP frames on the uplink per outcome (enum sl_l2_outcome), summed over CPUs. */
    public long[] l2Stats() {
        long[] out = new long[dev.sluice.datapath.maps.L2ResponderValue.OUTCOMES.size()];
        var m = map("sl_l2_stats").typed(LxcInfo.KEY, dev.sluice.datapath.maps.L2ResponderValue.COUNTER);
        for (int i = 0; i < out.length; i++) out[i] = m.getPerCpu(i).map(l -> l.stream().mapToLong(Long::longValue).sum()).orElse(0L);
        return out;
    }

    public BpfMap map(String name) {
        BpfMap m = maps.get(name);
        if (m == null) throw new IllegalArgumentException("map " + name + ": not in the data path (maps: " + maps.keySet() + ")");
        return m;
    }
    /** Service, conntrack and NAT maps (bpf/lib/lb.h, conntrack.h, nat.h). */
    public dev.sluice.datapath.maps.LbMaps lb() { return new dev.sluice.datapath.maps.LbMaps(this::map); }

    /** Socket load balancer maps (bpf/lib/sock.h). */
    public dev.sluice.datapath.maps.SockMaps sock() { return new dev.sluice.datapath.maps.SockMaps(this::map); }

    /** The socket load balancer's programs (bpf_sock.c) and their cgroup attach points, in attach order. */
    public static final Map<String, Cgroup.AttachType> SOCK_PROGRAMS = sockPrograms();

    private static Map<String, Cgroup.AttachType> sockPrograms() {
        Map<String, Cgroup.AttachType> m = new LinkedHashMap<>();
        // the reverse side first: a socket translated by connect4 finds its getpeername/recvmsg4 already there
        m.put("sock4_getpeername", Cgroup.AttachType.INET4_GETPEERNAME);
        m.put("sock6_getpeername", Cgroup.AttachType.INET6_GETPEERNAME);
        m.put("sock4_recvmsg", Cgroup.AttachType.UDP4_RECVMSG);
        m.put("sock6_recvmsg", Cgroup.AttachType.UDP6_RECVMSG);
        m.put("sock4_sendmsg", Cgroup.AttachType.UDP4_SENDMSG);
        m.put("sock4_connect", Cgroup.AttachType.INET4_CONNECT);
        m.put("sock6_connect", Cgroup.AttachType.INET6_CONNECT);
        return java.util.Collections.unmodifiableMap(m);
    }

    /** Where the link of a socket LB program is pinned: beside the maps, so `lab down` and a node's cleanup remove it with them. */
    public Path linkPin(String program) { return pinDir.resolve("links").resolve(program); }

    /**
     * Attaches the socket load balancer to {@code cgroup} through pinned links (a restarted agent
     * swaps its new programs into the same links). Returns the links.
     */
    public synchronized List<Cgroup.Link> attachSocketLb(Path cgroup) {
        List<Cgroup.Link> out = new ArrayList<>();
        for (var e : SOCK_PROGRAMS.entrySet()) out.add(Cgroup.attach(cgroup, e.getValue(), programs.get(e.getKey()), linkPin(e.getKey())));
        return out;
    }

    /** Detaches the socket load balancer (connect first) and removes its pins; nothing attached is fine. */
    public synchronized void detachSocketLb() {
        List<String> names = new ArrayList<>(SOCK_PROGRAMS.keySet());
        java.util.Collections.reverse(names);
        for (String n : names) Cgroup.detach(linkPin(n));
    }

    /** The socket load balancer's pinned links, in attach order; empty when detached. */
    public List<Cgroup.Link> socketLbLinks() {
        List<Cgroup.Link> out = new ArrayList<>();
        for (String n : SOCK_PROGRAMS.keySet()) Cgroup.pinned(linkPin(n)).ifPresent(out::add);
        return out;
    }

    /** A loaded program, by name (its fd stays this data path's). */
    public BpfProgram program(String name) {
        BpfProgram p = programs.get(name);
        if (p == null) throw new IllegalArgumentException("program " + name + ": not in the data path (programs: " + programs.keySet() + ")");
        return p;
    }

    /** Attaches the pod programs to a pod's host-side veth (ingress: from the pod; egress: to the pod). */
    public synchronized void attachEndpoint(String device, int ifindex) {
        attach("from_container", device, ifindex, Tc.Direction.INGRESS);
        attach("to_container", device, ifindex, Tc.Direction.EGRESS);
    }

    public synchronized void detachEndpoint(int ifindex) {
        attachments.removeIf(a -> a.ifindex() == ifindex);
    }

    public synchronized void attachUplink(String device, int ifindex) {
        attach("from_netdev", device, ifindex, Tc.Direction.INGRESS);
    }

    public synchronized void attachOverlay(String device, int ifindex) {
        attach("from_overlay", device, ifindex, Tc.Direction.INGRESS);
        attach("to_overlay", device, ifindex, Tc.Direction.EGRESS);
    }

    private void attach(String prog, String device, int ifindex, Tc.Direction d) {
        Tc.ensureClsact(ifindex);
        Tc.attach(ifindex, d, programs.get(prog), TC_HANDLE, TC_PRIORITY);
        attachments.removeIf(a -> a.ifindex() == ifindex && a.direction() == d);
        attachments.add(new Attachment(prog, device, ifindex, d));
    }

    public synchronized List<Attachment> attachments() { return List.copyOf(attachments); }

    /** Entries and capacity per map, for status. */
    public Map<String, int[]> mapUse() {
        var out = new java.util.LinkedHashMap<String, int[]>();
        for (String m : MAPS) {
            BpfMap map = map(m);
            int n = m.equals("sl_events") ? 0 : m.equals("sl_config") ? 1 : map.keys().size();
            out.put(m, new int[] {n, map.maxEntries()});
        }
        return out;
    }

    @Override public void close() {
        maps.values().forEach(BpfMap::close);
        programs.values().forEach(BpfProgram::close);
    }
}
