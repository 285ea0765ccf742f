package dev.sluice.agent.flow;

import java.util.Optional;

/**
 * A policy named in a flow ({@code *_allowed_by}, {@code *_denied_by}), as Hubble's Policy message
 * names it: name, namespace ("" for clusterwide) and kind (NetworkPolicy, CiliumNetworkPolicy,
 * CiliumClusterwideNetworkPolicy).
 */
public record PolicyRef(String name, String namespace, String kind) implements Comparable<PolicyRef> {
    public PolicyRef {
        if (name == null || name.isEmpty()) throw new IllegalArgumentException("name: empty (expected: the policy's name)");
        namespace = namespace == null ? "" : namespace;
    }

    /**
     * The policy of an origin as the policy engine writes it ({@code Kind ns/name path} or
     * {@code Kind name path} for clusterwide kinds; the path may be absent); empty when the text is
     * not one.
     */
    public static Optional<PolicyRef> parse(String origin) {
        String[] parts = origin.strip().split(" ", 3);
        if (parts.length < 2 || parts[0].isEmpty() || parts[1].isEmpty()) return Optional.empty();
        String kind = parts[0], ref = parts[1];
        int slash = ref.indexOf('/');
        if (slash == 0 || slash == ref.length() - 1) return Optional.empty();
        return Optional.of(slash < 0 ? new PolicyRef(ref, "", kind) : new PolicyRef(ref.substring(slash + 1), ref.substring(0, slash), kind));
    }

    @Override public int compareTo(PolicyRef o) {
        int c = kind.compareTo(o.kind);
        if (c == 0) c = namespace.compareTo(o.namespace);
        return c != 0 ? c : name.compareTo(o.name);
    }

    @Override public String toString() { return kind + " " + (namespace.isEmpty() ? name : namespace + "/" + name); }
}
