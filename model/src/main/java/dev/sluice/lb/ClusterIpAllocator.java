package dev.sluice.lb;

import dev.sluice.k8s.ManifestException;
import dev.sluice.k8s.Service;
import dev.sluice.net.Cidr;
import dev.sluice.net.Ip;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * ClusterIP allocation as the API server does it, for the lab (which plays the API server). Pure:
 * the caller passes the Services that exist. A new address is the first free one from the
 * serviceCIDR's 10th address on (.1 is by convention the kubernetes Service, .10 cluster DNS), then
 * wrapping to the 1st; the network and broadcast addresses are never used.
 */
public final class ClusterIpAllocator {
    private final Cidr cidr;

    /** @param serviceCidr Values.serviceCIDR(), default 10.96.0.0/12 */
    public ClusterIpAllocator(Cidr serviceCidr) {
        if (serviceCidr.prefixLength() > 30) throw new IllegalArgumentException("serviceCIDR: " + serviceCidr + " (expected: /30 or larger)");
        this.cidr = serviceCidr;
    }

    /**
     * @param assigned key -> clusterIP for every Service that has or got one
     * @param errors   key -> one-line message for Services whose request is refused (they get no address)
     */
    public record Result(Map<String, String> assigned, Map<String, String> errors) {}

    /** Decides all at once: requested addresses first (oldest first, {@link Service#BY_AGE}), then the rest. */
    public Result assign(Collection<Service> services) {
        List<Service> ordered = services.stream().sorted(Service.BY_AGE).toList();
        Map<Integer, String> used = new HashMap<>();
        Map<String, String> assigned = new TreeMap<>(), errors = new TreeMap<>();
        for (Service s : ordered) {
            if (!s.hasClusterIP()) continue;
            String problem = problem(s.clusterIP(), used);
            if (problem != null) errors.put(s.key(), message(s, problem));
            else {
                used.put(Ip.parse(s.clusterIP()), s.key());
                assigned.put(s.key(), s.clusterIP());
            }
        }
        for (Service s : ordered) {
            if (!s.clusterIP().isEmpty()) continue;
            int ip = free(used);
            if (ip == 0) errors.put(s.key(), message(s, "no free address in serviceCIDR " + cidr + " (expected: a free address; widen serviceCIDR)"));
            else {
                used.put(ip, s.key());
                assigned.put(s.key(), Ip.format(ip));
            }
        }
        return new Result(assigned, errors);
    }

    /**
     * The addresses in use, kept between allocations (the lab's planner and API server): a new
     * Service gets its requested clusterIP if valid and free, else the first free address from the
     * 10th on, wrapping, found in a bit set rather than by probing every address from the start;
     * a headless one keeps "None". Errors name the Service and spec.clusterIP.
     */
    public final class Pool {
        private final Map<Integer, String> used = new HashMap<>();
        private final java.util.BitSet taken = new java.util.BitSet();

        /** The address of a new Service ({@code s} with its key); {@link Service#HEADLESS} for a headless one. */
        public String allocate(Service s) {
            if (s.headless()) return Service.HEADLESS;
            int ip;
            if (s.hasClusterIP()) {
                String problem = problem(s.clusterIP(), used);
                if (problem != null) throw exception(s, problem);
                ip = Ip.parse(s.clusterIP());
            } else {
                ip = free();
                if (ip == 0) throw exception(s, "no free address in serviceCIDR " + cidr + " (expected: a free address; widen serviceCIDR)");
            }
            used.put(ip, s.key());
            taken.set(offset(ip));
            return Ip.format(ip);
        }

        /** Marks an address of an existing Service as in use (no check: it has it already). */
        public void hold(String ip, String key) {
            if (!Ip.isIpv4(ip)) return;
            int a = Ip.parse(ip);
            used.put(a, key);
            if (cidr.contains(a)) taken.set(offset(a));
        }

        public void release(String ip) {
            if (!Ip.isIpv4(ip)) return;
            int a = Ip.parse(ip);
            if (used.remove(a) != null && cidr.contains(a)) taken.clear(offset(a));
        }

        private int free() {
            long size = cidr.size();
            int start = (int) Math.min(10, size - 2);
            int off = taken.nextClearBit(start);
            if (off > size - 2) off = taken.nextClearBit(1);
            return off > size - 2 || off >= start && taken.get(off) ? 0 : cidr.address(off);
        }

        private int offset(int ip) { return (int) (Integer.toUnsignedLong(ip) - Integer.toUnsignedLong(cidr.network())); }
    }

    public Pool pool() { return new Pool(); }

    private String problem(String requested, Map<Integer, String> used) {
        int ip = Ip.parse(requested);
        if (!cidr.contains(ip)) return requested + " (expected: an address in serviceCIDR " + cidr + ")";
        if (ip == cidr.network() || ip == cidr.broadcast())
            return requested + " (expected: not the network or broadcast address of serviceCIDR " + cidr + ")";
        String owner = used.get(ip);
        return owner == null ? null : requested + " (already in use by Service " + owner + ")";
    }

    private int free(Map<Integer, String> used) {
        long size = cidr.size();
        long start = Math.min(10, size - 2);
        for (long i = 0; i < size - 2; i++) {
            long off = 1 + ((start - 1 + i) % (size - 2));
            int ip = cidr.address(off);
            if (!used.containsKey(ip)) return ip;
        }
        return 0;
    }

    private static String message(Service s, String problem) { return exception(s, problem).getMessage(); }

    private static ManifestException exception(Service s, String problem) {
        return new ManifestException(s.file(), s.displayName(), "spec.clusterIP", problem);
    }
}
