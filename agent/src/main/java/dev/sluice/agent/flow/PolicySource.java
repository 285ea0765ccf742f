package dev.sluice.agent.flow;

import dev.sluice.policymap.PolicyMaps;
import java.util.List;
import java.util.Optional;

/**
 * What the agent knows about the policy it programmed, for attribution: nothing here computes a
 * verdict again, it only looks up what produced the entry the data path reports having matched.
 */
public interface PolicySource {
    /** The origins ({@code Kind ns/name path}) of the entry endpoint {@code endpointId} holds under {@code key}; empty when it holds none. */
    Optional<List<String>> entryOrigins(int endpointId, PolicyMaps.Key key);

    /** The origins a rule id stands for (an entry rewritten since the event: its id still names its rules). */
    List<String> ruleOrigins(int ruleId);

    /**
     * The policies ({@code Kind ns/name}) that select the endpoint in {@code direction}
     * (PolicyMaps.INGRESS/EGRESS): those that put it under default deny there.
     */
    List<String> isolating(int endpointId, int direction);

    PolicySource NONE = new PolicySource() {
        public Optional<List<String>> entryOrigins(int endpointId, PolicyMaps.Key key) { return Optional.empty(); }
        public List<String> ruleOrigins(int ruleId) { return List.of(); }
        public List<String> isolating(int endpointId, int direction) { return List.of(); }
    };
}
