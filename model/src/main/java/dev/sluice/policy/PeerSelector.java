package dev.sluice.policy;

import dev.sluice.identity.IdentityLabels;
import dev.sluice.identity.Reserved;
import dev.sluice.selector.LabelSelector;

/**
 * A set of identities a rule names as peers, in a form the selector cache can evaluate against
 * identity labels alone. Equal selectors share one cache entry.
 *
 * @param kind      how to match: Kubernetes peer, Cilium endpoint selector, or Cilium entity
 * @param namespace restricts to one namespace ("" = any)
 * @param pods      pod label selector (Kubernetes: against pod labels; Cilium: against the flat
 *                  Cilium labels); null = any pod
 * @param namespaces Kubernetes namespaceSelector, against namespace labels; null = none given
 * @param entity    Cilium entity name for {@link Kind#ENTITY}
 */
public record PeerSelector(Kind kind, String namespace, LabelSelector pods, LabelSelector namespaces, String entity) {
    public enum Kind { K8S, CILIUM, ENTITY }

    public static PeerSelector k8s(String policyNamespace, LabelSelector pods, LabelSelector namespaces) {
        return new PeerSelector(Kind.K8S, namespaces == null ? policyNamespace : "", pods, namespaces, "");
    }

    public static PeerSelector cilium(String namespace, LabelSelector sel) {
        return new PeerSelector(Kind.CILIUM, namespace, sel, null, "");
    }

    public static PeerSelector entity(String name) {
        return new PeerSelector(Kind.ENTITY, "", null, null, name);
    }

    /** The one namespace this selector can match in, or "" when it may match in several. */
    public String fixedNamespace() {
        if (!namespace.isEmpty()) return namespace;
        if (kind == Kind.CILIUM && pods != null) {
            String ns = pods.matchLabels().get(IdentityLabels.NAMESPACE_KEY);
            if (ns != null) return ns;
        }
        return "";
    }

    public boolean matches(IdentityLabels l) {
        switch (kind) {
            case K8S -> {
                if (l.isReserved()) return false;
                if (namespaces != null ? !namespaces.matches(l.namespaceLabels()) : !namespace.equals(l.namespace())) return false;
                return pods == null || pods.matches(l.podLabels());
            }
            case CILIUM -> {
                if (!namespace.isEmpty() && !namespace.equals(l.namespace())) return false;
                return pods.matches(l.flat());
            }
            default -> {
                return switch (entity) {
                    case "all" -> true;
                    // Everything inside the cluster: every pod and every reserved identity but world.
                    case "cluster" -> !l.isReserved() || !l.reserved().equals(Reserved.WORLD.label);
                    default -> l.isReserved() && l.reserved().equals(entity);
                };
            }
        }
    }

    /** Plain words for explain and trace. */
    public String describe() {
        return switch (kind) {
            case K8S -> {
                String p = pods == null || pods.isEmpty() ? "all pods" : "pods with " + pods;
                String n = namespaces == null ? "in namespace " + namespace
                        : namespaces.isEmpty() ? "in all namespaces" : "in namespaces with " + namespaces;
                yield p + " " + n;
            }
            case CILIUM -> (pods.isEmpty() ? "all endpoints" : "endpoints with " + pods)
                    + (namespace.isEmpty() ? "" : " in namespace " + namespace);
            case ENTITY -> "entity " + entity;
        };
    }
}
