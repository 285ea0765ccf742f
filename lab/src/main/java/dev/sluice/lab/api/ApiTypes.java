package dev.sluice.lab.api;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * The resource types the lab's API server serves, and the discovery documents kubectl reads to
 * know them ({@code /api}, {@code /apis}, {@code /api/v1}, {@code /apis/GROUP/VERSION}).
 */
public final class ApiTypes {
    private ApiTypes() {}

    static final JsonMapper JSON = JsonMapper.builder().build();

    /**
     * One resource type.
     *
     * @param status whether it has a status subresource (then a write of the object keeps the
     *               stored status, and {@code .../status} writes only the status)
     */
    public record Type(String group, String version, String plural, String kind, boolean namespaced, boolean status, List<String> shortNames) {
        public String apiVersion() { return group.isEmpty() ? version : group + "/" + version; }

        /** The path prefix of this type's group and version: {@code /api/v1} or {@code /apis/GROUP/VERSION}. */
        public String root() { return group.isEmpty() ? "/api/" + version : "/apis/" + group + "/" + version; }

        /** Types that hold the same objects under several versions share one store. */
        public String storageKey() { return (group.isEmpty() ? "core" : group) + "/" + plural; }

        @Override public String toString() { return plural + (group.isEmpty() ? "" : "." + group); }
    }

    public static final List<Type> TYPES = List.of(
            new Type("", "v1", "namespaces", "Namespace", false, true, List.of("ns")),
            new Type("", "v1", "nodes", "Node", false, true, List.of("no")),
            new Type("", "v1", "pods", "Pod", true, true, List.of("po")),
            new Type("", "v1", "services", "Service", true, true, List.of("svc")),
            new Type("", "v1", "endpoints", "Endpoints", true, false, List.of("ep")),
            new Type("", "v1", "configmaps", "ConfigMap", true, false, List.of("cm")),
            new Type("", "v1", "serviceaccounts", "ServiceAccount", true, false, List.of("sa")),
            new Type("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", true, false, List.of()),
            new Type("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", true, false, List.of("netpol")),
            new Type("coordination.k8s.io", "v1", "leases", "Lease", true, false, List.of()),
            new Type("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", false, true, List.of("crd", "crds")),
            new Type("cilium.io", "v2", "ciliumnetworkpolicies", "CiliumNetworkPolicy", true, true, List.of("cnp", "ciliumnp")),
            new Type("cilium.io", "v2", "ciliumclusterwidenetworkpolicies", "CiliumClusterwideNetworkPolicy", false, true, List.of("ccnp")),
            new Type("cilium.io", "v2", "ciliumloadbalancerippools", "CiliumLoadBalancerIPPool", false, true, List.of("ippools", "ippool", "lbippool", "lbippools")),
            new Type("cilium.io", "v2alpha1", "ciliumloadbalancerippools", "CiliumLoadBalancerIPPool", false, true, List.of()),
            new Type("cilium.io", "v2alpha1", "ciliuml2announcementpolicies", "CiliumL2AnnouncementPolicy", false, true, List.of("l2announcement")));

    /** The type served at {@code /api/VERSION/PLURAL} or {@code /apis/GROUP/VERSION/PLURAL}. */
    public static Optional<Type> find(String group, String version, String plural) {
        return TYPES.stream().filter(t -> t.group.equals(group) && t.version.equals(version) && t.plural.equals(plural)).findFirst();
    }

    /** The type of a manifest's apiVersion and kind. */
    public static Optional<Type> ofKind(String apiVersion, String kind) {
        return TYPES.stream().filter(t -> t.apiVersion().equals(apiVersion) && t.kind.equals(kind)).findFirst();
    }

    /** The first type of a kind, whatever its version (for callers that name only the kind). */
    public static Optional<Type> ofKind(String kind) {
        return TYPES.stream().filter(t -> t.kind.equals(kind)).findFirst();
    }

    /** What {@code /version} answers: kubectl checks that the minor version parses. */
    static ObjectNode version() {
        ObjectNode v = JSON.createObjectNode();
        v.put("major", "1").put("minor", "32").put("gitVersion", "v1.32.0-sluice-lab").put("gitCommit", "").put("gitTreeState", "clean")
                .put("buildDate", "2026-01-01T00:00:00Z").put("goVersion", "").put("compiler", "sluice").put("platform", "linux/amd64");
        return v;
    }

    static ObjectNode apiVersions() {
        ObjectNode v = JSON.createObjectNode().put("kind", "APIVersions").put("apiVersion", "v1");
        v.putArray("versions").add("v1");
        v.putArray("serverAddressByClientCIDRs");
        return v;
    }

    static ObjectNode groupList() {
        Map<String, List<String>> groups = new LinkedHashMap<>();
        for (Type t : TYPES) {
            if (t.group.isEmpty()) continue;
            var vs = groups.computeIfAbsent(t.group, g -> new java.util.ArrayList<>());
            if (!vs.contains(t.version)) vs.add(t.version);
        }
        ObjectNode l = JSON.createObjectNode().put("kind", "APIGroupList").put("apiVersion", "v1");
        ArrayNode items = l.putArray("groups");
        groups.forEach((g, vs) -> {
            ObjectNode o = items.addObject().put("name", g);
            ArrayNode versions = o.putArray("versions");
            for (String v : vs) versions.addObject().put("groupVersion", g + "/" + v).put("version", v);
            o.putObject("preferredVersion").put("groupVersion", g + "/" + vs.getFirst()).put("version", vs.getFirst());
        });
        return l;
    }

    /** The resources of one group version; empty when none is served there. */
    static Optional<ObjectNode> resourceList(String group, String version) {
        List<Type> ts = TYPES.stream().filter(t -> t.group.equals(group) && t.version.equals(version)).toList();
        if (ts.isEmpty()) return Optional.empty();
        ObjectNode l = JSON.createObjectNode().put("kind", "APIResourceList").put("apiVersion", "v1")
                .put("groupVersion", ts.getFirst().apiVersion());
        ArrayNode rs = l.putArray("resources");
        for (Type t : ts) {
            ObjectNode r = rs.addObject().put("name", t.plural).put("singularName", t.kind.toLowerCase()).put("namespaced", t.namespaced)
                    .put("kind", t.kind);
            ArrayNode verbs = r.putArray("verbs");
            for (String v : List.of("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")) verbs.add(v);
            if (!t.shortNames.isEmpty()) {
                ArrayNode sn = r.putArray("shortNames");
                t.shortNames.forEach(sn::add);
            }
            if (t.status) {
                ObjectNode s = rs.addObject().put("name", t.plural + "/status").put("singularName", "").put("namespaced", t.namespaced)
                        .put("kind", t.kind);
                s.putArray("verbs").add("get").add("patch").add("update");
            }
        }
        return Optional.of(l);
    }
}
