package dev.sluice.lab;

import dev.sluice.net.Ip;
import java.util.Set;
import java.util.TreeSet;

/**
 * ClusterIP allocation as the lab's API server does it: the first free address from 10.96.0.10
 * upward in 10.96.0.0/12, so the result depends only on the apply order. Pure.
 */
public final class ClusterIps {
    static final int FIRST = Ip.parse("10.96.0.10");
    private final Set<Integer> used = new TreeSet<>();

    public ClusterIps(Iterable<String> inUse) {
        for (String ip : inUse) if (Ip.isIpv4(ip)) used.add(Ip.parse(ip));
    }

    public boolean inUse(String ip) { return Ip.isIpv4(ip) && used.contains(Ip.parse(ip)); }

    /** Marks an address (given in a manifest) as taken. */
    public void take(String ip) { used.add(Ip.parse(ip)); }

    public String allocate() {
        int last = LabService.SERVICE_CIDR.broadcast();
        for (long a = Integer.toUnsignedLong(FIRST); a < Integer.toUnsignedLong(last); a++) {
            if (used.add((int) a)) return Ip.format((int) a);
        }
        throw new IllegalStateException("the service CIDR " + LabService.SERVICE_CIDR + " is full");
    }
}
