package dev.sluice.identity;

/**
 * A security identity: a number the data path carries per packet and the labels it stands for.
 * Numbers 1-8 are {@link Reserved}; pod identities are {@value IdentityAllocator#POD_MIN} and up,
 * below {@value IdentityAllocator#CIDR_BASE}; CIDR identities are {@value IdentityAllocator#CIDR_BASE}
 * and up (Cilium's local-scope range, bit 24 set).
 */
public record Identity(int id, IdentityLabels labels) {
    public boolean isReserved() { return labels.isReserved(); }

    @Override public String toString() { return id + " " + labels.canonical(); }
}
