package dev.sluice.datapath;

import dev.sluice.bpf.BpfMap;
import dev.sluice.bpf.BpfObject;
import dev.sluice.bpf.Bpffs;
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
import java.util.List;
import java.util.Map;

/**
 * One node's loaded data path: the three program objects (pod veths, uplink, overlay) sharing maps
 * pinned under {@code pinDir}, so a restarted agent finds the same maps and the kernel keeps
 * forwarding while no agent runs.
 */
public final class NodeDatapath implements AutoCloseable {
    /** tc filter handle and priority Sluice uses on every hook. */
    public static final int TC_HANDLE = 1, TC_PRIORITY = 1;
    public static final List<String> MAPS = List.of("sl_endpoints", "sl_lxc", "sl_ipcache", "sl_config", "sl_metrics", "sl_events", "sl_policy", "sl_policy_cidr");

    private final Path pinDir;
    private final BpfObject lxc, netdev, overlay;
    private final List<Attachment> attachments = new ArrayList<>();

    /** A program attached to a tc hook, for status. */
    public record Attachment(String program, String device, int ifindex, Tc.Direction direction) {}

    private NodeDatapath(Path pinDir, BpfObject lxc, BpfObject netdev, BpfObject overlay) {
        this.pinDir = pinDir;
        this.lxc = lxc;
        this.netdev = netdev;
        this.overlay = overlay;
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
        try {
            for (String name : List.of("bpf_lxc.o", "bpf_netdev.o", "bpf_overlay.o")) {
                Path obj = objDir.resolve(name);
                if (!Files.isRegularFile(obj))
                    throw new IllegalStateException(obj + ": missing (expected: the compiled data path; run 'make build')");
                DatapathConstants.check(obj);
                BpfObject o = BpfObject.open(obj, BpfObject.OpenOptions.defaults().withPinRoot(pinDir));
                opened.add(o);
                dev.sluice.datapath.maps.MapSizes.apply(o, pinDir, sizes);
                o.load();
            }
            return new NodeDatapath(pinDir, opened.get(0), opened.get(1), opened.get(2));
        } catch (RuntimeException e) {
            opened.forEach(BpfObject::close);
            throw e;
        }
    }

    public Path pinDir() { return pinDir; }

    public TypedMap<EndpointKey, EndpointInfo> endpoints() { return lxc.map("sl_endpoints").typed(EndpointKey.CODEC, EndpointInfo.CODEC); }
    public TypedMap<Integer, LxcInfo> lxc() { return lxc.map("sl_lxc").typed(LxcInfo.KEY, LxcInfo.CODEC); }
    public TypedMap<IpcacheKey, IpcacheValue> ipcache() { return lxc.map("sl_ipcache").typed(IpcacheKey.CODEC, IpcacheValue.CODEC); }
    public TypedMap<Integer, NodeConfig> config() { return lxc.map("sl_config").typed(NodeConfig.KEY, NodeConfig.CODEC); }
    public TypedMap<MetricsKey, MetricsValue> metrics() { return lxc.map("sl_metrics").typed(MetricsKey.CODEC, MetricsValue.CODEC); }
    public BpfMap events() { return lxc.map("sl_events"); }
    public TypedMap<dev.sluice.datapath.maps.PolicyEntryKey, dev.sluice.datapath.maps.PolicyEntryValue> policy() {
        return lxc.map("sl_policy").typed(dev.sluice.datapath.maps.PolicyEntryKey.CODEC, dev.sluice.datapath.maps.PolicyEntryValue.CODEC);
    }
    public TypedMap<dev.sluice.datapath.maps.PolicyCidrKey, Integer> policyCidr() {
        return lxc.map("sl_policy_cidr").typed(dev.sluice.datapath.maps.PolicyCidrKey.CODEC, dev.sluice.datapath.maps.PolicyCidrKey.VALUE);
    }
    public BpfMap map(String name) { return lxc.map(name); }
    /** Service, conntrack and NAT maps (bpf/lib/lb.h, conntrack.h, nat.h). */
    public dev.sluice.datapath.maps.LbMaps lb() { return new dev.sluice.datapath.maps.LbMaps(lxc::map); }

    /** Attaches the pod programs to a pod's host-side veth (ingress: from the pod; egress: to the pod). */
    public synchronized void attachEndpoint(String device, int ifindex) {
        attach(lxc, "from_container", device, ifindex, Tc.Direction.INGRESS);
        attach(lxc, "to_container", device, ifindex, Tc.Direction.EGRESS);
    }

    public synchronized void detachEndpoint(int ifindex) {
        attachments.removeIf(a -> a.ifindex() == ifindex);
    }

    public synchronized void attachUplink(String device, int ifindex) {
        attach(netdev, "from_netdev", device, ifindex, Tc.Direction.INGRESS);
    }

    public synchronized void attachOverlay(String device, int ifindex) {
        attach(overlay, "from_overlay", device, ifindex, Tc.Direction.INGRESS);
        attach(overlay, "to_overlay", device, ifindex, Tc.Direction.EGRESS);
    }

    private void attach(BpfObject o, String prog, String device, int ifindex, Tc.Direction d) {
        Tc.ensureClsact(ifindex);
        Tc.attach(ifindex, d, o.program(prog), TC_HANDLE, TC_PRIORITY);
        attachments.removeIf(a -> a.ifindex() == ifindex && a.direction() == d);
        attachments.add(new Attachment(prog, device, ifindex, d));
    }

    public synchronized List<Attachment> attachments() { return List.copyOf(attachments); }

    /** Entries and capacity per map, for status. */
    public Map<String, int[]> mapUse() {
        var out = new java.util.LinkedHashMap<String, int[]>();
        for (String m : MAPS) {
            BpfMap map = lxc.map(m);
            int n = m.equals("sl_events") ? 0 : m.equals("sl_config") ? 1 : map.keys().size();
            out.put(m, new int[] {n, map.maxEntries()});
        }
        return out;
    }

    @Override public void close() {
        lxc.close();
        netdev.close();
        overlay.close();
    }
}
