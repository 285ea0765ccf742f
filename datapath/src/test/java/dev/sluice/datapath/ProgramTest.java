package dev.sluice.datapath;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.bpf.BpfObject;
import dev.sluice.bpf.RingBufferReader;
import dev.sluice.bpf.TestRun;
import dev.sluice.bpf.TypedMap;
import dev.sluice.datapath.maps.FlowEvent;
import dev.sluice.datapath.maps.EndpointInfo;
import dev.sluice.datapath.maps.EndpointKey;
import dev.sluice.datapath.maps.IpcacheKey;
import dev.sluice.datapath.maps.IpcacheValue;
import dev.sluice.datapath.maps.MetricsKey;
import dev.sluice.datapath.maps.MetricsValue;
import dev.sluice.datapath.maps.NodeConfig;
import dev.sluice.net.Cidr;
import dev.sluice.net.Ip;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * BPF_PROG_TEST_RUN of the pod and uplink programs on crafted packets: forwarding decisions, L2
 * rewrite, anti-spoofing and the drop counters and events. Test runs happen on the loopback device
 * (ifindex 1), so the "pod" endpoints below sit on ifindex 1.
 */
@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: network namespaces, BPF, netlink")
class ProgramTest {
    static final int TC_ACT_OK = 0, TC_ACT_SHOT = 2, TC_ACT_REDIRECT = 7;
    static final String A_IP = "10.0.0.5", B_IP = "10.0.0.6", REMOTE_IP = "10.0.1.9", NODE2 = "172.30.0.12";
    static final String A_MAC = "0a:00:00:00:00:05", B_MAC = "0a:00:00:00:00:06", LXC_A = "0e:00:00:00:00:05", LXC_B = "0e:00:00:00:00:06";

    BpfObject lxc, netdev;
    TypedMap<EndpointKey, EndpointInfo> endpoints;
    TypedMap<IpcacheKey, IpcacheValue> ipcache;

    @BeforeEach
    void load() {
        lxc = BpfObject.open(DatapathLayoutTest.obj("bpf_lxc.o"), BpfObject.OpenOptions.defaults());
        lxc.load();
        netdev = BpfObject.open(DatapathLayoutTest.obj("bpf_netdev.o"), BpfObject.OpenOptions.defaults());
        netdev.load();
        endpoints = lxc.map("sl_endpoints").typed(EndpointKey.CODEC, EndpointInfo.CODEC);
        ipcache = lxc.map("sl_ipcache").typed(IpcacheKey.CODEC, IpcacheValue.CODEC);
        endpoints.put(new EndpointKey(Ip.parse(A_IP)), new EndpointInfo(1, 300, 11, 0, A_MAC, LXC_A));
        endpoints.put(new EndpointKey(Ip.parse(B_IP)), new EndpointInfo(1, 301, 12, 0, B_MAC, LXC_B));
        ipcache.put(new IpcacheKey(Cidr.parse("10.0.1.0/24")), new IpcacheValue(2, Ip.parse(NODE2), IpcacheValue.POD_CIDR));
        config(lxc, 0);
    }

    void config(BpfObject o, int flags) {
        o.map("sl_config").typed(NodeConfig.KEY, NodeConfig.CODEC).put(0, new NodeConfig(Ip.parse("172.30.0.11"), 1, flags, 1));
    }

    @AfterEach
    void close() {
        lxc.close();
        netdev.close();
    }

    TestRun.Result run(BpfObject o, String prog, byte[] frame) {
        return o.program(prog).testRun(TestRun.Input.of(frame));
    }

    long count(BpfObject o, int reason, int dir, int endpoint) {
        return o.map("sl_metrics").typed(MetricsKey.CODEC, MetricsValue.CODEC).getPerCpu(new MetricsKey(reason, dir, endpoint))
                .map(l -> l.stream().mapToLong(MetricsValue::packets).sum()).orElse(0L);
    }

    @Test
    void podToLocalPodIsRedirectedWithRewrittenMacs() {
        byte[] f = Packets.ipv4(A_MAC, LXC_A, A_IP, B_IP, 6, 40000, 80, 0);
        var r = run(lxc, "from_container", f);
        assertThat(r.retval()).isEqualTo(TC_ACT_REDIRECT);
        assertThat(Packets.dstMac(r.dataOut())).isEqualTo(B_MAC);
        assertThat(Packets.srcMac(r.dataOut())).isEqualTo(LXC_B);
        assertThat(count(lxc, 0, 2, 11)).isEqualTo(1);
    }

    @Test
    void spoofedSourceIsDroppedCountedAndReported() {
        List<FlowEvent> events = new ArrayList<>();
        try (var rb = new RingBufferReader(lxc.map("sl_events"), seg -> events.add(FlowEvent.read(seg)))) {
            var r = run(lxc, "from_container", Packets.ipv4(A_MAC, LXC_A, "10.0.0.99", B_IP, 17, 5000, 53, 0));
            assertThat(r.retval()).isEqualTo(TC_ACT_SHOT);
            rb.poll(100);
        }
        assertThat(count(lxc, DropReason.INVALID_SOURCE.code, 2, 0)).isEqualTo(1);
        assertThat(events).singleElement().satisfies(e -> {
            assertThat(e.reason()).isEqualTo(DropReason.INVALID_SOURCE.code);
            assertThat(Ip.format(e.saddr())).isEqualTo("10.0.0.99");
            assertThat(Ip.format(e.daddr())).isEqualTo(B_IP);
            assertThat(e.protocol()).isEqualTo(17);
            assertThat(e.dport()).isEqualTo(53);
        });
    }

