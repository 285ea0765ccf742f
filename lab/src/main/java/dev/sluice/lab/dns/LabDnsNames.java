package dev.sluice.lab.dns;

import dev.sluice.BadInputException;
import dev.sluice.lab.ApiClusterStore;
import dev.sluice.lab.Lab;
import dev.sluice.lab.api.ApiClient;
import dev.sluice.lab.api.ApiError;
import java.util.List;
import java.util.Optional;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * {@code sluice lab dns set|list|delete}: the lab's external names in its API server. Each change is
 * one JSON merge patch of one key of the ConfigMap, so two changes at once never lose each other.
 */
public final class LabDnsNames {
    static final String PATH = "/api/v1/namespaces/" + ExternalNames.NAMESPACE + "/configmaps/" + ExternalNames.CONFIG_MAP;
    static final String MERGE = "application/merge-patch+json";
    private final Lab lab;

    public LabDnsNames(Lab lab) { this.lab = lab; }

    private ApiClient client() {
        if (lab.state().world().apiServer().isEmpty() || !(lab.store() instanceof ApiClusterStore s))
            throw new BadInputException("lab dns: lab " + lab.name() + " keeps its state in manifests (expected: a lab with the API server,"
                    + " `sluice lab up` without --api manifests; the cluster DNS reads the API)");
        return s.client();
    }

    /** Adds or replaces a name; returns it as stored. */
    public ClusterZone.External set(String name, String address, int ttl) {
        var e = new ClusterZone.External(ExternalNames.name(name), ExternalNames.address(address), ExternalNames.ttl(ttl));
        ApiClient c = client();
        ObjectNode patch = ExternalNames.JSON.createObjectNode();
        patch.putObject("data").put(e.name(), e.address() + " " + e.ttl());
        for (int attempt = 0; attempt < 3; attempt++) {
            var r = c.call("PATCH", PATH, patch, MERGE);
            if (r.ok()) return e;
            if (r.code() != 404) throw failure(r);
            var created = c.call("POST", "/api/v1/namespaces/" + ExternalNames.NAMESPACE + "/configmaps", ExternalNames.encode(List.of(e)), null);
            if (created.ok()) return e;
            if (created.code() != 409) throw failure(created);
        }
        throw new IllegalStateException("lab dns set: the ConfigMap " + ExternalNames.NAMESPACE + "/" + ExternalNames.CONFIG_MAP + " kept changing");
    }

    public List<ClusterZone.External> list() {
        var r = client().call("GET", PATH, null, null);
        if (r.code() == 404) return List.of();
        if (!r.ok()) throw failure(r);
        return ExternalNames.decode(r.body());
    }

    /** Removes a name; bad input naming the known ones when it is not there. */
    public ClusterZone.External delete(String name) {
        String n = ExternalNames.name(name);
        List<ClusterZone.External> have = list();
        Optional<ClusterZone.External> e = have.stream().filter(x -> x.name().equals(n)).findFirst();
        if (e.isEmpty())
            throw new BadInputException("NAME: " + name + " is not a name of lab " + lab.name() + " (expected one of: "
                    + (have.isEmpty() ? "none set; `sluice lab dns set NAME ADDRESS` adds one" : String.join(", ", have.stream().map(ClusterZone.External::name).toList())) + ")");
        ObjectNode patch = ExternalNames.JSON.createObjectNode();
        patch.putObject("data").putNull(n);
        var r = client().call("PATCH", PATH, patch, MERGE);
        if (!r.ok()) throw failure(r);
        return e.get();
    }

    private static RuntimeException failure(ApiClient.Reply r) {
        JsonNode b = r.body();
        return new ApiError(r.code(), b == null ? "" : b.path("reason").asString(""), b == null ? "" : b.path("message").asString(""));
    }
}
