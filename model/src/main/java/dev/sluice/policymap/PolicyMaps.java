package dev.sluice.policymap;

import dev.sluice.net.Cidr;
import dev.sluice.policy.Direction;
import dev.sluice.policy.L7Kind;
import dev.sluice.policy.PolicyKey;
import dev.sluice.policy.PolicyState;
import dev.sluice.policy.PolicyValue;
import dev.sluice.policy.PortRange;
import dev.sluice.policy.Verdict;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Translates one endpoint's compiled policy ({@link PolicyState}) into the entries of the data
 * path's two longest-prefix-match maps (bpf/lib/policy.h). Pure and deterministic.
 *
 * <p>The data path looks up the peer's identity, "any peer", and the CIDR-set identity of the
 * peer's address, and a DENY from any of them wins over a REDIRECT, which wins over an ALLOW. An
 * LPM lookup only returns its longest match, so every prefix written here carries the combined
 * verdict of all entries covering it; and every address prefix carries the one CIDR-set identity
 * standing for exactly the CIDR entries (minus their exceptions) that contain it.
 */
public final class PolicyMaps {
    public static final int INGRESS = 1, EGRESS = 2;
    /** Verdict codes; a larger one wins (a REDIRECT over an ALLOW: an L7 rule is not bypassed by a wider L4 allow). */
    public static final int ALLOW = 1, REDIRECT = 2, DENY = 3;
    /** policy_value.l7: the proxy of a REDIRECT entry. */
    public static final int L7_NONE = 0, L7_HTTP = 1, L7_DNS = 2;
    /** endpoint_info.flags */
    public static final int F_INGRESS_ENFORCED = 0x01, F_EGRESS_ENFORCED = 0x02, F_AUDIT = 0x04, F_PENDING = 0x08, F_OVERFLOW = 0x10;
    /** CIDR-set identities are local to an endpoint's map and never seen on the wire. */
    public static final int CIDR_SET_BASE = 0x7f000000;

    /**
     * One sl_policy entry: {@code prefixLength} counts bits over protocol (8) then port (16):
     * 0 = any protocol, 8 = any port of {@code protocol}, 24 = exactly {@code port}.
     */
    public record Key(int direction, int identity, int protocol, int port, int prefixLength) implements Comparable<Key> {
        int bits() { return (protocol << 16) | port; }

        boolean covers(Key k) {
            if (k.direction != direction || k.identity != identity || prefixLength > k.prefixLength) return false;
            int mask = prefixLength == 0 ? 0 : (-1 << (24 - prefixLength)) & 0xffffff;
            return (bits() & mask) == (k.bits() & mask);
        }

        @Override public int compareTo(Key o) {
            int c = Integer.compare(direction, o.direction);
            if (c == 0) c = Integer.compareUnsigned(identity, o.identity);
            if (c == 0) c = Integer.compare(bits(), o.bits());
            return c != 0 ? c : Integer.compare(prefixLength, o.prefixLength);
        }
    }

    /** {@code l7} is {@link #L7_HTTP} or {@link #L7_DNS} for a REDIRECT, else {@link #L7_NONE}. */
    public record Value(int verdict, int l7, List<String> origins) {
        /**
         * A value read back without its proxy: a REDIRECT defaults to {@link #L7_HTTP}. Only for
         * values whose l7 is not known; {@link #compile} always sets it from the state.
         */
        public Value(int verdict, List<String> origins) { this(verdict, verdict == REDIRECT ? L7_HTTP : L7_NONE, origins); }
    }

    /** One sl_policy_cidr entry. */
    public record CidrKey(int direction, Cidr prefix) implements Comparable<CidrKey> {
        @Override public int compareTo(CidrKey o) {
            int c = Integer.compare(direction, o.direction);
            return c != 0 ? c : prefix.compareTo(o.prefix);
        }
    }

    /** Everything the data path holds for one endpoint. {@code cidrs} values are CIDR-set identities (0 = none). */
    public record EndpointMaps(int flags, Map<Key, Value> entries, Map<CidrKey, Integer> cidrs) {
        public int size() { return entries.size() + cidrs.size(); }
    }

    private PolicyMaps() {}

    public static int direction(Direction d) { return d == Direction.INGRESS ? INGRESS : EGRESS; }

    /** policy_value.l7 of a model value's proxy. */
    public static int l7(L7Kind k) {
        return switch (k) {
            case NONE -> L7_NONE;
            case HTTP -> L7_HTTP;
            case DNS -> L7_DNS;
        };
    }

