package dev.sluice.ipam;

import dev.sluice.net.Cidr;
import dev.sluice.net.Ip;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Address arithmetic of one node's pod CIDR in cluster-pool mode. Pure: the caller owns the
 * allocation state (the agent persists it). The network and broadcast addresses are never handed
 * out; allocation continues after the last address handed out, so a released address is reused
 * as late as possible (a stale connection to it is less likely to reach a new pod).
 */
public record PodCidrPool(Cidr cidr) {
    public PodCidrPool {
        if (cidr.prefixLength() > 30) throw new IllegalArgumentException("pod CIDR " + cidr + " (expected: /30 or larger)");
    }

    /** Addresses that can be handed out. */
    public long capacity() { return cidr.size() - 2; }

    public boolean usable(int ip) { return cidr.contains(ip) && ip != cidr.network() && ip != cidr.broadcast(); }

    /** The next free address after {@code last} (wrapping), or empty when the pool is exhausted. */
    public Optional<Integer> next(Set<Integer> allocated, Optional<Integer> last) {
        long n = cidr.size();
        long start = last.filter(this::usable).map(ip -> Integer.toUnsignedLong(ip) - Integer.toUnsignedLong(cidr.network()) + 1).orElse(1L);
        for (long i = 0; i < n; i++) {
            int ip = cidr.address((start + i) % n);
            if (usable(ip) && !allocated.contains(ip)) return Optional.of(ip);
        }
        return Optional.empty();
    }

    /** The exhausted-pool error, one line naming the CIDR. */
    public String exhausted() {
        return "pod CIDR " + cidr + " is exhausted: all " + capacity() + " addresses are in use (expected: a free address; delete pods, or give nodes larger pod CIDRs with a smaller ipam.operator.clusterPoolIPv4MaskSize)";
    }

    /** The i-th node's pod CIDR as the cluster-pool operator assigns it. */
    public static Cidr nodeCidr(List<Cidr> clusterPool, int maskSize, int nodeIndex) {
        long idx = nodeIndex;
        for (Cidr c : clusterPool) {
            long count = 1L << (maskSize - c.prefixLength());
            if (idx < count) return c.subnet(maskSize, idx);
            idx -= count;
        }
        throw new IllegalArgumentException("node " + (nodeIndex + 1) + ": the cluster pool " + clusterPool + " has no /" + maskSize + " left (expected: a larger ipam.operator.clusterPoolIPv4PodCIDRList)");
    }
}
