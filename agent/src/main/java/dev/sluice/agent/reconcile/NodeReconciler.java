package dev.sluice.agent.reconcile;

import dev.sluice.bpf.TypedMap;
import dev.sluice.config.Values;
import dev.sluice.datapath.maps.IpcacheKey;
import dev.sluice.datapath.maps.IpcacheValue;
import dev.sluice.ipcache.IpcacheModel;
import dev.sluice.k8s.ClusterNode;
import dev.sluice.net.Cidr;
import dev.sluice.net.Ip;
import dev.sluice.netlink.IpRoute;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import tools.jackson.databind.JsonNode;

/**
 * Reconciles the node-level state: the ipcache map and the routes to other nodes' pod CIDRs.
 * Each step compares desired with actual and writes only the difference, so running it again is
 * harmless.
 */
public final class NodeReconciler {
    /** Routes Sluice owns carry this protocol number, so stale ones can be found and removed. */
    public static final String ROUTE_PROTO = "83";

    private final TypedMap<IpcacheKey, IpcacheValue> ipcache;
    private final IpRoute ip = IpRoute.local();

    public NodeReconciler(TypedMap<IpcacheKey, IpcacheValue> ipcache) { this.ipcache = ipcache; }

    /** What an ipcache pass changed: entries written plus removed, and the single addresses that left. */
    public record IpcacheChanges(int changes, Set<Integer> removedHosts) {}

    /** Step 1: the ipcache. */
    public IpcacheChanges reconcileIpcache(Map<Cidr, IpcacheModel.Entry> desired) {
        Map<IpcacheKey, IpcacheValue> want = new HashMap<>();
        desired.forEach((c, e) -> want.put(new IpcacheKey(c), new IpcacheValue(e.identity(), e.tunnelEndpoint(), e.flags())));
        Map<IpcacheKey, IpcacheValue> have = ipcache.all();
        int changes = 0;
        // Write new and changed entries before removing stale ones: a lookup never misses in between.
        for (var e : want.entrySet()) {
            if (!e.getValue().equals(have.get(e.getKey()))) {
                ipcache.put(e.getKey(), e.getValue());
                changes++;
            }
        }
        Set<Integer> removedHosts = new HashSet<>();
        for (IpcacheKey k : have.keySet()) {
            if (!want.containsKey(k)) {
                ipcache.remove(k);
                changes++;
                if (k.cidr().prefixLength() == 32) removedHosts.add(k.cidr().network());
            }
        }
        return new IpcacheChanges(changes, removedHosts);
    }

    /** Step 2: routes to every other node's pod CIDRs (native: via its address; tunnel: into the VXLAN device). */
    public int reconcileRoutes(String self, List<ClusterNode> nodes, Values.RoutingMode mode, String uplink, String tunnelDev, int podMtu) {
        Map<String, String> want = new HashMap<>();
        for (ClusterNode n : nodes) {
            if (n.name().equals(self) || n.internalIP().isEmpty()) continue;
            for (Cidr c : n.podCIDRs()) {
                want.put(c.toString(), mode == Values.RoutingMode.NATIVE
                        ? "route replace " + c + " via " + n.internalIP() + " dev " + uplink + " proto " + ROUTE_PROTO + " mtu " + podMtu
                        : "route replace " + c + " dev " + tunnelDev + " proto " + ROUTE_PROTO + " mtu " + podMtu);
            }
        }
        Set<String> have = new HashSet<>();
        List<String> batch = new ArrayList<>();
        for (JsonNode r : ip.json("route", "show", "proto", ROUTE_PROTO)) {
            String dst = r.path("dst").asString("");
            String norm = dst.contains("/") ? dst : dst + "/32";
            if (!want.containsKey(norm)) batch.add("route del " + dst + " proto " + ROUTE_PROTO);
            else have.add(norm);
        }
        // "replace" is idempotent, so every desired route is written; the count reports new ones only.
        int added = (int) want.keySet().stream().filter(k -> !have.contains(k)).count();
        batch.addAll(want.values());
        ip.batch(batch);
        return added + (int) batch.stream().filter(l -> l.startsWith("route del")).count();
    }
}
