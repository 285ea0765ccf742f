package dev.sluice.policy;

/**
 * One entry of a CiliumNetworkPolicy egress {@code toFQDNs}: the names whose learned addresses
 * (from DNS answers the DNS proxy let through, kept by the agent's FQDN cache with their TTL) this
 * rule's peer stands for. Same name syntax and matching as {@link DnsRule} ({@link DnsNames}).
 * The engine turns each selector's current addresses into /32 CIDR entries; a selector with no
 * learned address allows nothing (fail closed).
 */
public record FqdnSelector(String matchName, String matchPattern) implements Comparable<FqdnSelector> {
    public FqdnSelector {
        DnsRule r = new DnsRule(matchName, matchPattern); // validates and canonicalises
        matchName = r.matchName();
        matchPattern = r.matchPattern();
    }

    public static FqdnSelector name(String n) { return new FqdnSelector(n, ""); }

    public static FqdnSelector pattern(String p) { return new FqdnSelector("", p); }

    /** Whether an answer for {@code name} feeds this selector's addresses. */
    public boolean matches(String name) { return new DnsRule(matchName, matchPattern).matches(name); }

    @Override public int compareTo(FqdnSelector o) { return toString().compareTo(o.toString()); }

    /** {@code matchName=example.com.} or {@code matchPattern=*.example.com.}: stable, for text output and CLI keys. */
    @Override public String toString() {
        return matchName.isEmpty() ? "matchPattern=" + matchPattern : "matchName=" + matchName;
    }

    /** Plain words for explain and trace. */
    public String describe() {
        return matchName.isEmpty() ? "names matching " + matchPattern : "name " + matchName;
    }
}
