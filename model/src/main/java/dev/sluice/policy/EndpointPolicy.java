package dev.sluice.policy;

/**
 * The compiled policy of one endpoint: its name ({@code ns/pod}), its security identity and the
 * (possibly shared) {@link PolicyState}.
 */
public record EndpointPolicy(String endpoint, int identity, PolicyState state) {}
