package dev.sluice.datapath;

import dev.sluice.bpf.Btf;
import dev.sluice.datapath.maps.FlowEvent;
import dev.sluice.datapath.maps.EndpointInfo;
import dev.sluice.datapath.maps.EndpointKey;
import dev.sluice.datapath.maps.IpcacheKey;
import dev.sluice.datapath.maps.IpcacheValue;
import dev.sluice.datapath.maps.MetricsKey;
import dev.sluice.datapath.maps.MetricsValue;
import dev.sluice.datapath.maps.NodeConfig;
import java.lang.foreign.MemoryLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every Java map record's layout equals its C struct, as the compiled objects' BTF states it. */
class DatapathLayoutTest {
    static Path obj(String name) {
        Path p = Path.of(System.getProperty("sluice.home", "."), "build/bpf", name);
        if (!Files.isRegularFile(p)) throw new IllegalStateException(p + " is missing (expected: run 'make bpf' first)");
        return p;
    }

    static Stream<Arguments> layouts() {
        return Stream.of(
                Arguments.of("bpf_lxc.o", "endpoint_key", EndpointKey.LAYOUT),
                Arguments.of("bpf_lxc.o", "endpoint_info", EndpointInfo.LAYOUT),
                Arguments.of("bpf_lxc.o", "lxc_info", dev.sluice.datapath.maps.LxcInfo.LAYOUT),
                Arguments.of("bpf_lxc.o", "ipcache_key", IpcacheKey.LAYOUT),
                Arguments.of("bpf_lxc.o", "policy_key", dev.sluice.datapath.maps.PolicyEntryKey.LAYOUT),
                Arguments.of("bpf_lxc.o", "policy_value", dev.sluice.datapath.maps.PolicyEntryValue.LAYOUT),
                Arguments.of("bpf_lxc.o", "policy_cidr_key", dev.sluice.datapath.maps.PolicyCidrKey.LAYOUT),
                Arguments.of("bpf_lxc.o", "ipcache_value", IpcacheValue.LAYOUT),
                Arguments.of("bpf_lxc.o", "node_config", NodeConfig.LAYOUT),
                Arguments.of("bpf_lxc.o", "metrics_key", MetricsKey.LAYOUT),
                Arguments.of("bpf_lxc.o", "metrics_value", MetricsValue.LAYOUT),
                Arguments.of("tests/layouts.o", "flow_event", FlowEvent.LAYOUT),
                Arguments.of("bpf_lxc.o", "ct4_key", dev.sluice.datapath.maps.CtKey.LAYOUT),
                Arguments.of("bpf_lxc.o", "ct_entry", dev.sluice.datapath.maps.CtEntry.LAYOUT),
                Arguments.of("bpf_lxc.o", "ct_limits", dev.sluice.datapath.maps.CtLimits.LAYOUT),
                Arguments.of("bpf_lxc.o", "nat4_entry", dev.sluice.datapath.maps.NatEntry.LAYOUT),
                Arguments.of("bpf_lxc.o", "lb4_key", dev.sluice.datapath.maps.LbServiceKey.LAYOUT),
                Arguments.of("bpf_lxc.o", "lb4_service", dev.sluice.datapath.maps.LbService.LAYOUT),
                Arguments.of("bpf_lxc.o", "lb4_backend", dev.sluice.datapath.maps.LbBackend.LAYOUT),
                Arguments.of("bpf_lxc.o", "lb4_slot_key", dev.sluice.datapath.maps.LbSlotKey.LAYOUT),
                Arguments.of("bpf_lxc.o", "lb4_reverse_nat", dev.sluice.datapath.maps.LbReverseNat.LAYOUT),
                Arguments.of("bpf_lxc.o", "lb_affinity_key", dev.sluice.datapath.maps.LbAffinityKey.LAYOUT),
                Arguments.of("bpf_lxc.o", "lb_affinity_value", dev.sluice.datapath.maps.LbAffinityValue.LAYOUT),
                Arguments.of("bpf_lxc.o", "lb_config", dev.sluice.datapath.maps.LbConfig.LAYOUT),
                Arguments.of("bpf_netdev.o", "lb4_service", dev.sluice.datapath.maps.LbService.LAYOUT),
                Arguments.of("bpf_netdev.o", "l2_responder_key", dev.sluice.datapath.maps.L2ResponderKey.LAYOUT),
                Arguments.of("bpf_netdev.o", "l2_responder_value", dev.sluice.datapath.maps.L2ResponderValue.LAYOUT),
                Arguments.of("bpf_sock.o", "sock_netns", dev.sluice.datapath.maps.SockNetns.LAYOUT),
                Arguments.of("bpf_sock.o", "sock_rev_key", dev.sluice.datapath.maps.SockRevKey.LAYOUT),
                Arguments.of("bpf_sock.o", "sock_rev_value", dev.sluice.datapath.maps.SockRevKey.Value.LAYOUT),
                Arguments.of("bpf_sock.o", "lb4_backend", dev.sluice.datapath.maps.LbBackend.LAYOUT),
                Arguments.of("bpf_overlay.o", "nat4_entry", dev.sluice.datapath.maps.NatEntry.LAYOUT),
                // every object must agree, since they share the pinned maps
                Arguments.of("bpf_netdev.o", "endpoint_info", EndpointInfo.LAYOUT),
                Arguments.of("bpf_overlay.o", "ipcache_key", IpcacheKey.LAYOUT));
    }

    @ParameterizedTest(name = "{0} struct {1}")
    @MethodSource("layouts")
    void javaRecordMatchesC(String object, String struct, MemoryLayout layout) {
        Btf.assertLayout(obj(object), struct, layout);
    }
}
