package dev.sluice.lb;

import dev.sluice.config.Values;
import dev.sluice.k8s.LbIpPool;
import dev.sluice.k8s.ManifestException;
import dev.sluice.k8s.Service;
import dev.sluice.maglev.MaglevHash;
import dev.sluice.net.Cidr;
import dev.sluice.net.Ip;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The cluster-wide claims, decided for all Services at once because they compete: ClusterIPs,
 * LoadBalancer addresses, external IPs and nodePorts. Pure: the same Services give the same result,
 * whatever changed before and whatever order they come in. Services are taken oldest first
 * ({@link Service#BY_AGE}: metadata.creationTimestamp, then namespace/name), so a conflict goes to
 * the Service created first, as the API server decides it (the second create asking for a taken
 * nodePort or ClusterIP is refused there). A lost claim is an ERROR condition on the losing Service
 * only. A ClusterIP outside serviceCIDR is refused (the API server never hands one out; a manifest
 * could otherwise capture any address).
 *
 * <p>Stability without history: an automatically chosen address or nodePort is reported in the
 * status, and once written back (status.loadBalancer.ingress, spec.ports[].nodePort) it is a
 * request honoured before any automatic choice. Automatic nodePorts start at a hash of the
 * Service and port, so adding a Service does not shift the nodePorts of the others.
 */
final class Allocator {
    private Allocator() {}

    /** One Service's share; lists are in spec order. */
    record Alloc(boolean clusterIpOk, List<Integer> nodePorts, List<Integer> externalIPs, List<Integer> lbIPs,
                 List<Condition> conditions) {}

    static final String VALUES_POOL = "lbExternalIPPool.cidr";

    /**
     * The parts of a Service allocation reads: when a change leaves them equal (a new selector or
     * targetPort, say), the allocations of all Services stay as they are. Everything but the
     * selector, target ports and traffic policies.
     */
    static Object inputs(Service s) {
        return List.of(s.labels(), s.type(), s.clusterIP(), s.externalIPs(), s.allocateLoadBalancerNodePorts(),
                java.util.Objects.toString(s.created(), ""),
                s.loadBalancerIP(), s.loadBalancerClass(), s.ingressIPs(), s.file(),
                s.ports().stream().map(p -> List.of(p.index(), p.name(), p.port(), p.protocol(), p.nodePort())).toList());
    }

    /**
     * True when a Service's change can move no claim of any other Service, so the cluster-wide pass
     * can be skipped and only its own share redone ({@link #ownShare}): a ClusterIP Service (no
     * nodePorts, no external IPs, no LoadBalancer address) that keeps its ClusterIP and file. Its only
     * claim is the ClusterIP, whose owner is decided by age among the Services holding the
     * address, which this change does not touch: a port, targetPort, selector or policy change of the
     * most common kind of Service costs O(1) instead of O(Services).
     */
    static boolean onlyOwnShare(Service old, Service s) {
        return clusterIpOnly(old) && clusterIpOnly(s) && old.clusterIP().equals(s.clusterIP()) && old.file().equals(s.file())
                && java.util.Objects.equals(old.created(), s.created());
    }

    static boolean clusterIpOnly(Service s) {
        if (s.type() != Service.Type.ClusterIP || !s.externalIPs().isEmpty()) return false;
        for (Service.ServicePort p : s.ports()) if (p.nodePort() != 0) return false;
        return true;
    }

    /** The share {@link #allocate} gives a Service for which {@link #onlyOwnShare} held, from its previous share. */
    static Alloc ownShare(Service s, Alloc previous) {
        return new Alloc(previous.clusterIpOk(), java.util.Collections.nCopies(s.ports().size(), 0), List.of(), List.of(), previous.conditions());
    }

    /** @param services in any order: they are taken oldest first ({@link Service#BY_AGE}) */
    static Map<String, Alloc> allocate(List<Service> services, List<LbIpPool> ciliumPools, Values values) {
        List<Service> byAge = new ArrayList<>(services);
        byAge.sort(Service.BY_AGE);
        var a = new Run(byAge, pools(ciliumPools, values), values);
        return a.run();
    }

    static List<LbIpPool> pools(List<LbIpPool> ciliumPools, Values values) {
        List<LbIpPool> out = new ArrayList<>();
        values.lbExternalIPPoolCidr().ifPresent(c ->
                out.add(new LbIpPool(VALUES_POOL, List.of(LbIpPool.Block.of(c, false)), false, LbIpPool.ServiceSelector.ALL)));
        ciliumPools.stream().sorted((x, y) -> x.name().compareTo(y.name())).forEach(out::add);
        return List.copyOf(out);
    }

    static String message(Service s, String field, String problem) {
        return new ManifestException(s.file(), s.displayName(), field, problem).getMessage();
    }

    private static final class Run {
        final List<Service> services;
        final List<LbIpPool> pools;
        final Values values;
        final Map<String, List<Condition>> conditions = new HashMap<>();
        /** ClusterIPs and LoadBalancer addresses: an address belongs to one Service. */
        final Map<Integer, String> addressOwner = new HashMap<>();
        /** External IPs are shared by port: (ip, port, protocol) belongs to one Service. */
        final Map<Frontend.FrontendKey, String> externalOwner = new HashMap<>();
        /** External IP -> the (oldest) Service using it: a LoadBalancer address claim must not take it. */
        final Map<Integer, String> externalAddresses = new HashMap<>();
        final Map<String, Boolean> clusterIpOk = new HashMap<>();
        final Map<String, List<Integer>> externalIPs = new HashMap<>();
        final Map<String, List<Integer>> lbIPs = new HashMap<>();
        final Map<String, int[]> nodePorts = new HashMap<>();
        final Map<Integer, String> nodePortOwner = new HashMap<>();
        /** Per pool and block: the next address to try for an automatic choice (choices only move forward). */
        final Map<LbIpPool.Block, Long> cursor = new HashMap<>();

        Run(List<Service> services, List<LbIpPool> pools, Values values) {
            this.services = services;
            this.pools = pools;
            this.values = values;
        }

        void add(Service s, Condition c) { conditions.computeIfAbsent(s.key(), k -> new ArrayList<>()).add(c); }

        Map<String, Alloc> run() {
            // Claims of a value first (a ClusterIP, spec.loadBalancerIP, a previous allocation in
            // status, an external IP, a nodePort), one Service at a time, oldest first: when two
            // Services claim the same value the older keeps it, whatever kind of claim each is, as at
            // the API server, where the younger create would have been refused. Then the automatic
            // choices, oldest first, among what is left: they claim no particular value, so they never
            // take one a Service already holds (what was allocated before stays where it is).
            for (Service s : services) {
                clusterIp(s);
                if (s.type() == Service.Type.LoadBalancer) requestedLb(s);
                externalIps(s);
                requestedNodePorts(s);
            }
            for (Service s : services) {
                if (s.type() == Service.Type.LoadBalancer && !lbIPs.containsKey(s.key())) autoLb(s);
                autoNodePorts(s);
            }
            Map<String, Alloc> out = new HashMap<>();
            for (Service s : services) {
                int[] np = nodePorts.get(s.key());
                out.put(s.key(), new Alloc(clusterIpOk.getOrDefault(s.key(), false),
                        Arrays.stream(np).map(x -> Math.max(x, 0)).boxed().toList(),
                        List.copyOf(externalIPs.getOrDefault(s.key(), List.of())),
                        List.copyOf(lbIPs.getOrDefault(s.key(), List.of())),
                        List.copyOf(conditions.getOrDefault(s.key(), List.of()))));
            }
            return out;
        }

        void clusterIp(Service s) {
            if (!s.hasClusterIP()) return;
            int ip = Ip.parse(s.clusterIP());
            Cidr range = values.serviceCIDR();
            if (!range.contains(ip)) {
                add(s, Condition.error("ClusterIPOutsideServiceCIDR", message(s, "spec.clusterIP", s.clusterIP()
                        + " (expected: an address in serviceCIDR " + range + "; set serviceCIDR to the API server's --service-cluster-ip-range)")));
                return;
            }
            String owner = addressOwner.putIfAbsent(ip, s.key());
            if (owner != null) {
                add(s, Condition.error("ClusterIPInUse", message(s, "spec.clusterIP", s.clusterIP() + " (already in use by Service " + owner + ")")));
                return;
            }
            clusterIpOk.put(s.key(), true);
        }

        /** Who holds an address as a ClusterIP, LoadBalancer address or external IP, other than {@code s}; null when free. */
        String addressHeld(int a, Service s) {
            String o = addressOwner.get(a);
            if (o == null) o = externalAddresses.get(a);
            return o == null || o.equals(s.key()) ? null : o;
        }

        boolean ours(Service s) {
            return s.loadBalancerClass().isEmpty() || s.loadBalancerClass().startsWith("io.cilium/");
        }

        List<LbIpPool> poolsFor(Service s) {
            return pools.stream().filter(p -> p.selector().matches(s)).toList();
        }

        static String describe(List<LbIpPool> ps) {
            return ps.stream().map(p -> p.name() + " " + p.blocks().stream().map(Object::toString).collect(Collectors.joining(",", "[", "]")))
                    .collect(Collectors.joining(", "));
        }

        /**
         * spec.loadBalancerIP, else a previous allocation from status; another controller's class:
         * its status, but only addresses Sluice hands out or the operator allowed. Whoever may write a
         * Service's status could otherwise make pods' traffic to any address go to its backends
         * (CVE-2020-8554).
         */
        void requestedLb(Service s) {
            if (!ours(s)) {
                List<Integer> ips = new ArrayList<>();
                List<Cidr> allowed = values.externalIPsAllowedCIDRs();
                for (String ip : s.ingressIPs()) {
                    int a = Ip.parse(ip);
                    if (pools.stream().noneMatch(p -> p.contains(a)) && allowed.stream().noneMatch(c -> c.contains(a))) {
                        add(s, Condition.error("LoadBalancerIPNotAllowed", message(s, "status.loadBalancer.ingress", ip
                                + " (expected: an address in a Sluice pool, " + (pools.isEmpty() ? "none configured" : describe(pools))
                                + ", or in externalIPs.allowedCIDRs " + (allowed.isEmpty() ? "(empty)" : allowed.toString())
                                + "; another controller's address outside them is not served, or whoever writes a Service status could capture traffic to any address)")));
                        continue;
                    }
                    String owner = addressHeld(a, s);
                    if (owner == null) {
                        addressOwner.put(a, s.key());
                        ips.add(a);
                    }
                    else add(s, Condition.error("LoadBalancerIPInUse", message(s, "status.loadBalancer.ingress", ip + " (already in use by Service " + owner + ")")));
                }
                lbIPs.put(s.key(), ips);
                add(s, Condition.info("OtherLoadBalancerClass", message(s, "spec.loadBalancerClass", s.loadBalancerClass()
                        + " (allocated by another controller; its status.loadBalancer.ingress addresses in Sluice's pools or externalIPs.allowedCIDRs are served)")));
                return;
            }
            List<LbIpPool> mine = poolsFor(s);
            if (!s.loadBalancerIP().isEmpty()) {
                int a = Ip.parse(s.loadBalancerIP());
                String owner = addressHeld(a, s);
                boolean inPool = mine.stream().anyMatch(p -> !p.disabled() && p.contains(a))
                        || (s.ingressIPs().contains(s.loadBalancerIP()) && mine.stream().anyMatch(p -> p.contains(a)));
                if (!inPool) {
                    add(s, Condition.error("RequestedIPNotInPool", message(s, "spec.loadBalancerIP", s.loadBalancerIP()
                            + " (expected: an address in an enabled pool that selects this Service" + (mine.isEmpty() ? "; none does" : ": " + describe(mine)) + ")")));
                } else if (owner != null) {
                    add(s, Condition.error("RequestedIPInUse", message(s, "spec.loadBalancerIP", s.loadBalancerIP() + " (already in use by Service " + owner + ")")));
                } else {
                    addressOwner.put(a, s.key());
                    lbIPs.put(s.key(), List.of(a));
                    return;
                }
                lbIPs.put(s.key(), List.of()); // a failed explicit request does not fall back to another address
                return;
            }
            for (String ip : s.ingressIPs()) {
                int a = Ip.parse(ip);
                // A disabled pool keeps its existing allocations (as Cilium's spec.disabled does).
                if (addressHeld(a, s) == null && !addressOwner.containsKey(a) && mine.stream().anyMatch(p -> p.contains(a))) {
                    addressOwner.put(a, s.key());
                    lbIPs.put(s.key(), List.of(a));
                    return;
                }
            }
        }

        void autoLb(Service s) {
            List<LbIpPool> mine = poolsFor(s);
            if (mine.isEmpty()) {
                add(s, Condition.error("NoPool", message(s, "spec.type", "LoadBalancer: no address pool selects this Service (expected: "
                        + "lbExternalIPPool.cidr in values, or a CiliumLoadBalancerIPPool whose serviceSelector matches it)")));
                lbIPs.put(s.key(), List.of());
                return;
            }
            for (LbIpPool p : mine) {
                if (p.disabled()) continue;
                for (LbIpPool.Block b : p.blocks()) {
                    long i = cursor.getOrDefault(b, 0L);
                    for (; i < b.size(); i++) {
                        int a = (int) (Integer.toUnsignedLong(b.first()) + i);
                        if (addressOwner.containsKey(a) || externalAddresses.containsKey(a)) continue;
                        addressOwner.put(a, s.key());
                        lbIPs.put(s.key(), List.of(a));
                        cursor.put(b, i + 1);
                        return;
                    }
                    cursor.put(b, i);
                }
            }
            List<LbIpPool> enabled = mine.stream().filter(p -> !p.disabled()).toList();
            add(s, Condition.error("PoolExhausted", message(s, "spec.type", "LoadBalancer: no free address in "
                    + (enabled.isEmpty() ? "the pools that select this Service: all are disabled (" + describe(mine) + ")"
                    : describe(enabled) + " (expected: a free address; enlarge a pool or remove a LoadBalancer Service)"))));
            lbIPs.put(s.key(), List.of());
        }

        void externalIps(Service s) {
            List<Integer> ok = new ArrayList<>();
            List<Cidr> allowed = values.externalIPsAllowedCIDRs();
            for (int i = 0; i < s.externalIPs().size(); i++) {
                String ip = s.externalIPs().get(i);
                int a = Ip.parse(ip);
                String field = "spec.externalIPs[" + i + "]";
                if (allowed.stream().noneMatch(c -> c.contains(a))) {
                    add(s, Condition.error("ExternalIPNotAllowed", message(s, field, ip + " (expected: an address in externalIPs.allowedCIDRs "
                            + (allowed.isEmpty() ? "(empty: no external IP is allowed)" : allowed.toString())
                            + "; otherwise any tenant could capture traffic to any address)")));
                    continue;
                }
                String owner = addressOwner.get(a);
                if (owner != null && !owner.equals(s.key())) {
                    add(s, Condition.error("ExternalIPInUse", message(s, field, ip + " (already in use by Service " + owner + ")")));
                    continue;
                }
                String taken = null;
                for (Service.ServicePort p : s.ports()) {
                    String o = externalOwner.get(new Frontend.FrontendKey(a, p.port(), p.protocol()));
                    if (o != null && !o.equals(s.key())) taken = ip + ":" + p.port() + "/" + p.protocol() + " (already in use by Service " + o + ")";
                }
                if (taken != null) {
                    add(s, Condition.error("ExternalIPInUse", message(s, field, taken)));
                    continue;
                }
                for (Service.ServicePort p : s.ports()) externalOwner.put(new Frontend.FrontendKey(a, p.port(), p.protocol()), s.key());
                externalAddresses.putIfAbsent(a, s.key());
                ok.add(a);
            }
            externalIPs.put(s.key(), ok);
        }

        boolean wantsNodePorts(Service s) {
            return s.type() == Service.Type.NodePort || (s.type() == Service.Type.LoadBalancer && s.allocateLoadBalancerNodePorts());
        }

        /** Taken by another Service? The same Service may reuse a number for another protocol. */
        boolean nodePortFree(int port, Service s) {
            String o = nodePortOwner.get(port);
            return o == null || o.equals(s.key());
        }

        void requestedNodePorts(Service s) {
            int[] np = new int[s.ports().size()];
            nodePorts.put(s.key(), np);
            for (Service.ServicePort p : s.ports()) {
                if (p.nodePort() == 0) continue;
                String field = p.path() + ".nodePort";
                if (p.nodePort() < values.nodePortMin() || p.nodePort() > values.nodePortMax()) {
                    add(s, Condition.error("NodePortOutOfRange", message(s, field, p.nodePort() + " (expected: " + values.nodePortMin() + "-" + values.nodePortMax() + ")")));
                    np[p.index()] = -1;
                } else if (!nodePortFree(p.nodePort(), s)) {
                    add(s, Condition.error("NodePortInUse", message(s, field, p.nodePort() + " (already in use by Service " + nodePortOwner.get(p.nodePort()) + ")")));
                    np[p.index()] = -1;
                } else {
                    nodePortOwner.put(p.nodePort(), s.key());
                    np[p.index()] = p.nodePort();
                }
            }
        }

        void autoNodePorts(Service s) {
            int[] np = nodePorts.get(s.key());
            if (!wantsNodePorts(s)) return;
            int size = values.nodePortMax() - values.nodePortMin() + 1;
            for (Service.ServicePort p : s.ports()) {
                if (np[p.index()] != 0) continue; // requested (-1: refused; it gets no replacement)
                long h = MaglevHash.hash64(s.key() + "/" + p.label() + "/" + p.protocol(), 0);
                int start = (int) Long.remainderUnsigned(h, size);
                boolean found = false;
                for (int i = 0; i < size; i++) {
                    int port = values.nodePortMin() + (start + i) % size;
                    if (nodePortFree(port, s)) {
                        nodePortOwner.put(port, s.key());
                        np[p.index()] = port;
                        found = true;
                        break;
                    }
                }
                if (!found)
                    add(s, Condition.error("NodePortRangeExhausted", message(s, p.path() + ".nodePort", "no free port in nodePort.range "
                            + values.nodePortMin() + "-" + values.nodePortMax() + " (expected: a free port; widen nodePort.range)")));
            }
        }
    }

}
