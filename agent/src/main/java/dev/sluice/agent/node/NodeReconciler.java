package dev.sluice.agent.node;

import dev.sluice.bpf.TypedMap;
import dev.sluice.config.Values;
import dev.sluice.datapath.maps.IpcacheKey;
import dev.sluice.datapath.maps.IpcacheValue;
import dev.sluice.ipcache.IpcacheModel;
import dev.sluice.k8s.ClusterNode;
import dev.sluice.net.Cidr;
import dev.sluice.net.Ip;
import dev.sluice.netlink.Rtnetlink;
import dev.sluice.netlink.Rtnetlink.Route;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reconciles the node-level state: the ipcache map and the routes to other nodes' pod CIDRs.
 * Each step compares desired with actual and writes only the difference, so running it again is
 * harmless.
 */
public final class NodeReconciler {
    /** Routes Sluice owns carry this protocol number, so stale ones can be found and removed. */
    public static final int ROUTE_PROTO = 83;

    private final TypedMap<IpcacheKey, IpcacheValue> ipcache;

    /** What the ipcache map holds: read from the kernel once, then kept by every write (not re-read per pass: 1,000s of syscalls). */
    private Map<IpcacheKey, IpcacheValue> have;

    public NodeReconciler(TypedMap<IpcacheKey, IpcacheValue> ipcache) { this.ipcache = ipcache; }

    /** What an ipcache pass changed: entries written plus removed, and the single addresses that left. */
    public record IpcacheChanges(int changes, Set<Integer> removedHosts) {}

    /**
     * Step 1 for a few addresses: compares and writes only the entries of {@code touched} (present
     * in {@code desired}: written when different; absent: removed), after a full pass has run once.
     */
    public IpcacheChanges reconcileIpcache(Map<Cidr, IpcacheModel.Entry> desired, Set<Cidr> touched) {
        if (have == null) return reconcileIpcache(desired);
        int changes = 0;
        Set<Integer> removedHosts = new HashSet<>();
        List<IpcacheKey> gone = new ArrayList<>();
        for (Cidr c : touched) {
            IpcacheKey k = new IpcacheKey(c);
            IpcacheModel.Entry e = desired.get(c);
            if (e == null) {
                if (have.containsKey(k)) gone.add(k);
                continue;
            }
            IpcacheValue v = new IpcacheValue(e.identity(), e.tunnelEndpoint(), e.flags());
            if (!v.equals(have.get(k))) {
                ipcache.put(k, v);
                have.put(k, v);
                changes++;
            }
        }
        for (IpcacheKey k : gone) {
            ipcache.remove(k);
            have.remove(k);
            changes++;
            if (k.cidr().prefixLength() == 32) removedHosts.add(k.cidr().network());
        }
        return new IpcacheChanges(changes, removedHosts);
    }

    /** Step 1: the ipcache. */
    public IpcacheChanges reconcileIpcache(Map<Cidr, IpcacheModel.Entry> desired) {
        Map<IpcacheKey, IpcacheValue> want = new HashMap<>();
        desired.forEach((c, e) -> want.put(new IpcacheKey(c), new IpcacheValue(e.identity(), e.tunnelEndpoint(), e.flags())));
        if (have == null) have = new HashMap<>(ipcache.all());
        int changes = 0;
        // Write new and changed entries before removing stale ones: a lookup never misses in between.
        for (var e : want.entrySet()) {
            if (!e.getValue().equals(have.get(e.getKey()))) {
                ipcache.put(e.getKey(), e.getValue());
                have.put(e.getKey(), e.getValue());
                changes++;
            }
        }
        Set<Integer> removedHosts = new HashSet<>();
        for (var it = have.keySet().iterator(); it.hasNext(); ) {
            IpcacheKey k = it.next();
            if (!want.containsKey(k)) {
                ipcache.remove(k);
                it.remove();
                changes++;
                if (k.cidr().prefixLength() == 32) removedHosts.add(k.cidr().network());
            }
        }
        return new IpcacheChanges(changes, removedHosts);
    }

    /**
     * Step 2: routes to every other node's pod CIDRs (native: via its address out of the uplink;
     * tunnel: into the VXLAN device), in the main table with protocol {@value #ROUTE_PROTO} and the
     * pod MTU, in the calling thread's namespace. One dump of the routes of that protocol, then only
     * the difference is written: missing routes added and changed ones replaced, then stale ones
     * deleted. Returns the number of routes written plus deleted (0 when all were in place).
     */
    public int reconcileRoutes(String self, List<ClusterNode> nodes, Values.RoutingMode mode, String uplink, String tunnelDev, int podMtu) {
        try (Rtnetlink nl = Rtnetlink.open()) {
            return reconcileRoutes(nl, self, nodes, mode, uplink, tunnelDev, podMtu);
        }
    }

    /** {@link #reconcileRoutes} through a given socket: in the namespace it was opened in. */
    int reconcileRoutes(Rtnetlink nl, String self, List<ClusterNode> nodes, Values.RoutingMode mode, String uplink, String tunnelDev, int podMtu) {
        boolean nativeMode = mode == Values.RoutingMode.NATIVE;
        String dev = nativeMode ? uplink : tunnelDev;
        int oif = 0;
        Map<Cidr, Route> want = new HashMap<>();
        for (ClusterNode n : nodes) {
            if (n.name().equals(self) || n.internalIP().isEmpty() || n.podCIDRs().isEmpty()) continue;
            if (oif == 0 && (oif = nl.linkIndex(dev)) == 0)
                throw new IllegalStateException("routes to other nodes: device " + dev + " is missing (expected: the " + (nativeMode ? "uplink" : "VXLAN device") + ")");
            for (Cidr c : n.podCIDRs()) {
                want.put(c, nativeMode ? Route.via(c, Ip.parse(n.internalIP()), oif, ROUTE_PROTO, podMtu) : Route.onLink(c, oif, ROUTE_PROTO, podMtu));
            }
        }
        Map<Cidr, Route> have = new HashMap<>();
        List<Route> stale = new ArrayList<>();
        for (Route r : nl.routes(ROUTE_PROTO)) {
            if (want.containsKey(r.dst()) && have.putIfAbsent(r.dst(), r) == null) continue;
            stale.add(r);   // not wanted, or a second route for a wanted destination
        }
        int changes = 0;
        // New and changed routes before stale ones go: a CIDR moving between nodes is never without a route.
        for (Route r : want.values()) {
            if (r.equals(have.get(r.dst()))) continue;
            nl.replaceRoute(r);
            changes++;
        }
        for (Route r : stale) {
            nl.deleteRoute(r);
            changes++;
        }
        return changes;
    }
}
