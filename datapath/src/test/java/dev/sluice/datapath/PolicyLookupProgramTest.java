package dev.sluice.datapath;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.bpf.BpfObject;
import dev.sluice.bpf.TestRun;
import dev.sluice.datapath.maps.EndpointInfo;
import dev.sluice.datapath.maps.EndpointKey;
import dev.sluice.datapath.maps.IpcacheKey;
import dev.sluice.datapath.maps.IpcacheValue;
import dev.sluice.datapath.maps.NodeConfig;
import dev.sluice.datapath.maps.PolicyCidrKey;
import dev.sluice.datapath.maps.PolicyEntryKey;
import dev.sluice.datapath.maps.PolicyEntryValue;
import dev.sluice.net.Cidr;
import dev.sluice.net.Ip;
import dev.sluice.policy.Direction;
import dev.sluice.policy.PolicyKey;
import dev.sluice.policy.PolicyState;
import dev.sluice.policy.PolicyValue;
import dev.sluice.policy.PortRange;
import dev.sluice.policy.Verdict;
import dev.sluice.policymap.PolicyLookup;
import dev.sluice.policymap.PolicyMaps;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * {@link PolicyLookup}, what {@code sluice policy replay} asks, decides every packet as the kernel
 * does: a random ingress policy of endpoint B (id 12, identity 301) compiled as the agent writes it,
 * then BPF_PROG_TEST_RUN of to_container with new flows from peers of known identities (ipcache)
 * and from addresses outside the cluster (world, matched by CIDR rules), each compared with the
 * Java lookup. Seeded; the seed is printed.
 */
@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: BPF")
class PolicyLookupProgramTest {
    static final int OK = 0, SHOT = 2;
    static final String B = "10.0.0.6", BM = "0a:00:00:00:00:06";
    /** Peers: address and the identity the ipcache gives it. */
    static final String[] PEERS = {"10.0.0.5", "10.0.0.7"};
    static final int[] PEER_IDS = {300, 302};
    static final int[] IDS = {0, 2, 300, 302};
    static final String[] CIDRS = {"10.0.0.0/16", "10.0.1.0/24", "10.0.1.128/25", "10.0.2.0/24", "10.0.0.0/8", "10.0.1.7/32"};

    @RepeatedTest(8)
    void theKernelDecidesEveryPacketAsPolicyLookup() {
        long seed = System.nanoTime();
        System.out.println("PolicyLookupProgramTest seed=" + seed);
        var r = new SplittableRandom(seed);
        PolicyMaps.EndpointMaps maps = PolicyMaps.compile(random(r));
        try (BpfObject lxc = BpfObject.open(DatapathLayoutTest.obj("bpf_lxc.o"), BpfObject.OpenOptions.defaults())) {
            lxc.load();
            lxc.map("sl_config").typed(NodeConfig.KEY, NodeConfig.CODEC).put(0, new NodeConfig(Ip.parse("172.30.0.11"), 1, 0, 1));
            var ipc = lxc.map("sl_ipcache").typed(IpcacheKey.CODEC, IpcacheValue.CODEC);
            for (int i = 0; i < PEERS.length; i++) ipc.put(new IpcacheKey(Cidr.parse(PEERS[i] + "/32")), new IpcacheValue(PEER_IDS[i], 0, 0));
            ipc.put(new IpcacheKey(Cidr.parse(B + "/32")), new IpcacheValue(301, 0, 0));
            lxc.map("sl_endpoints").typed(EndpointKey.CODEC, EndpointInfo.CODEC)
                    .put(new EndpointKey(Ip.parse(B)), new EndpointInfo(1, 301, 12, maps.flags(), BM, "0e:00:00:00:00:01"));
            var policy = lxc.map("sl_policy").typed(PolicyEntryKey.CODEC, PolicyEntryValue.CODEC);
            maps.entries().forEach((k, v) -> policy.put(new PolicyEntryKey(12, k), new PolicyEntryValue(v.verdict(), 7, k.prefixLength())));
            var cidr = lxc.map("sl_policy_cidr").typed(PolicyCidrKey.CODEC, PolicyCidrKey.VALUE);
            maps.cidrs().forEach((k, id) -> cidr.put(new PolicyCidrKey(12, k.direction(), k.prefix()), id));
            for (int i = 0; i < 150; i++) {
                int pick = r.nextInt(4);
                String src = pick < 2 ? PEERS[pick] : Ip.format(Ip.parse("10.0.1.0") + r.nextInt(0x200));
                int identity = pick < 2 ? PEER_IDS[pick] : 2;
                int proto = r.nextBoolean() ? 6 : 17, port = 1 + r.nextInt(2700);
                var want = PolicyLookup.decide(maps, PolicyMaps.INGRESS, identity, Ip.parse(src), proto, port);
                int got = lxc.program("to_container").testRun(TestRun.Input.of(
                        Packets.ipv4("0e:00:00:00:00:01", BM, src, B, proto, 10000 + i, port, 0))).retval();
                assertThat(got).as("seed %d: from %s (identity %d) proto %d port %d: PolicyLookup says %s\n%s", seed, src, identity, proto, port,
                        want, PolicyMaps.render(maps)).isEqualTo(want.passes() ? OK : SHOT);
            }
        }
    }

    static PolicyState random(SplittableRandom r) {
        Map<PolicyKey, PolicyValue> entries = new TreeMap<>();
        for (int i = 0, n = r.nextInt(10); i < n; i++) {
            int proto = new int[] {0, 6, 17}[r.nextInt(3)];
            PortRange ports = PortRange.ANY;
            if (proto != 0 && r.nextInt(3) > 0) {
                int a = 1 + r.nextInt(2000);
                ports = new PortRange(a, Math.min(65535, r.nextInt(4) == 0 ? a : a + r.nextInt(600)));
            }
            PolicyKey k;
            if (r.nextInt(3) == 0) {
                Cidr c = Cidr.parse(CIDRS[r.nextInt(CIDRS.length)]);
                List<Cidr> except = new ArrayList<>();
                for (String x : CIDRS) if (r.nextInt(4) == 0 && Cidr.parse(x).prefixLength() > c.prefixLength() && c.contains(Cidr.parse(x))) except.add(Cidr.parse(x));
                k = new PolicyKey(Direction.INGRESS, 16777217 + i, c, except, proto, ports);
            } else {
                k = new PolicyKey(Direction.INGRESS, IDS[r.nextInt(IDS.length)], null, List.of(), proto, ports);
            }
            entries.put(k, new PolicyValue(Verdict.values()[r.nextInt(3)], List.of(), List.of("rule" + i)));
        }
        return new PolicyState(r.nextInt(4) > 0, false, false, entries, List.of("p"), List.of());
    }
}
