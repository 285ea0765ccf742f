package dev.sluice.k8s;

/** L4 protocols with their IP protocol numbers. */
public enum Protocol {
    TCP(6), UDP(17), SCTP(132), ICMP(1);

    public final int number;

    Protocol(int number) { this.number = number; }

    /** Parses a manifest protocol; absent means TCP as in Kubernetes. */
    public static Protocol parse(Node n, String field, boolean allowIcmp) {
        if (!n.has(field)) return TCP;
        String s = n.get(field).string();
        for (Protocol p : values()) if (p.name().equals(s) && (allowIcmp || p != ICMP)) return p;
        throw n.error(field, s + " (expected one of: TCP, UDP, SCTP" + (allowIcmp ? ", ICMP" : "") + ")");
    }

    public static Protocol ofName(String s) {
        for (Protocol p : values()) if (p.name().equalsIgnoreCase(s)) return p;
        throw new IllegalArgumentException("protocol: " + s + " (expected one of: TCP, UDP, SCTP)");
    }
}