    @Test
    void aForgedSourceIsCountedAgainstTheEndpointBehindTheInterface() {
        lxc.map("sl_lxc").typed(dev.sluice.datapath.maps.LxcInfo.KEY, dev.sluice.datapath.maps.LxcInfo.CODEC)
                .put(1, new dev.sluice.datapath.maps.LxcInfo(11, 300));
        assertThat(run(lxc, "from_container", Packets.ipv4(A_MAC, LXC_A, "10.0.0.99", B_IP, 6, 1, 80, 0)).retval()).isEqualTo(TC_ACT_SHOT);
        assertThat(count(lxc, DropReason.INVALID_SOURCE.code, 2, 11)).isEqualTo(1);
    }

    @Test
    void anEndpointsAddressFromAnotherInterfaceIsSpoofed() {
        // A's address sent from the interface of endpoint 12: spoofed, and counted against 12, the sender
        endpoints.put(new EndpointKey(Ip.parse(A_IP)), new EndpointInfo(77, 300, 11, 0, A_MAC, LXC_A));
        lxc.map("sl_lxc").typed(dev.sluice.datapath.maps.LxcInfo.KEY, dev.sluice.datapath.maps.LxcInfo.CODEC)
                .put(1, new dev.sluice.datapath.maps.LxcInfo(12, 301));
        var r = run(lxc, "from_container", Packets.ipv4(A_MAC, LXC_A, A_IP, B_IP, 6, 40000, 80, 0));
        assertThat(r.retval()).isEqualTo(TC_ACT_SHOT);
        assertThat(count(lxc, DropReason.INVALID_SOURCE.code, 2, 12)).isEqualTo(1);
    }

    @Test
    void remotePodInNativeModeGoesToTheStack() {
        var r = run(lxc, "from_container", Packets.ipv4(A_MAC, LXC_A, A_IP, REMOTE_IP, 6, 40000, 80, 0));
        assertThat(r.retval()).isEqualTo(TC_ACT_OK);
    }

    @Test
    void remotePodInTunnelModeIsRedirectedToTheTunnel() {
        config(lxc, NodeConfig.TUNNEL);
        var r = run(lxc, "from_container", Packets.ipv4(A_MAC, LXC_A, A_IP, REMOTE_IP, 17, 40000, 53, 0));
        assertThat(r.retval()).isEqualTo(TC_ACT_REDIRECT);
        assertThat(count(lxc, 0, 2, 11)).isEqualTo(1);
    }

    @Test
    void arpPassesIpv6AndGarbageAreDroppedWithTheirReasons() {
        assertThat(run(lxc, "from_container", Packets.ethernet(Packets.ETH_P_ARP, 28)).retval()).isEqualTo(TC_ACT_OK);
        assertThat(run(lxc, "from_container", Packets.ethernet(Packets.ETH_P_IPV6, 40)).retval()).isEqualTo(TC_ACT_SHOT);
        assertThat(count(lxc, DropReason.UNSUPPORTED_L3.code, 2, 0)).isEqualTo(1);
        byte[] badIhl = Packets.ipv4(A_MAC, LXC_A, A_IP, B_IP, 6, 1, 80, 0);
        badIhl[14] = 0x44; // IPv4 header length of 16 bytes: below the minimum of 20
        assertThat(run(lxc, "from_container", badIhl).retval()).isEqualTo(TC_ACT_SHOT);
        assertThat(count(lxc, DropReason.INVALID_PACKET.code, 2, 0)).isEqualTo(1);
    }

    @Test
    void toContainerPassesOnlyToTheEndpointBehindTheInterface() {
        assertThat(run(lxc, "to_container", Packets.ipv4(LXC_B, B_MAC, REMOTE_IP, B_IP, 6, 1, 80, 0)).retval()).isEqualTo(TC_ACT_OK);
        assertThat(count(lxc, 0, 1, 12)).isEqualTo(1);
        assertThat(run(lxc, "to_container", Packets.ipv4(LXC_B, B_MAC, REMOTE_IP, "10.0.0.77", 6, 1, 80, 0)).retval()).isEqualTo(TC_ACT_SHOT);
        assertThat(count(lxc, DropReason.UNKNOWN_ENDPOINT.code, 1, 0)).isEqualTo(1);
    }

    @Test
    void uplinkDeliversToLocalPodsAndLeavesTheRestToTheNode() {
        var nd = netdev.map("sl_endpoints").typed(EndpointKey.CODEC, EndpointInfo.CODEC);
        nd.put(new EndpointKey(Ip.parse(B_IP)), new EndpointInfo(1, 301, 12, 0, B_MAC, LXC_B));
        var r = run(netdev, "from_netdev", Packets.ipv4("02:00:00:00:00:12", "02:00:00:00:00:11", REMOTE_IP, B_IP, 6, 1, 80, 0));
        assertThat(r.retval()).isEqualTo(TC_ACT_REDIRECT);
        assertThat(Packets.dstMac(r.dataOut())).isEqualTo(B_MAC);
        assertThat(run(netdev, "from_netdev", Packets.ipv4("02:00:00:00:00:12", "02:00:00:00:00:11", REMOTE_IP, "172.30.0.11", 6, 1, 22, 0))
                .retval()).isEqualTo(TC_ACT_OK);
    }
}
