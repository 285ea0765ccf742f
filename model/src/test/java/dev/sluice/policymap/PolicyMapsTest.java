package dev.sluice.policymap;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.net.Cidr;
import dev.sluice.net.Ip;
import dev.sluice.policy.Direction;
import dev.sluice.policy.DnsRule;
import dev.sluice.policy.L7Kind;
import dev.sluice.policy.NamedEgressPortTest;
import dev.sluice.policy.PolicyKey;
import dev.sluice.policy.PolicyState;
import dev.sluice.policy.PolicyValue;
import dev.sluice.policy.PortRange;
import dev.sluice.policy.Verdict;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

/**
 * The map entries, looked up the way bpf/lib/policy.h looks them up ({@link PolicyLookup}: longest
 * prefix per lookup, three lookups combined), decide every packet exactly as the engine's {@link PolicyState#decide}:
 * random states, and the engine's states for egress named ports (pod identities and addresses).
 */
class PolicyMapsTest {
    static final int[] IDS = {0, 300, 301, 302};
    static final int[] PROTOS = {0, 6, 17};
    /** Address blocks, and /32s as toFQDNs addresses become (some inside the blocks, some outside every block). */
    static final String[] CIDRS = {"10.0.0.0/16", "10.0.1.0/24", "10.0.1.128/25", "10.0.2.0/24", "10.0.0.0/8", "10.0.1.7/32",
            "10.0.2.9/32", "10.0.1.130/32", "10.2.0.1/32"};
    /** Addresses probed often: the /32s above and their neighbours. */
    static final String[] HOT = {"10.0.1.7", "10.0.1.8", "10.0.2.9", "10.0.1.130", "10.2.0.1", "10.2.0.2"};

    /** What the data path does with these maps ({@link PolicyLookup}): 0 drop, 1 pass, 2 to the HTTP proxy, 3 to the DNS proxy (the engine's "allowed at L4"). */
    static int datapath(PolicyMaps.EndpointMaps m, int dir, int peerId, int peerIp, int proto, int port) {
        var r = PolicyLookup.decide(m, dir, peerId, peerIp, proto, port);
        if (r.verdict() == PolicyMaps.REDIRECT) return r.l7() == PolicyMaps.L7_DNS ? 3 : r.l7() == PolicyMaps.L7_HTTP ? 2 : -1;
        return r.passes() ? 1 : 0;
    }

    static int model(PolicyState s, Direction d, int peerId, int peerIp, int proto, int port) {
        var dec = s.decide(d, peerId, peerIp, proto, port, null);
        if (!dec.allowed()) return 0;
        if (dec.verdict() == Verdict.REDIRECT) return dec.l7() == L7Kind.DNS ? 3 : 2;
        return 1;
    }

    static PolicyState random(SplittableRandom r) {
        Map<PolicyKey, PolicyValue> entries = new TreeMap<>();
        int n = r.nextInt(12);
        for (int i = 0; i < n; i++) {
            Direction d = r.nextBoolean() ? Direction.INGRESS : Direction.EGRESS;
            int proto = PROTOS[r.nextInt(PROTOS.length)];
            PortRange ports = PortRange.ANY;
            if (proto != 0 && r.nextInt(3) > 0) {
                int a = 1 + r.nextInt(2000), b = r.nextInt(4) == 0 ? a : a + r.nextInt(600);
                ports = new PortRange(a, Math.min(b, 65535));
            }
            Verdict v = Verdict.values()[r.nextInt(3)];
            PolicyKey k;
            if (r.nextInt(3) == 0) {
                Cidr c = Cidr.parse(CIDRS[r.nextInt(CIDRS.length)]);
                List<Cidr> except = new ArrayList<>();
                for (String x : CIDRS) if (r.nextInt(4) == 0 && Cidr.parse(x).prefixLength() > c.prefixLength() && c.contains(Cidr.parse(x))) except.add(Cidr.parse(x));
                k = new PolicyKey(d, 16777217 + i, c, except, proto, ports);
            } else {
                k = new PolicyKey(d, IDS[r.nextInt(IDS.length)], null, List.of(), proto, ports);
            }
            // a redirect goes to the HTTP or the DNS proxy: where both would meet, the state denies (fail closed)
            entries.put(k, v == Verdict.REDIRECT && r.nextBoolean() ? PolicyValue.dns(List.of(DnsRule.ANY), List.of("rule" + i))
                    : new PolicyValue(v, List.of(), List.of("rule" + i)));
        }
        return new PolicyState(r.nextBoolean(), r.nextBoolean(), false, entries, List.of("p"), List.of("p"));
    }

