package dev.sluice.policy;

import dev.sluice.identity.Identity;
import java.util.List;
import java.util.SortedMap;

/** A snapshot of the engine's output: every endpoint's policy (by {@code ns/pod}) and all identities. */
public record PolicyResult(SortedMap<String, EndpointPolicy> endpoints, List<Identity> identities) {
    public PolicyResult {
        endpoints = java.util.Collections.unmodifiableSortedMap(endpoints);
        identities = List.copyOf(identities);
    }
}
