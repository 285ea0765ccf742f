package dev.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.k8s.ManifestException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ValuesTest {
    @Test
    void defaults() {
        Values v = Values.defaults();
        assertThat(v.routingMode()).isEqualTo(Values.RoutingMode.TUNNEL);
        assertThat(v.clusterPoolIPv4MaskSize()).isEqualTo(24);
        assertThat(v.ctTcpMax()).isEqualTo(524288);
        assertThat(v.ctAnyMax()).isEqualTo(262144);
        assertThat(v.maglevTableSize()).isEqualTo(16381);
        assertThat(v.kubeProxyReplacement()).isTrue();
        assertThat(v.conntrackEnabled()).isTrue();
    }

    @Test
    void theGuidesValuesFileIsAccepted() {
        String guide = """
                kubeProxyReplacement: true
                k8sServiceHost: 10.0.0.1
                k8sServicePort: 6443
                bpf:
                  masquerade: true
                lbExternalIPPool:
                  cidr: 192.168.100.0/24
                hubble:
                  enabled: true
                  relay:
                    enabled: true
                    replicas: 2
                  ui:
                    enabled: true
                  metrics:
                    enabled: [dns, drop, tcp, flow, port-distribution, icmp, http]
                lb:
                  algorithm: maglev
                conntrack:
                  enabled: false
                policyEnforceMode: "always"
                resources:
                  limits: {cpu: "1", memory: "1Gi"}
                  requests: {cpu: "200m", memory: "256Mi"}
                ipam:
                  mode: "kubernetes"
                """;
        Values v = Values.parse("values.yaml", guide, Map.of());
        assertThat(v.masquerade()).isTrue();
        assertThat(v.lbAlgorithm()).isEqualTo("maglev");
        assertThat(v.conntrackEnabled()).isFalse();
        assertThat(v.policyEnforcementMode()).isEqualTo("always");
        assertThat(v.lbExternalIPPoolCidr()).map(Object::toString).contains("192.168.100.0/24");
        assertThat(v.hubbleMetrics()).contains("drop", "http");
    }

    @Test
    void unknownKeyNamesTheFileAndKeyAndSuggests() {
        assertThatThrownBy(() -> Values.parse("v.yaml", "bpf:\n  ctTcpMaxx: 10\n", Map.of()))
                .isInstanceOf(ManifestException.class)
                .hasMessage("v.yaml: bpf.ctTcpMaxx: unknown key (expected a key listed in docs/configuration.md; did you mean bpf.ctTcpMax?)");
    }

    @Test
    void badValuesNameWhatWasExpected() {
        assertThatThrownBy(() -> Values.parse("v.yaml", "routingMode: bgp\n", Map.of()))
                .hasMessage("v.yaml: routingMode: bgp (expected: one of native, tunnel)");
        assertThatThrownBy(() -> Values.parse("v.yaml", "maglev:\n  tableSize: 1000\n", Map.of()))
                .hasMessageStartingWith("v.yaml: maglev.tableSize: 1000 (expected one of: [251, 509");
        assertThatThrownBy(() -> Values.parse("v.yaml", "ipam:\n  operator:\n    clusterPoolIPv4PodCIDRList: [10.0.0.0/33]\n", Map.of()))
                .hasMessage("v.yaml: ipam.operator.clusterPoolIPv4PodCIDRList: 10.0.0.0/33 (expected: an IPv4 CIDR a.b.c.d/n with n 0-32)");
        assertThatThrownBy(() -> Values.parse("v.yaml", "mtu: 100\n", Map.of()))
                .hasMessage("v.yaml: mtu: 100 (expected: 0 for automatic, or 1280-65535)");
    }

    @Test
    void socketLbFollowsKubeProxyReplacementUnlessSet() {
        assertThat(Values.defaults().socketLb()).isEqualTo(new Values.SocketLb(true, false, ""));
        assertThat(Values.parse("v.yaml", "kubeProxyReplacement: false\n", Map.of()).socketLb().enabled()).isFalse();
        assertThat(Values.parse("v.yaml", "kubeProxyReplacement: false\nsocketLB:\n  enabled: true\n", Map.of()).socketLb().enabled()).isTrue();
        var v = Values.parse("v.yaml", "socketLB:\n  enabled: false\n  hostNamespaceOnly: true\ncgroup:\n  hostRoot: /run/cilium/cgroupv2\n", Map.of());
        assertThat(v.socketLb()).isEqualTo(new Values.SocketLb(false, true, "/run/cilium/cgroupv2"));
        assertThatThrownBy(() -> Values.parse("v.yaml", "cgroup:\n  hostRoot: sys/fs/cgroup\n", Map.of()))
                .hasMessage("v.yaml: cgroup.hostRoot: \"sys/fs/cgroup\" (expected: an absolute path of a cgroup v2 directory, or \"\" for the cgroup2 mount)");
        assertThatThrownBy(() -> Values.parse("v.yaml", "socketLB:\n  hostNamespaceonly: true\n", Map.of()))
                .hasMessageContaining("did you mean socketLB.hostNamespaceOnly?");
    }

    @Test
    void flowObservabilityValues() {
        assertThat(Values.defaults().monitorAggregation()).isEqualTo("medium");
        assertThat(Values.defaults().monitorAggregationLevel()).isEqualTo(2);
        assertThat(Values.defaults().hubbleEventBufferCapacity()).isEqualTo(4095);
        Values v = Values.parse("v.yaml", "bpf:\n  monitorAggregation: none\nhubble:\n  eventBufferCapacity: 65535\n", Map.of());
        assertThat(v.monitorAggregationLevel()).isZero();
        assertThat(v.hubbleEventBufferCapacity()).isEqualTo(65535);
        assertThat(Values.parse("v.yaml", "bpf:\n  monitorAggregation: maximum\n", Map.of()).monitorAggregationLevel()).isEqualTo(3);
        assertThatThrownBy(() -> Values.parse("v.yaml", "hubble:\n  eventBufferCapacity: 4096\n", Map.of()))
                .hasMessage("v.yaml: hubble.eventBufferCapacity: 4096 (expected: a power of two minus one, e.g. 4095 or 65535)");
        assertThatThrownBy(() -> Values.parse("v.yaml", "hubble:\n  eventBufferCapacity: 0\n", Map.of()))
                .hasMessageStartingWith("v.yaml: hubble.eventBufferCapacity: 0 (expected: an integer 1-");
        assertThatThrownBy(() -> Values.parse("v.yaml", "bpf:\n  monitorAggregation: high\n", Map.of()))
                .hasMessage("v.yaml: bpf.monitorAggregation: high (expected: one of none, low, medium, maximum)");
    }

    @Test
    void monitorAggregationIntervalIsADurationOfWholeSeconds() {
        assertThat(Values.defaults().monitorAggregationInterval()).isEqualTo(5);
        assertThat(Values.parse("v.yaml", "bpf:\n  monitorAggregationInterval: 1m30s\n", Map.of()).monitorAggregationInterval()).isEqualTo(90);
        assertThat(Values.parse("v.yaml", "bpf:\n  monitorAggregationInterval: 2000ms\n", Map.of()).monitorAggregationInterval()).isEqualTo(2);
        assertThat(Values.parse("v.yaml", "bpf:\n  monitorAggregationInterval: 0s\n", Map.of()).monitorAggregationInterval()).isZero();
        // Cilium's Helm key for the same setting
        assertThat(Values.parse("v.yaml", "bpf:\n  monitorInterval: 1h\n", Map.of()).monitorAggregationInterval()).isEqualTo(3600);
        String expected = " (expected: a duration of whole seconds from 0s to 65535s, e.g. 5s or 1m30s)";
        for (String bad : List.of("5", "1500ms", "5 s", "-5s", "19h", "s", "99999999999s"))
            assertThatThrownBy(() -> Values.parse("v.yaml", "bpf:\n  monitorAggregationInterval: \"" + bad + "\"\n", Map.of()))
                    .as(bad).hasMessage("v.yaml: bpf.monitorAggregationInterval: \"" + bad + "\"" + expected);
    }

    @Test
    void l2AnnouncementsAreOffByDefaultWithCiliumsLeaseTimes() {
        var d = Values.defaults().l2announcements();
        assertThat(d.enabled()).isFalse();
        assertThat(d.leaseDuration()).isEqualTo(java.time.Duration.ofSeconds(15));
        assertThat(d.renewDeadline()).isEqualTo(java.time.Duration.ofSeconds(5));
        assertThat(d.retryPeriod()).isEqualTo(java.time.Duration.ofSeconds(2));
        var v = Values.parse("v.yaml", "l2announcements:\n  enabled: true\n  leaseDuration: 6s\n  leaseRenewDeadline: 3s\n  leaseRetryPeriod: 500ms\n",
                Map.of()).l2announcements();
        assertThat(v).isEqualTo(new Values.L2Announcements(true, java.time.Duration.ofSeconds(6), java.time.Duration.ofSeconds(3),
                java.time.Duration.ofMillis(500)));
    }

    @Test
    void badL2AnnouncementValuesAreOneLineNamingTheKey() {
        assertThatThrownBy(() -> Values.parse("v.yaml", "l2announcements:\n  enabled: yes please\n", Map.of()))
                .hasMessageStartingWith("v.yaml: l2announcements.enabled: yes please (expected: ");
        assertThatThrownBy(() -> Values.parse("v.yaml", "l2announcements:\n  leaseDuration: 15\n", Map.of()))
                .hasMessage("v.yaml: l2announcements.leaseDuration: \"15\" (expected: a duration from 1s to 3600s, e.g. 15s, 1m30s or 1500ms)");
        assertThatThrownBy(() -> Values.parse("v.yaml", "l2announcements:\n  leaseDuration: 500ms\n", Map.of()))
                .hasMessage("v.yaml: l2announcements.leaseDuration: \"500ms\" (expected: a duration from 1s to 3600s, e.g. 15s, 1m30s or 1500ms)");
        assertThatThrownBy(() -> Values.parse("v.yaml", "l2announcements:\n  leaseDuration: 5s\n", Map.of()))
                .hasMessage("v.yaml: l2announcements.leaseRenewDeadline: 5s (expected: less than l2announcements.leaseDuration 5s)");
        assertThatThrownBy(() -> Values.parse("v.yaml", "l2announcements:\n  leaseRetryPeriod: 5s\n", Map.of()))
                .hasMessage("v.yaml: l2announcements.leaseRetryPeriod: 5s (expected: less than l2announcements.leaseRenewDeadline 5s)");
        assertThatThrownBy(() -> Values.parse("v.yaml", "l2announcements:\n  leaseDurations: 5s\n", Map.of()))
                .hasMessageContaining("did you mean l2announcements.leaseDuration?");
    }

    @Test
    void overridesWin() {
        Values v = Values.parse("v.yaml", "routingMode: tunnel\n", Map.of("routingMode", "native"));
        assertThat(v.routingMode()).isEqualTo(Values.RoutingMode.NATIVE);
    }

    @Test
    void hubbleUiIsOffByDefaultOn12000AndNeedsTheRelay() {
        assertThat(Values.defaults().hubbleUiEnabled()).isFalse();
        assertThat(Values.defaults().hubbleUiPort()).isEqualTo(12000);
        Values v = Values.parse("v.yaml", "hubble:\n  relay:\n    enabled: true\n  ui:\n    enabled: true\n    port: 8081\n", Map.of());
        assertThat(v.hubbleUiEnabled()).isTrue();
        assertThat(v.hubbleUiPort()).isEqualTo(8081);
        assertThatThrownBy(() -> Values.parse("v.yaml", "hubble:\n  ui:\n    enabled: true\n", Map.of()))
                .hasMessage("v.yaml: hubble.ui.enabled: true (expected: with hubble.relay.enabled: true; the relay serves the UI)");
        assertThatThrownBy(() -> Values.parse("v.yaml", "hubble:\n  ui:\n    port: 0\n", Map.of()))
                .hasMessageStartingWith("v.yaml: hubble.ui.port: 0");
    }

    @Test
    void hubbleListensOn4244AndTheRelayIsOffByDefault() {
        assertThat(Values.defaults().hubbleEnabled()).isFalse(); // as cilium-agent's --enable-hubble; the chart and the lab turn it on
        assertThat(Values.defaults().hubbleListenAddress()).isEqualTo(":4244");
        assertThat(Values.defaults().hubbleRelayEnabled()).isFalse();
        Values v = Values.parse("v.yaml", "hubble:\n  listenAddress: \"\"\n  relay:\n    enabled: true\n", Map.of());
        assertThat(v.hubbleListenAddress()).isEmpty();
        assertThat(v.hubbleRelayEnabled()).isTrue();
        assertThat(Values.parse("v.yaml", "hubble:\n  listenAddress: 172.30.0.11:4244\n", Map.of()).hubbleListenAddress()).isEqualTo("172.30.0.11:4244");
        assertThatThrownBy(() -> Values.parse("v.yaml", "hubble:\n  listenAddress: \"4244\"\n", Map.of()))
                .hasMessage("v.yaml: hubble.listenAddress: \"4244\" (expected: [HOST]:PORT with PORT 1-65535, or \"\" for the Unix socket only)");
        assertThatThrownBy(() -> Values.parse("v.yaml", "hubble:\n  listenAddress: \":70000\"\n", Map.of()))
                .hasMessageStartingWith("v.yaml: hubble.listenAddress: \":70000\"");
    }

    @Test
    void healthAddressDefaultsToLoopbackAndCanBeTurnedOff() {
        assertThat(Values.defaults().healthAddress()).isEqualTo("127.0.0.1:9879");
        assertThat(Values.parse("v.yaml", "healthAddress: \"\"\n", Map.of()).healthAddress()).isEmpty();
        assertThat(Values.parse("v.yaml", "healthAddress: 172.30.0.11:9879\n", Map.of()).healthAddress()).isEqualTo("172.30.0.11:9879");
        assertThat(Values.parse("v.yaml", "healthAddress: \"[::1]:9879\"\n", Map.of()).healthAddress()).isEqualTo("[::1]:9879");
        assertThatThrownBy(() -> Values.parse("v.yaml", "healthAddress: 9879\n", Map.of()))
                .hasMessage("v.yaml: healthAddress: \"9879\" (expected: HOST:PORT with PORT 1-65535, or \"\" for off)");
        assertThatThrownBy(() -> Values.parse("v.yaml", "healthAddress: localhost:70000\n", Map.of()))
                .hasMessage("v.yaml: healthAddress: \"localhost:70000\" (expected: HOST:PORT with PORT 1-65535, or \"\" for off)");
    }

    @Test
    void theChartsOwnKeysAreAcceptedAndChecked() {
        String chart = """
                image: {repository: sluice, tag: 0.1.0, pullPolicy: IfNotPresent}
                devices: eth0
                cni: {install: true, uninstall: false, binPath: /opt/cni/bin, confPath: /etc/cni/net.d}
                """;
        assertThat(Values.parse("values.yaml", chart, Map.of())).isEqualTo(Values.defaults());
        assertThatThrownBy(() -> Values.parse("v.yaml", "cni:\n  install: yes please\n", Map.of()))
                .hasMessage("v.yaml: cni.install: yes please (expected: true or false)");
        assertThatThrownBy(() -> Values.parse("v.yaml", "image:\n  pullPolicy: Sometimes\n", Map.of()))
                .hasMessage("v.yaml: image.pullPolicy: Sometimes (expected: one of Always, IfNotPresent, Never)");
    }

    @Test
    void loadBalancerModeIsSnatDsrOrHybridAndDsrNeedsNativeRouting() {
        assertThat(Values.defaults().lbMode()).isEqualTo("snat");
        Values dsr = Values.parse("v.yaml", "routingMode: native\nloadBalancer: {mode: dsr}\n", Map.of());
        assertThat(dsr.dsr(true)).isTrue();
        assertThat(dsr.dsr(false)).isTrue();
        Values hybrid = Values.parse("v.yaml", "routingMode: native\nloadBalancer: {mode: hybrid}\n", Map.of());
        assertThat(hybrid.dsr(true)).isTrue();
        assertThat(hybrid.dsr(false)).isFalse();
        assertThat(Values.defaults().dsr(true)).isFalse();
        assertThatThrownBy(() -> Values.parse("v.yaml", "loadBalancer: {mode: dsr}\n", Map.of()))
                .hasMessage("v.yaml: loadBalancer.mode: dsr (expected: snat with routingMode tunnel; DSR needs routingMode: native)");
        assertThatThrownBy(() -> Values.parse("v.yaml", "routingMode: tunnel\nloadBalancer: {mode: hybrid}\n", Map.of()))
                .hasMessage("v.yaml: loadBalancer.mode: hybrid (expected: snat with routingMode tunnel; DSR needs routingMode: native)");
        assertThatThrownBy(() -> Values.parse("v.yaml", "routingMode: native\nloadBalancer: {mode: direct}\n", Map.of()))
                .hasMessageStartingWith("v.yaml: loadBalancer.mode: direct (expected: one of");
    }
}
