package dev.sluice.datapath;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.bpf.BpfObject;
import dev.sluice.bpf.TestRun;
import dev.sluice.bpf.TypedMap;
import dev.sluice.datapath.maps.EndpointInfo;
import dev.sluice.datapath.maps.EndpointKey;
import dev.sluice.datapath.maps.IpcacheKey;
import dev.sluice.datapath.maps.IpcacheValue;
import dev.sluice.datapath.maps.MetricsKey;
import dev.sluice.datapath.maps.MetricsValue;
import dev.sluice.datapath.maps.NodeConfig;
import dev.sluice.datapath.maps.PolicyCidrKey;
import dev.sluice.datapath.maps.PolicyEntryKey;
import dev.sluice.datapath.maps.PolicyEntryValue;
import dev.sluice.net.Cidr;
import dev.sluice.net.Ip;
import dev.sluice.policymap.PolicyMaps;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * BPF_PROG_TEST_RUN of policy enforcement in the pod programs: allow, deny, deny over allow, port
 * ranges, replies of an allowed flow, fragments, CIDR rules and audit mode. Endpoint A (id 11,
 * identity 300) sends; endpoint B (id 12, identity 301) receives; both on ifindex 1.
 */
@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: network namespaces, BPF, netlink")
class PolicyProgramTest {
    static final int OK = 0, SHOT = 2, REDIRECT = 7, TCP = 6, UDP = 17;
    static final String A = "10.0.0.5", B = "10.0.0.6", AM = "0a:00:00:00:00:05", BM = "0a:00:00:00:00:06";

    BpfObject lxc;
    TypedMap<EndpointKey, EndpointInfo> endpoints;
    TypedMap<PolicyEntryKey, PolicyEntryValue> policy;

    @BeforeEach
    void load() {
        lxc = BpfObject.open(DatapathLayoutTest.obj("bpf_lxc.o"), BpfObject.OpenOptions.defaults());
        lxc.load();
        endpoints = lxc.map("sl_endpoints").typed(EndpointKey.CODEC, EndpointInfo.CODEC);
        policy = lxc.map("sl_policy").typed(PolicyEntryKey.CODEC, PolicyEntryValue.CODEC);
        lxc.map("sl_config").typed(NodeConfig.KEY, NodeConfig.CODEC).put(0, new NodeConfig(Ip.parse("172.30.0.11"), 1, 0, 1));
        var ipc = lxc.map("sl_ipcache").typed(IpcacheKey.CODEC, IpcacheValue.CODEC);
        ipc.put(new IpcacheKey(Cidr.parse(A + "/32")), new IpcacheValue(300, 0, 0));
        ipc.put(new IpcacheKey(Cidr.parse(B + "/32")), new IpcacheValue(301, 0, 0));
        endpoint(A, 11, 300, AM, 0);
        endpoint(B, 12, 301, BM, 0);
    }

    @AfterEach
    void close() { lxc.close(); }

    void endpoint(String ip, int id, int identity, String mac, int flags) {
        endpoints.put(new EndpointKey(Ip.parse(ip)), new EndpointInfo(1, identity, id, flags, mac, "0e:00:00:00:00:01"));
    }

    void rule(int ep, int dir, int identity, int proto, int port, int prefix, int verdict) {
        policy.put(new PolicyEntryKey(ep, new PolicyMaps.Key(dir, identity, proto, port, prefix)), new PolicyEntryValue(verdict, 7));
    }

    int egress(int proto, int sport, int dport) {
        return lxc.program("from_container").testRun(TestRun.Input.of(Packets.ipv4(AM, "0e:00:00:00:00:01", A, B, proto, sport, dport, 0))).retval();
    }

    int ingress(String src, String dst, int proto, int sport, int dport, int frag) {
        return lxc.program("to_container").testRun(TestRun.Input.of(Packets.ipv4("0e:00:00:00:00:01", BM, src, dst, proto, sport, dport, frag))).retval();
    }

    long count(int reason, int dir, int ep) {
        return lxc.map("sl_metrics").typed(MetricsKey.CODEC, MetricsValue.CODEC).getPerCpu(new MetricsKey(reason, dir, ep))
                .map(l -> l.stream().mapToLong(MetricsValue::packets).sum()).orElse(0L);
    }

