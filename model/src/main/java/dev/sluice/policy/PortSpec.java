package dev.sluice.policy;

import dev.sluice.k8s.Protocol;
import java.util.List;

/**
 * One port of a rule before named ports are resolved. {@code protocol} null means any protocol
 * (Cilium's ANY); {@code name} non-empty means a named port resolved against the destination pod's
 * container ports; otherwise {@code range} (any port when {@link PortRange#isAny()}).
 * {@code l7} names the proxy matching traffic goes to: {@link L7Kind#HTTP} with the {@code http}
 * rules, {@link L7Kind#DNS} with the {@code dns} rules (never both: Cilium rejects two L7 kinds on
 * one port rule), {@link L7Kind#NONE} for plain L4.
 */
public record PortSpec(Protocol protocol, PortRange range, String name, L7Kind l7, List<HttpRule> http, List<DnsRule> dns) {
    public PortSpec {
        http = List.copyOf(http.stream().sorted().toList());
        dns = List.copyOf(dns.stream().sorted().distinct().toList());
        if (l7 == L7Kind.NONE ? !http.isEmpty() || !dns.isEmpty() : l7 == L7Kind.HTTP ? http.isEmpty() || !dns.isEmpty() : dns.isEmpty() || !http.isEmpty())
            throw new IllegalArgumentException("port rule: l7 " + l7 + " with " + http.size() + " HTTP and " + dns.size() + " DNS rules (expected: the rules of that kind only)");
    }

    /** A plain or HTTP port (L7 HTTP when {@code http} is non-empty). */
    public PortSpec(Protocol protocol, PortRange range, String name, List<HttpRule> http) {
        this(protocol, range, name, http.isEmpty() ? L7Kind.NONE : L7Kind.HTTP, http, List.of());
    }

    public boolean named() { return !name.isEmpty(); }

    public String describe() {
        String p = protocol == null ? "any protocol" : protocol.name();
        String port = named() ? "port " + name : range.isAny() ? "any port" : "port " + range;
        return p + " " + port + (l7 == L7Kind.HTTP ? " (L7: " + http + ")" : l7 == L7Kind.DNS ? " (L7: " + dns + ")" : "");
    }
}
