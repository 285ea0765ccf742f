package dev.sluice.k8s;

import dev.sluice.net.Cidr;
import dev.sluice.net.Ip;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A CiliumLoadBalancerIPPool (cilium.io/v2alpha1 or v2): address blocks LoadBalancer Services get
 * their external address from. IPv6 blocks are accepted and skipped (the LB model is IPv4 only).
 *
 * @param name     the pool's name ("values" for the guide's {@code lbExternalIPPool.cidr})
 * @param blocks   IPv4 address ranges in declared order
 * @param disabled spec.disabled: no new allocations (existing ones are kept, as Cilium does)
 * @param selector spec.serviceSelector; matches every Service when empty
 */
public record LbIpPool(String name, List<Block> blocks, boolean disabled, ServiceSelector selector) {

    /** An inclusive range of IPv4 addresses, as unsigned ints. */
    public record Block(int first, int last) {
        public long size() { return Integer.toUnsignedLong(last) - Integer.toUnsignedLong(first) + 1; }
        public boolean contains(int ip) {
            return Integer.compareUnsigned(ip, first) >= 0 && Integer.compareUnsigned(ip, last) <= 0;
        }
        @Override public String toString() { return first == last ? Ip.format(first) : Ip.format(first) + "-" + Ip.format(last); }

        /** A CIDR block; all addresses usable unless first/last are reserved (allowFirstLastIPs: No). */
        public static Block of(Cidr c, boolean reserveFirstLast) {
            if (reserveFirstLast && c.prefixLength() < 31) return new Block(c.network() + 1, c.broadcast() - 1);
            return new Block(c.network(), c.broadcast());
        }
    }

    /**
     * A label selector over Services (matchLabels and matchExpressions), written here rather than
     * borrowed from the policy selectors because a pool only ever selects Services. As in Cilium,
     * the Service's namespace and name can be matched as {@code io.kubernetes.service.namespace} and
     * {@code io.kubernetes.service.name}.
     */
    public record ServiceSelector(Map<String, String> matchLabels, List<Expression> expressions) {
        public static final ServiceSelector ALL = new ServiceSelector(Map.of(), List.of());
        public record Expression(String key, String operator, List<String> values) {}

        public boolean matches(Service s) {
            Map<String, String> l = new java.util.HashMap<>(s.labels());
            l.put("io.kubernetes.service.namespace", s.namespace());
            l.put("io.kubernetes.service.name", s.name());
            for (var e : matchLabels.entrySet()) if (!e.getValue().equals(l.get(e.getKey()))) return false;
            for (Expression x : expressions) {
                String v = l.get(x.key());
                boolean ok = switch (x.operator()) {
                    case "In" -> v != null && x.values().contains(v);
                    case "NotIn" -> v == null || !x.values().contains(v);
                    case "Exists" -> v != null;
                    default -> v == null; // DoesNotExist
                };
                if (!ok) return false;
            }
            return true;
        }
    }

    public boolean contains(int ip) {
        for (Block b : blocks) if (b.contains(ip)) return true;
        return false;
    }

    public static LbIpPool decode(KubeObject o) {
        Node b = o.body();
        b.allowOnly("apiVersion", "kind", "metadata", "spec", "status");
        b.get("metadata").allowOnly(Pod.METADATA_FIELDS);
        Node spec = b.get("spec");
        if (spec.isNull()) throw b.error("spec", "missing (expected: an object with blocks)");
        spec.requireObject().allowOnly("blocks", "cidrs", "disabled", "serviceSelector", "allowFirstLastIPs");
        // Cilium: "Yes" or unset means the first and last address of a CIDR are allocatable.
        boolean reserve = spec.has("allowFirstLastIPs") && spec.get("allowFirstLastIPs").oneOf("Yes", "No").equals("No");
        // v2alpha1 called the list "cidrs"; both spellings are read.
        List<Node> list = new ArrayList<>(spec.list("blocks"));
        list.addAll(spec.list("cidrs"));
        List<Block> blocks = new ArrayList<>();
        for (Node n : list) {
            n.requireObject().allowOnly("cidr", "start", "stop");
            if (n.has("cidr")) {
                if (n.has("start") || n.has("stop")) throw n.error("start", "set beside cidr (expected: either cidr, or start and optionally stop)");
                String c = n.string("cidr");
                if (c.contains(":")) continue;
                try {
                    blocks.add(Block.of(Cidr.parse(c), reserve));
                } catch (IllegalArgumentException e) {
                    throw n.error("cidr", e.getMessage());
                }
            } else if (n.has("start")) {
                String start = n.string("start");
                String stop = n.string("stop", start);
                if (start.contains(":")) continue;
                if (!Ip.isIpv4(start)) throw n.error("start", start + " (expected: an IPv4 address)");
                if (!Ip.isIpv4(stop)) throw n.error("stop", stop + " (expected: an IPv4 address)");
                int a = Ip.parse(start), z = Ip.parse(stop);
                if (Integer.compareUnsigned(a, z) > 0) throw n.error("stop", stop + " (expected: not before start " + start + ")");
                blocks.add(new Block(a, z));
            } else {
                throw n.error("missing cidr or start (expected: {cidr: a.b.c.d/n} or {start: a.b.c.d, stop: a.b.c.d})");
            }
        }
        if (list.isEmpty()) throw spec.error("blocks", "missing or empty (expected: at least one block)");
        boolean disabled = spec.bool("disabled", false);
        return new LbIpPool(o.name(), List.copyOf(blocks), disabled, selector(spec.get("serviceSelector")));
    }

    private static ServiceSelector selector(Node n) {
        if (n.isNull()) return ServiceSelector.ALL;
        n.requireObject().allowOnly("matchLabels", "matchExpressions");
        Map<String, String> ml = n.stringMap("matchLabels");
        for (var e : ml.entrySet()) Labels.validate(n.get("matchLabels"), e.getKey(), e.getValue());
        List<ServiceSelector.Expression> xs = new ArrayList<>();
        for (Node x : n.list("matchExpressions")) {
            x.requireObject().allowOnly("key", "operator", "values");
            String key = x.string("key");
            if (!Labels.validKey(key)) throw x.error("key", key + " (expected: a label key)");
            String op = x.get("operator").oneOf("In", "NotIn", "Exists", "DoesNotExist");
            List<String> values = new ArrayList<>();
            for (Node v : x.list("values")) values.add(v.string());
            boolean set = op.equals("In") || op.equals("NotIn");
            if (set && values.isEmpty()) throw x.error("values", "empty (expected: at least one value for " + op + ")");
            if (!set && !values.isEmpty()) throw x.error("values", "set (expected: no values for " + op + ")");
            xs.add(new ServiceSelector.Expression(key, op, List.copyOf(values)));
        }
        return new ServiceSelector(ml, List.copyOf(xs));
    }
}
