package dev.sluice.policy;

import dev.sluice.selector.LabelSelector;
import java.util.List;

/**
 * One compiled rule, the common form of Kubernetes and Cilium rules: who it applies to (subject),
 * the direction, whether it allows or denies, its peers and ports. A rule with no peers and no
 * {@code anyPeer} allows nothing; a {@code marker} rule only turns on default deny for its
 * direction (Kubernetes policyTypes, Cilium's rule sections and enableDefaultDeny).
 *
 * <p>Identity equality on purpose: rules are rebuilt when their policy changes, and the engine
 * keys caches by the rule objects an endpoint is selected by.
 */
public final class Rule {
    /** Who a rule applies to: pods in one namespace ("" = cluster-wide) matching a selector. */
    public record Subject(String namespace, LabelSelector selector, boolean cilium, boolean nodes) {}

    final String policy;
    final String origin;
    final Direction direction;
    final boolean deny;
    final boolean marker;
    final Subject subject;
    final boolean anyPeer;
    final List<Peer> peers;
    final List<PortSpec> ports;

    Rule(String policy, String path, Direction direction, boolean deny, boolean marker, Subject subject,
         boolean anyPeer, List<Peer> peers, List<PortSpec> ports) {
        this.policy = policy;
        this.origin = policy + " " + path;
        this.direction = direction;
        this.deny = deny;
        this.marker = marker;
        this.subject = subject;
        this.anyPeer = anyPeer;
        this.peers = List.copyOf(peers);
        this.ports = List.copyOf(ports);
    }

    public String policy() { return policy; }
    public String origin() { return origin; }
    public Direction direction() { return direction; }
    public boolean deny() { return deny; }
    public boolean marker() { return marker; }
    public Subject subject() { return subject; }
    public boolean anyPeer() { return anyPeer; }
    public List<Peer> peers() { return peers; }
    public List<PortSpec> ports() { return ports; }

    boolean hasNamedPort() {
        for (PortSpec p : ports) if (p.named()) return true;
        return false;
    }

    /** Plain words, e.g. "allows from pods with pod=b in namespace x on TCP port 80". */
    public String describe() {
        if (marker) return "default deny for " + direction.word();
        String verb = deny ? "denies" : "allows";
        String dir = direction == Direction.INGRESS ? "from" : "to";
        String who = anyPeer ? "any peer" : peers.isEmpty() ? "nothing" : String.join("; ", peers.stream().map(Peer::describe).toList());
        String on = ports.isEmpty() ? "on any port" : "on " + String.join(", ", ports.stream().map(PortSpec::describe).toList());
        return verb + " " + dir + " " + who + " " + on;
    }

    @Override public String toString() { return origin + ": " + describe(); }
}
