package dev.sluice.agent.l2;

import dev.sluice.agent.source.KubeApi;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Optional;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * Leases in the Kubernetes API ({@code /apis/coordination.k8s.io/v1/namespaces/NS/leases}), as
 * client-go's leader election writes them: spec.holderIdentity, leaseDurationSeconds, acquireTime
 * and renewTime (MicroTime, microseconds), leaseTransitions. RBAC: get, create, update on leases
 * in {@code namespace}.
 */
public final class KubeLeaseStore implements LeaseStore {
    /** Where Cilium keeps its L2 announcement leases: its own namespace, kube-system by default. */
    public static final String NAMESPACE = "kube-system";
    static final DateTimeFormatter MICRO_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSSX").withZone(ZoneOffset.UTC);

    private final KubeApi api;
    private final String path;

    public KubeLeaseStore(KubeApi api, String namespace) {
        this.api = api;
        this.path = "/apis/coordination.k8s.io/v1/namespaces/" + namespace + "/leases";
    }

    @Override public Optional<Lease> get(String name) {
        try {
            return Optional.of(read(api.get(path + "/" + name)));
        } catch (KubeApi.ApiException e) {
            if (e.code() == 404) return Optional.empty();
            throw e;
        }
    }

    @Override public Lease create(Lease lease) {
        try {
            return read(api.create(path, body(lease)));
        } catch (KubeApi.ApiException e) {
            if (e.code() == 409) throw new Conflict("lease " + lease.name() + ": created by another node first");
            throw e;
        }
    }

    @Override public Lease update(Lease lease) {
        try {
            return read(api.replace(path + "/" + lease.name(), body(lease)));
        } catch (KubeApi.ApiException e) {
            if (e.code() == 409) throw new Conflict("lease " + lease.name() + ": written by another node since it was read");
            throw e;
        }
    }

    static ObjectNode body(Lease l) {
        ObjectNode o = JsonNodeFactory.instance.objectNode().put("apiVersion", "coordination.k8s.io/v1").put("kind", "Lease");
        ObjectNode m = o.putObject("metadata").put("name", l.name());
        if (!l.resourceVersion().isEmpty()) m.put("resourceVersion", l.resourceVersion());
        ObjectNode s = o.putObject("spec").put("holderIdentity", l.holder()).put("leaseDurationSeconds", l.durationSeconds())
                .put("leaseTransitions", l.transitions());
        if (l.acquireTime() != null) s.put("acquireTime", MICRO_TIME.format(l.acquireTime()));
        if (l.renewTime() != null) s.put("renewTime", MICRO_TIME.format(l.renewTime()));
        return o;
    }

    static Lease read(JsonNode o) {
        JsonNode s = o.path("spec");
        return new Lease(o.path("metadata").path("name").asString(), s.path("holderIdentity").asString(""),
                s.path("leaseDurationSeconds").asInt(0), time(s.path("acquireTime")), time(s.path("renewTime")),
                s.path("leaseTransitions").asInt(0), o.path("metadata").path("resourceVersion").asString(""));
    }

    private static Instant time(JsonNode n) {
        if (!n.isString() || n.asString().isEmpty()) return null;
        try {
            return Instant.parse(n.asString());
        } catch (RuntimeException e) {
            return null;
        }
    }
}