    @Test
    void enforcedEgressAllowsOnlyWhatARuleAllows() {
        endpoint(A, 11, 300, AM, PolicyMaps.F_EGRESS_ENFORCED);
        rule(11, PolicyMaps.EGRESS, 301, TCP, 80, 24, PolicyMaps.ALLOW);
        assertThat(egress(TCP, 40000, 80)).isEqualTo(REDIRECT);
        assertThat(egress(TCP, 40001, 81)).isEqualTo(SHOT);
        assertThat(egress(UDP, 40002, 80)).isEqualTo(SHOT);
        assertThat(count(DropReason.POLICY.code, PolicyMaps.EGRESS, 11)).isEqualTo(2);
    }

    @Test
    void unenforcedDirectionPassesAndDenyStillWins() {
        assertThat(egress(TCP, 40000, 80)).isEqualTo(REDIRECT);
        rule(11, PolicyMaps.EGRESS, 0, TCP, 0, 8, PolicyMaps.DENY);   // deny TCP to anyone, any port
        assertThat(egress(TCP, 40003, 443)).isEqualTo(SHOT);
        assertThat(count(DropReason.POLICY_DENY.code, PolicyMaps.EGRESS, 11)).isEqualTo(1);
        // the flow opened before the deny is cut too: policy applies to every packet it sends
        assertThat(egress(TCP, 40000, 80)).isEqualTo(SHOT);
    }

    @Test
    void denyForAnyPeerBeatsAllowForTheIdentity() {
        endpoint(B, 12, 301, BM, PolicyMaps.F_INGRESS_ENFORCED);
        rule(12, PolicyMaps.INGRESS, 300, TCP, 0, 8, PolicyMaps.ALLOW);
        rule(12, PolicyMaps.INGRESS, 0, TCP, 8080, 24, PolicyMaps.DENY);
        assertThat(ingress(A, B, TCP, 1000, 80, 0)).isEqualTo(OK);
        assertThat(ingress(A, B, TCP, 1001, 8080, 0)).isEqualTo(SHOT);
    }

    @Test
    void portRangePrefixes() {
        endpoint(B, 12, 301, BM, PolicyMaps.F_INGRESS_ENFORCED);
        rule(12, PolicyMaps.INGRESS, 300, TCP, 80, 22, PolicyMaps.ALLOW);  // 80-83
        assertThat(ingress(A, B, TCP, 1000, 79, 0)).isEqualTo(SHOT);
        assertThat(ingress(A, B, TCP, 1001, 80, 0)).isEqualTo(OK);
        assertThat(ingress(A, B, TCP, 1002, 83, 0)).isEqualTo(OK);
        assertThat(ingress(A, B, TCP, 1003, 84, 0)).isEqualTo(SHOT);
    }

    @Test
    void repliesOfAnAllowedFlowPassEvenWhereTheReverseIsDenied() {
        // A may open to B:80; B's egress and A's ingress are enforced with no rule at all
        endpoint(A, 11, 300, AM, PolicyMaps.F_EGRESS_ENFORCED | PolicyMaps.F_INGRESS_ENFORCED);
        rule(11, PolicyMaps.EGRESS, 301, UDP, 53, 24, PolicyMaps.ALLOW);
        assertThat(egress(UDP, 5353, 53)).isEqualTo(REDIRECT);
        // the reply B:53 -> A:5353 arrives at A's to_container: CT says reply, so it passes
        assertThat(ingress(B, A, UDP, 53, 5353, 0)).isEqualTo(OK);
        // the same ports the other way round, unsolicited, do not
        assertThat(ingress(B, A, UDP, 53, 5354, 0)).isEqualTo(SHOT);
    }

    int ingress(String src, String dst, int proto, int sport, int dport, int frag, int ipId) {
        return lxc.program("to_container").testRun(TestRun.Input.of(Packets.ipv4("0e:00:00:00:00:01", BM, src, dst, proto, sport, dport, frag, ipId))).retval();
    }

