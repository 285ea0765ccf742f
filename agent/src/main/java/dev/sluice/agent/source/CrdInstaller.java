package dev.sluice.agent.source;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * Creates the Cilium CRDs Sluice reads (deploy/crds, packaged in the agent) when the cluster has
 * none, so CiliumNetworkPolicy and CiliumLoadBalancerIPPool objects can be written without Cilium.
 * A CRD that exists is never changed: a Cilium install owns its own, and Sluice's are compatible
 * with it. Every agent runs this at start; when several create the same CRD at once, the losers'
 * "already exists" is success.
 *
 * <p>This is the agent's only write to the API besides those Cilium's agent makes too. RBAC
 * (ClusterRole rules): {@code apiextensions.k8s.io customresourcedefinitions: get, create} — get to
 * see whether each exists, create when it does not. No update, patch or delete: an existing CRD is
 * left as it is.
 */
public final class CrdInstaller {
    private static final Logger log = LoggerFactory.getLogger(CrdInstaller.class);
    /** The CRD files, as packaged from deploy/crds. */
    public static final List<String> FILES = List.of("ciliumnetworkpolicies.yaml", "ciliumclusterwidenetworkpolicies.yaml",
            "ciliumloadbalancerippools.yaml", "ciliuml2announcementpolicies.yaml");

    /** What happened to one CRD. */
    public record Outcome(String crd, boolean created) {}

    static final String PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";

    private final KubeApi api;

    public CrdInstaller(KubeApi api) { this.api = api; }

    /** Creates each absent CRD; returns, for each, whether it was created now. */
    public List<Outcome> install() {
        List<Outcome> out = new ArrayList<>();
        for (JsonNode crd : definitions()) {
            String name = crd.path("metadata").path("name").asString();
            try {
                api.get(PATH + "/" + name);
                out.add(new Outcome(name, false));
                continue;
            } catch (KubeApi.ApiException e) {
                if (e.code() != 404) throw new KubeApi.ApiException(e.code(), "CRD " + name + ": cannot read: " + KubernetesSource.describe(e)
                        + " (expected: RBAC get on customresourcedefinitions)", e);
            }
            try {
                api.create(PATH, crd);
                log.info("created CRD {}", name);
                out.add(new Outcome(name, true));
            } catch (KubeApi.ApiException e) {
                if (e.code() != 409) throw new KubeApi.ApiException(e.code(), "CRD " + name + ": cannot create: " + KubernetesSource.describe(e)
                        + " (expected: RBAC create on customresourcedefinitions)", e);
                out.add(new Outcome(name, false)); // another agent created it first
            }
        }
        return out;
    }

    /** The CRDs as packaged. */
    public static List<JsonNode> definitions() {
        List<JsonNode> out = new ArrayList<>();
        YAMLMapper yaml = new YAMLMapper();
        for (String f : FILES) {
            try (InputStream in = CrdInstaller.class.getResourceAsStream("/dev/sluice/agent/crds/" + f)) {
                if (in == null) throw new IllegalStateException("CRD " + f + ": not packaged (expected: deploy/crds/" + f + " in the agent jar)");
                out.add(yaml.readTree(in));
            } catch (IOException e) {
                throw new UncheckedIOException("CRD " + f + ": cannot read: " + e.getMessage(), e);
            }
        }
        return out;
    }
}
