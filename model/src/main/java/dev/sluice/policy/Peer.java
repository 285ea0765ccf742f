package dev.sluice.policy;

import dev.sluice.net.Cidr;
import java.util.List;
import java.util.stream.Collectors;

/** One peer of a rule: any peer, identities chosen by a selector, an address block, or DNS names (toFQDNs). */
public sealed interface Peer {
    String describe();

    /** Any peer: a missing Kubernetes from/to, a Cilium L4-only rule, the entity {@code all}. */
    record Any() implements Peer {
        public String describe() { return "any peer"; }
    }

    record Selected(PeerSelector selector) implements Peer {
        public String describe() { return selector.describe(); }
    }

    /** An address block minus exceptions; matches any address in it, pod addresses included. */
    record Block(Cidr cidr, List<Cidr> except) implements Peer {
        public Block {
            except = List.copyOf(except.stream().sorted().toList());
        }
        public String describe() {
            return "addresses in " + cidr + (except.isEmpty() ? "" : " except " + except.stream().map(Cidr::toString).collect(Collectors.joining(", ")));
        }
    }

    /**
     * Cilium's toFQDNs: the addresses the agent's FQDN cache learned for names matching the
     * selector, each a /32 CIDR entry; none learned = nothing allowed. Egress allow rules only.
     */
    record Fqdn(FqdnSelector selector) implements Peer {
        public String describe() { return "DNS " + selector.describe() + " (learned addresses)"; }
    }
}