    @Test
    void nonFirstFragmentsTakeTheirFirstFragmentsPortsOrPassOnlyAnAllPortsRule() {
        endpoint(B, 12, 301, BM, PolicyMaps.F_INGRESS_ENFORCED);
        rule(12, PolicyMaps.INGRESS, 300, UDP, 53, 24, PolicyMaps.ALLOW);
        assertThat(ingress(A, B, UDP, 1000, 53, 0x2000, 7)).isEqualTo(OK);     // first fragment (MF set) has ports
        assertThat(ingress(A, B, UDP, 0, 0, 0x0010, 7)).isEqualTo(OK);         // its next fragment: port 53 from the first
        assertThat(ingress(A, B, UDP, 0, 0, 0x0010, 8)).isEqualTo(SHOT);       // a datagram whose first fragment was never seen
        assertThat(count(DropReason.FRAGMENT.code, PolicyMaps.INGRESS, 12)).isEqualTo(1);
        rule(12, PolicyMaps.INGRESS, 300, UDP, 0, 8, PolicyMaps.ALLOW);
        assertThat(ingress(A, B, UDP, 0, 0, 0x0010, 8)).isEqualTo(OK);
    }

    @Test
    void cidrRulesMatchByAddressWithExceptions() {
        endpoint(B, 12, 301, BM, PolicyMaps.F_INGRESS_ENFORCED);
        var cidr = lxc.map("sl_policy_cidr").typed(PolicyCidrKey.CODEC, PolicyCidrKey.VALUE);
        int set = PolicyMaps.CIDR_SET_BASE + 1;
        cidr.put(new PolicyCidrKey(12, PolicyMaps.INGRESS, Cidr.parse("10.0.0.0/16")), set);
        cidr.put(new PolicyCidrKey(12, PolicyMaps.INGRESS, Cidr.parse("10.0.0.0/29")), 0);   // except 10.0.0.0/29
        rule(12, PolicyMaps.INGRESS, set, TCP, 80, 24, PolicyMaps.ALLOW);
        assertThat(ingress("10.0.3.3", B, TCP, 1000, 80, 0)).isEqualTo(OK);
        assertThat(ingress(A, B, TCP, 1001, 80, 0)).isEqualTo(SHOT);          // 10.0.0.5 is in the exception
        assertThat(ingress("10.1.0.1", B, TCP, 1002, 80, 0)).isEqualTo(SHOT);
    }

    @Test
    void auditModeForwardsAndCountsWouldBeDrops() {
        endpoint(B, 12, 301, BM, PolicyMaps.F_INGRESS_ENFORCED | PolicyMaps.F_AUDIT);
        assertThat(ingress(A, B, TCP, 1000, 80, 0)).isEqualTo(OK);
        assertThat(count(145, PolicyMaps.INGRESS, 12)).isEqualTo(1);
        assertThat(count(DropReason.POLICY.code, PolicyMaps.INGRESS, 12)).isZero();
    }

    @Test
    void pendingOrOverflowingEndpointsDropEverything() {
        endpoint(B, 12, 301, BM, PolicyMaps.F_PENDING);
        assertThat(ingress(A, B, TCP, 1000, 80, 0)).isEqualTo(SHOT);
        endpoint(B, 12, 301, BM, PolicyMaps.F_OVERFLOW);
        assertThat(ingress(A, B, TCP, 1001, 80, 0)).isEqualTo(SHOT);
        assertThat(count(142, PolicyMaps.INGRESS, 12)).isEqualTo(1);
        assertThat(count(143, PolicyMaps.INGRESS, 12)).isEqualTo(1);
    }

    @Test
    void theNodeAlwaysReachesItsPods() {
        endpoint(B, 12, 301, BM, PolicyMaps.F_INGRESS_ENFORCED);
        lxc.map("sl_ipcache").typed(IpcacheKey.CODEC, IpcacheValue.CODEC)
                .put(new IpcacheKey(Cidr.parse("172.30.0.11/32")), new IpcacheValue(1, 0, 1));
        assertThat(ingress("172.30.0.11", B, TCP, 1000, 80, 0)).isEqualTo(OK);
    }
}
