package dev.sluice.policy;

/**
 * One entry of a CiliumNetworkPolicy {@code toPorts[].rules.dns}: the DNS proxy lets a query
 * through when its name matches {@code matchName} exactly or {@code matchPattern} (exactly one is
 * set; both canonical: lower case with the trailing dot, or {@code *} alone). Names follow
 * {@link DnsNames}: compared in lower case as fully qualified names; '*' in a pattern matches
 * within one label; {@code *} alone matches every name. {@link #ANY} is what an L4 allow of the
 * same port adds (every name, still proxied so names are learned).
 */
public record DnsRule(String matchName, String matchPattern) implements Comparable<DnsRule> {
    public static final DnsRule ANY = new DnsRule("", "*");

    public DnsRule {
        matchName = matchName == null ? "" : matchName;
        matchPattern = matchPattern == null ? "" : matchPattern;
        if (matchName.isEmpty() == matchPattern.isEmpty())
            throw new IllegalArgumentException("DNS rule: matchName \"" + matchName + "\", matchPattern \"" + matchPattern + "\" (expected: exactly one)");
        String bad = DnsNames.problem(matchName.isEmpty() ? matchPattern : matchName, matchName.isEmpty());
        if (bad != null) throw new IllegalArgumentException((matchName.isEmpty() ? "matchPattern: " : "matchName: ") + bad);
        if (!matchName.isEmpty()) matchName = DnsNames.canonical(matchName);
        else matchPattern = DnsNames.canonical(matchPattern);
    }

    public static DnsRule name(String n) { return new DnsRule(n, ""); }

    public static DnsRule pattern(String p) { return new DnsRule("", p); }

    /** Whether a query for {@code name} (any case, with or without the trailing dot) is allowed by this rule. */
    public boolean matches(String name) {
        if (!matchName.isEmpty()) return matchName.equals(DnsNames.normalise(name));
        return DnsNames.matches(matchPattern, name);
    }

    @Override public int compareTo(DnsRule o) { return toString().compareTo(o.toString()); }

    @Override public String toString() {
        return matchName.isEmpty() ? "dns{matchPattern=" + matchPattern + "}" : "dns{matchName=" + matchName + "}";
    }
}
