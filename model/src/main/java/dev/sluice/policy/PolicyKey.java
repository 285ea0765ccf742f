package dev.sluice.policy;

import dev.sluice.net.Cidr;
import java.util.Comparator;
import java.util.List;

/**
 * The key of one policy map entry. Identity entries have {@code cidr == null} and match a peer by
 * its security identity ({@code 0} = any peer). CIDR entries match a peer by its address (any
 * address in {@code cidr} and in none of {@code except}, pod addresses included) and carry the
 * CIDR's identity for display. {@code protocol} is the IP protocol number (0 = any, then the port
 * range is any too); {@code ports} is kept as a range, see {@link PortRange#prefixes()}.
 */
public record PolicyKey(Direction direction, int identity, Cidr cidr, List<Cidr> except, int protocol, PortRange ports)
        implements Comparable<PolicyKey> {
    public PolicyKey {
        except = except == null ? List.of() : List.copyOf(except);
    }

    public boolean isCidr() { return cidr != null; }

    private static final Comparator<PolicyKey> ORDER = Comparator
            .comparing(PolicyKey::direction)
            .thenComparing(PolicyKey::isCidr)
            .thenComparingInt(PolicyKey::identity)
            .thenComparing(k -> k.cidr, Comparator.nullsFirst(Comparator.naturalOrder()))
            .thenComparing(k -> k.except.toString())
            .thenComparingInt(PolicyKey::protocol)
            .thenComparing(PolicyKey::ports);

    @Override public int compareTo(PolicyKey o) { return ORDER.compare(this, o); }

    /** Whether a peer with this identity and address (null when unknown) matches the peer part. */
    public boolean matchesPeer(int peerIdentity, Integer peerIp) {
        if (cidr == null) return identity == 0 || identity == peerIdentity;
        if (peerIp == null || !cidr.contains(peerIp)) return false;
        for (Cidr e : except) if (e.contains(peerIp)) return false;
        return true;
    }

    public boolean matchesL4(int proto, int port) {
        if (protocol != 0 && protocol != proto) return false;
        return ports.contains(port);
    }
}
