package dev.sluice.policy;

import dev.sluice.k8s.Protocol;
import java.util.List;

/**
 * One port of a rule before named ports are resolved. {@code protocol} null means any protocol
 * (Cilium's ANY); {@code name} non-empty means a named port resolved against the destination pod's
 * container ports; otherwise {@code range} (any port when {@link PortRange#isAny()}).
 * {@code http} non-empty makes matching traffic go to the L7 proxy with these rules.
 */
public record PortSpec(Protocol protocol, PortRange range, String name, List<HttpRule> http) {
    public PortSpec {
        http = List.copyOf(http.stream().sorted().toList());
    }

    public boolean named() { return !name.isEmpty(); }

    public String describe() {
        String p = protocol == null ? "any protocol" : protocol.name();
        String port = named() ? "port " + name : range.isAny() ? "any port" : "port " + range;
        return p + " " + port + (http.isEmpty() ? "" : " (L7: " + http + ")");
    }
}