    public static int verdict(Verdict v) {
        return switch (v) {
            case REDIRECT -> REDIRECT;
            case ALLOW -> ALLOW;
            case DENY -> DENY;
        };
    }

    public static EndpointMaps compile(PolicyState state) {
        int flags = (state.ingressEnforced() ? F_INGRESS_ENFORCED : 0) | (state.egressEnforced() ? F_EGRESS_ENFORCED : 0)
                | (state.audit() ? F_AUDIT : 0);
        // Raw entries per (direction, identity), before combining.
        Map<Key, List<Value>> raw = new TreeMap<>();
        Map<CidrKey, Integer> cidrs = new TreeMap<>();
        List<Map.Entry<PolicyKey, PolicyValue>> cidrEntries = new ArrayList<>();
        for (var e : state.entries().entrySet()) {
            if (e.getKey().isCidr()) cidrEntries.add(e);
            else addRaw(raw, direction(e.getKey().direction()), e.getKey().identity(), e.getKey(), e.getValue());
        }
        for (int dir : new int[] {INGRESS, EGRESS}) {
            List<Map.Entry<PolicyKey, PolicyValue>> mine = cidrEntries.stream().filter(e -> direction(e.getKey().direction()) == dir).toList();
            if (mine.isEmpty()) continue;
            Set<Cidr> prefixes = new TreeSet<>();
            for (var e : mine) {
                prefixes.add(e.getKey().cidr());
                prefixes.addAll(e.getKey().except());
            }
            // Entries that differ only in their CIDR decide alike where they match: a set names the first
            // of each such group, so the /32s of one toFQDNs rule share one CIDR-set identity and one
            // sl_policy entry per port prefix instead of one per address.
            int[] canon = new int[mine.size()];
            Map<List<Object>, Integer> firstOf = new HashMap<>();
            for (int i = 0; i < mine.size(); i++) {
                PolicyKey k = mine.get(i).getKey();
                canon[i] = firstOf.computeIfAbsent(List.of(k.protocol(), k.ports(), mine.get(i).getValue()), x -> firstOf.size());
            }
            List<Integer> reps = new ArrayList<>();
            for (int i = 0; i < mine.size(); i++) if (canon[i] == reps.size()) reps.add(i);
            // An address's longest prefix p decides: entry e matches it iff e's CIDR contains p and no exception does.
            // Only entries whose CIDR is p or one of its supernets can contain p: at most 33 lookups per
            // prefix, not a scan of every entry (a toFQDNs rule brings one /32 entry per learned address).
            Map<Cidr, List<Integer>> byCidr = new HashMap<>();
            for (int i = 0; i < mine.size(); i++) byCidr.computeIfAbsent(mine.get(i).getKey().cidr(), x -> new ArrayList<>()).add(i);
            Map<List<Integer>, Integer> setIds = new LinkedHashMap<>();
            for (Cidr p : prefixes) {
                TreeSet<Integer> groups = new TreeSet<>();
                for (int len = 0; len <= p.prefixLength(); len++) {
                    List<Integer> at = byCidr.get(new Cidr(p.network() & Cidr.mask(len), len));
                    if (at == null) continue;
                    for (int i : at)
                        if (mine.get(i).getKey().except().stream().noneMatch(x -> x.contains(p))) groups.add(canon[i]);
                }
                List<Integer> members = new ArrayList<>();
                for (int g : groups) members.add(reps.get(g));
                int id = 0;
                if (!members.isEmpty()) {
                    id = setIds.computeIfAbsent(members, m -> CIDR_SET_BASE + setIds.size() + 1);
                }
                cidrs.put(new CidrKey(dir, p), id);
            }
            for (var s : setIds.entrySet())
                for (int i : s.getKey()) addRaw(raw, dir, s.getValue(), mine.get(i).getKey(), mine.get(i).getValue());
        }
        return new EndpointMaps(flags, combine(raw), cidrs);
    }

