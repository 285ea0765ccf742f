package dev.sluice.policy;

/** Traffic direction as seen from the endpoint a policy selects. */
public enum Direction {
    INGRESS, EGRESS;

    public String word() { return name().toLowerCase(); }
}
