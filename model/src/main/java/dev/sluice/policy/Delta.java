package dev.sluice.policy;

import java.util.List;

/**
 * What changed for one endpoint: entries to add (or overwrite) and entries to remove, plus the
 * endpoint's policy now (identity, enforcement flags), or null when the endpoint is gone.
 */
public record Delta(List<Entry> added, List<Entry> removed, EndpointPolicy current) {
    public record Entry(PolicyKey key, PolicyValue value) {}

    public Delta {
        added = List.copyOf(added);
        removed = List.copyOf(removed);
    }

    public boolean isEmpty() { return added.isEmpty() && removed.isEmpty(); }
}
