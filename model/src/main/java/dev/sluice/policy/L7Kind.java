package dev.sluice.policy;

/**
 * Which proxy a {@link Verdict#REDIRECT} entry sends traffic to: the HTTP proxy (rules.http) or the
 * DNS proxy (rules.dns). {@link #NONE} for ALLOW and DENY entries. The data path's
 * {@code policy_value.l7} ({@code enum sl_l7} in bpf/lib/policy.h) carries the same three values.
 */
public enum L7Kind {
    NONE, HTTP, DNS;

    public String word() { return name().toLowerCase(); }
}
