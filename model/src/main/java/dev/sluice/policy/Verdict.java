package dev.sluice.policy;

/** What a policy map entry does with matching traffic. */
public enum Verdict {
    ALLOW, DENY,
    /** Allowed at L4 and redirected to the L7 proxy, which applies the entry's HTTP rules. */
    REDIRECT;

    public String word() { return name().toLowerCase(); }
}