    @RepeatedTest(60)
    void dataPathLookupsDecideLikeTheEngine() {
        long seed = System.nanoTime();
        System.out.println("PolicyMapsTest seed=" + seed);
        var r = new SplittableRandom(seed);
        PolicyState s = random(r);
        PolicyMaps.EndpointMaps m = PolicyMaps.compile(s);
        for (int i = 0; i < 400; i++) {
            Direction d = r.nextBoolean() ? Direction.INGRESS : Direction.EGRESS;
            int peer = IDS[1 + r.nextInt(IDS.length - 1)];
            int ip = r.nextInt(3) == 0 ? Ip.parse(HOT[r.nextInt(HOT.length)]) : Ip.parse("10.0.0.0") + r.nextInt(0x30000);
            int proto = r.nextBoolean() ? 6 : 17;
            int port = 1 + r.nextInt(2700);
            assertThat(datapath(m, PolicyMaps.direction(d), peer, ip, proto, port))
                    .as("seed %d: %s peer %d %s proto %d port %d\n%s", seed, d, peer, Ip.format(ip), proto, port, PolicyMaps.render(m))
                    .isEqualTo(model(s, d, peer, ip, proto, port));
        }
    }

    @Test
    void rendersRangesAsPrefixesAndDenyShadowsAllow() {
        Map<PolicyKey, PolicyValue> e = new TreeMap<>();
        e.put(new PolicyKey(Direction.INGRESS, 300, null, List.of(), 6, new PortRange(80, 83)), new PolicyValue(Verdict.ALLOW, List.of(), List.of("allow-web")));
        e.put(new PolicyKey(Direction.INGRESS, 0, null, List.of(), 6, PortRange.of(81)), new PolicyValue(Verdict.DENY, List.of(), List.of("deny-81")));
        e.put(new PolicyKey(Direction.EGRESS, 0, Cidr.parse("10.0.0.0/8"), List.of(Cidr.parse("10.0.1.0/24")), 0, PortRange.ANY),
                new PolicyValue(Verdict.ALLOW, List.of(), List.of("egress-cidr")));
        var m = PolicyMaps.compile(new PolicyState(true, true, false, e, List.of(), List.of()));
        assertThat(PolicyMaps.render(m)).isEqualTo("""
                flags: ingress-enforced egress-enforced
                ingress identity=0 TCP/81 -> deny
                ingress identity=300 TCP/80-83 -> allow
                egress identity=2130706433 any -> allow
                egress cidr=10.0.0.0/8 -> identity=2130706433
                egress cidr=10.0.1.0/24 -> identity=0
                """);
        assertThat(datapath(m, PolicyMaps.INGRESS, 300, 0, 6, 81)).isZero();
        assertThat(datapath(m, PolicyMaps.INGRESS, 300, 0, 6, 82)).isEqualTo(1);
        assertThat(datapath(m, PolicyMaps.EGRESS, 999, Ip.parse("10.0.1.5"), 17, 53)).isZero();
        assertThat(datapath(m, PolicyMaps.EGRESS, 999, Ip.parse("10.0.2.5"), 17, 53)).isEqualTo(1);
    }

    @Test
    void egressNamedPortsDecideInTheMapsAsInTheEngine() {
        for (String policy : List.of("to-any.yaml", "to-cidr.yaml", "to-web.yaml", "deny-cidr.yaml")) {
            var engine = NamedEgressPortTest.engine(policy);
            PolicyState s = engine.endpoint("x/client").state();
            PolicyMaps.EndpointMaps m = PolicyMaps.compile(s);
            for (String to : NamedEgressPortTest.TO) {
                int[] peer = NamedEgressPortTest.peer(engine, to);
                for (int[] pr : NamedEgressPortTest.PROBES)
                    assertThat(datapath(m, PolicyMaps.EGRESS, peer[0], peer[1], pr[0], pr[1]))
                            .as("%s to %s proto %d port %d\n%s", policy, to, pr[0], pr[1], PolicyMaps.render(m))
                            .isEqualTo(model(s, Direction.EGRESS, peer[0], peer[1], pr[0], pr[1]));
            }
        }
    }
}
