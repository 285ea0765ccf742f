package dev.sluice.k8s;

import java.util.Map;
import java.util.Set;

/** The resource kinds Sluice reads, with the apiVersions each accepts and whether it is namespaced. */
public final class Kinds {
    private Kinds() {}

    public record Kind(String name, Set<String> apiVersions, boolean namespaced) {}

    public static final String NAMESPACE = "Namespace";
    public static final String NODE = "Node";
    public static final String POD = "Pod";
    public static final String SERVICE = "Service";
    public static final String ENDPOINT_SLICE = "EndpointSlice";
    public static final String NETWORK_POLICY = "NetworkPolicy";
    public static final String CILIUM_NETWORK_POLICY = "CiliumNetworkPolicy";
    public static final String CILIUM_CLUSTERWIDE_NETWORK_POLICY = "CiliumClusterwideNetworkPolicy";
    public static final String CILIUM_LB_IP_POOL = "CiliumLoadBalancerIPPool";
    public static final String CILIUM_L2_ANNOUNCEMENT_POLICY = "CiliumL2AnnouncementPolicy";

    public static final Map<String, Kind> ALL = Map.of(
            NAMESPACE, new Kind(NAMESPACE, Set.of("v1"), false),
            NODE, new Kind(NODE, Set.of("v1"), false),
            POD, new Kind(POD, Set.of("v1"), true),
            SERVICE, new Kind(SERVICE, Set.of("v1"), true),
            ENDPOINT_SLICE, new Kind(ENDPOINT_SLICE, Set.of("discovery.k8s.io/v1"), true),
            NETWORK_POLICY, new Kind(NETWORK_POLICY, Set.of("networking.k8s.io/v1"), true),
            CILIUM_NETWORK_POLICY, new Kind(CILIUM_NETWORK_POLICY, Set.of("cilium.io/v2"), true),
            CILIUM_CLUSTERWIDE_NETWORK_POLICY, new Kind(CILIUM_CLUSTERWIDE_NETWORK_POLICY, Set.of("cilium.io/v2"), false),
            CILIUM_LB_IP_POOL, new Kind(CILIUM_LB_IP_POOL, Set.of("cilium.io/v2alpha1", "cilium.io/v2"), false),
            CILIUM_L2_ANNOUNCEMENT_POLICY, new Kind(CILIUM_L2_ANNOUNCEMENT_POLICY, Set.of("cilium.io/v2alpha1"), false));
}