    private static void addRaw(Map<Key, List<Value>> raw, int dir, int identity, PolicyKey k, PolicyValue v) {
        Value val = new Value(verdict(v.verdict()), l7(v.l7()), v.origins());
        if (k.protocol() == 0) {
            raw.computeIfAbsent(new Key(dir, identity, 0, 0, 0), x -> new ArrayList<>()).add(val);
            return;
        }
        List<PortRange.PortPrefix> ports = k.ports().isAny() ? List.of(new PortRange.PortPrefix(0, 0)) : k.ports().prefixes();
        for (PortRange.PortPrefix pp : ports)
            raw.computeIfAbsent(new Key(dir, identity, k.protocol(), pp.port(), 8 + pp.prefixLength()), x -> new ArrayList<>()).add(val);
    }

    /**
     * Every prefix gets the strongest verdict among the entries covering it, with their origins.
     * Redirects to two different proxies covering one prefix cannot be written as one value: they
     * become a DENY (fail closed). {@link PolicyState} already puts a DENY over every such overlap,
     * so this only guards the invariant.
     */
    private static Map<Key, Value> combine(Map<Key, List<Value>> raw) {
        Map<Key, Value> out = new TreeMap<>();
        Map<Long, List<Key>> groups = new HashMap<>();
        for (Key k : raw.keySet()) groups.computeIfAbsent(((long) k.direction() << 32) | Integer.toUnsignedLong(k.identity()), g -> new ArrayList<>()).add(k);
        for (List<Key> group : groups.values()) {
            for (Key k : group) {
                int best = 0, l7 = L7_NONE;
                boolean conflict = false;
                Set<String> origins = new TreeSet<>();
                for (Key c : group) {
                    if (!c.covers(k)) continue;
                    for (Value v : raw.get(c)) {
                        if (v.verdict() > best) {
                            best = v.verdict();
                            l7 = L7_NONE;
                            conflict = false;
                            origins.clear();
                        }
                        if (v.verdict() == best) {
                            origins.addAll(v.origins());
                            if (l7 != L7_NONE && v.l7() != l7) conflict = true;
                            l7 = v.l7();
                        }
                    }
                }
                out.put(k, conflict ? new Value(DENY, L7_NONE, List.copyOf(origins)) : new Value(best, l7, List.copyOf(origins)));
            }
        }
        return out;
    }

    /** A stable id for a set of rule origins, for the map value (monitor and trace resolve it back). */
    public static int ruleId(List<String> origins) {
        int h = String.join("\n", origins).hashCode();
        return h & 0x7fffffff;
    }

    /** Text rendering for tests and {@code sluice bpf policy get}. */
    public static String render(EndpointMaps m) {
        var sb = new StringBuilder("flags:");
        if ((m.flags() & F_INGRESS_ENFORCED) != 0) sb.append(" ingress-enforced");
        if ((m.flags() & F_EGRESS_ENFORCED) != 0) sb.append(" egress-enforced");
        if ((m.flags() & F_AUDIT) != 0) sb.append(" audit");
        sb.append('\n');
        for (var e : m.entries().entrySet()) {
            Key k = e.getKey();
            sb.append(k.direction() == INGRESS ? "ingress" : "egress").append(" identity=").append(Integer.toUnsignedString(k.identity()))
                    .append(' ').append(l4(k)).append(" -> ").append(word(e.getValue().verdict()))
                    .append(e.getValue().verdict() == REDIRECT ? " l7=" + l7Word(e.getValue().l7()) : "").append('\n');
        }
        for (var e : m.cidrs().entrySet())
            sb.append(e.getKey().direction() == INGRESS ? "ingress" : "egress").append(" cidr=").append(e.getKey().prefix())
                    .append(" -> identity=").append(Integer.toUnsignedString(e.getValue())).append('\n');
        return sb.toString();
    }

    public static String l4(Key k) {
        if (k.prefixLength() == 0) return "any";
        String proto = switch (k.protocol()) { case 6 -> "TCP"; case 17 -> "UDP"; case 132 -> "SCTP"; case 1 -> "ICMP"; default -> "proto" + k.protocol(); };
        if (k.prefixLength() == 8) return proto + "/any";
        int len = k.prefixLength() - 8;
        return len == 16 ? proto + "/" + k.port() : proto + "/" + k.port() + "-" + (k.port() | ((1 << (16 - len)) - 1));
    }

    public static String l7Word(int l7) {
        return switch (l7) { case L7_HTTP -> "http"; case L7_DNS -> "dns"; case L7_NONE -> "none"; default -> "l7:" + l7; };
    }

    public static String word(int verdict) {
        return switch (verdict) { case DENY -> "deny"; case ALLOW -> "allow"; case REDIRECT -> "redirect"; default -> "none"; };
    }
}
