package dev.sluice.agent.flow;

import java.time.Instant;
import java.util.List;

/**
 * Something the agent did, as Hubble's GetAgentEvents reports it ({@code flow.AgentEvent}): it
 * started, a policy came or went, an endpoint was created or deleted, a service frontend was
 * written or removed. Plain records: the gRPC side turns them into Hubble's messages.
 */
public sealed interface AgentEvent {
    Instant time();

    /** AGENT_STARTED. */
    record Started(Instant time) implements AgentEvent {}

    /**
     * POLICY_UPDATED, or POLICY_DELETED: a policy object, named by Cilium's policy labels.
     *
     * @param revision the cluster state's generation that carried the change
     * @param ruleCount the object's rules (a CiliumNetworkPolicy's {@code specs}, else 1)
     */
    record Policy(Instant time, boolean deleted, String kind, String namespace, String name, long revision, int ruleCount)
            implements AgentEvent {
        /** As Cilium labels the rules it derives from a policy object. */
        public List<String> labels() {
            List<String> l = new java.util.ArrayList<>(List.of("k8s:io.cilium.k8s.policy.derived-from=" + kind,
                    "k8s:io.cilium.k8s.policy.name=" + name));
            if (!namespace.isEmpty()) l.add("k8s:io.cilium.k8s.policy.namespace=" + namespace);
            return l;
        }
    }

    /** ENDPOINT_CREATED, or ENDPOINT_DELETED: a local pod's endpoint. */
    record Endpoint(Instant time, boolean deleted, long id, String namespace, String podName, List<String> labels) implements AgentEvent {
        public Endpoint { labels = List.copyOf(labels); }
    }

    /** SERVICE_UPSERTED: a frontend (its id is the rev NAT id flows name) with its backends as written. */
    record ServiceUpsert(Instant time, int id, Address frontend, List<Address> backends, String type, String namespace, String name)
            implements AgentEvent {
        public ServiceUpsert { backends = List.copyOf(backends); }
    }

    /** SERVICE_DELETED. */
    record ServiceDelete(Instant time, int id) implements AgentEvent {}

    record Address(String ip, int port) {
        /** {@code 10.96.0.10:80} or {@code 10.96.0.10:80/TCP}. */
        public static Address parse(String s) {
            int slash = s.indexOf('/');
            String hp = slash < 0 ? s : s.substring(0, slash);
            int colon = hp.lastIndexOf(':');
            return new Address(hp.substring(0, colon), Integer.parseInt(hp.substring(colon + 1)));
        }
    }
}
