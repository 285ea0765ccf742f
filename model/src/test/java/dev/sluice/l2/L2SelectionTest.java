package dev.sluice.l2;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.config.Values;
import dev.sluice.k8s.ClusterNode;
import dev.sluice.k8s.Kinds;
import dev.sluice.k8s.KubeObject;
import dev.sluice.k8s.L2AnnouncementPolicy;
import dev.sluice.k8s.LbIpPool;
import dev.sluice.k8s.ManifestException;
import dev.sluice.k8s.ManifestReader;
import dev.sluice.k8s.Pod;
import dev.sluice.k8s.Service;
import dev.sluice.lb.LbState;
import dev.sluice.lb.ServiceModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * CiliumL2AnnouncementPolicy decoding (strict, one-line errors) and the per-node selection: golden
 * cases l2/golden/CASE/{input.yaml, values.yaml} in, per node the announcements it may make out
 * (expected.txt; regenerate with -Dsluice.golden.update=true and review the diff). Every node has
 * the interfaces eth0, eth1 and vxlan0.
 */
class L2SelectionTest {
    static final Path DIR = Path.of("src/test/resources/l2/golden");
    static final List<String> IFACES = List.of("eth0", "eth1", "vxlan0");

    static Stream<String> cases() throws IOException {
        try (var s = Files.list(DIR)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList().stream();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void golden(String name) throws IOException {
        Path dir = DIR.resolve(name);
        List<Service> services = new ArrayList<>();
        List<Pod> pods = new ArrayList<>();
        List<ClusterNode> nodes = new ArrayList<>();
        List<LbIpPool> pools = new ArrayList<>();
        List<L2AnnouncementPolicy> policies = new ArrayList<>();
        for (KubeObject o : ManifestReader.parse("input.yaml", Files.readString(dir.resolve("input.yaml")))) {
            switch (o.kind()) {
                case Kinds.SERVICE -> services.add(Service.decode(o));
                case Kinds.POD -> pods.add(Pod.decode(o));
                case Kinds.NODE -> nodes.add(ClusterNode.decode(o));
                case Kinds.CILIUM_LB_IP_POOL -> pools.add(LbIpPool.decode(o));
                case Kinds.CILIUM_L2_ANNOUNCEMENT_POLICY -> policies.add(L2AnnouncementPolicy.decode(o));
                default -> throw new IllegalArgumentException(o.kind());
            }
        }
        Values v = Values.parse("values.yaml", Files.readString(dir.resolve("values.yaml")), Map.of());
        LbState st = ServiceModel.compute(services, pods, nodes, pools, v);
        var sb = new StringBuilder();
        for (ClusterNode n : nodes) {
            sb.append("# ").append(n.name()).append('\n');
            sb.append(L2Selection.text(L2Selection.forNode(policies, st.services().values(), n, IFACES)));
        }
        String got = sb.toString();
        Path expected = dir.resolve("expected.txt");
        if (Boolean.getBoolean("sluice.golden.update") || !Files.exists(expected)) Files.writeString(expected, got);
        assertThat(got).isEqualTo(Files.readString(expected));
    }

    static L2AnnouncementPolicy decode(String spec) {
        String yaml = "apiVersion: cilium.io/v2alpha1\nkind: CiliumL2AnnouncementPolicy\nmetadata: {name: p}\n" + spec;
        return L2AnnouncementPolicy.decode(ManifestReader.parse("p.yaml", yaml).getFirst());
    }

    @Test
    void aPolicyDecodesEveryFieldCiliumDefines() {
        var p = decode("spec:\n  serviceSelector: {matchLabels: {a: b}}\n  nodeSelector: {matchExpressions: [{key: k, operator: Exists}]}\n"
                + "  interfaces: ['^eth[0-9]+']\n  externalIPs: true\n  loadBalancerIPs: false\n");
        assertThat(p.name()).isEqualTo("p");
        assertThat(p.externalIPs()).isTrue();
        assertThat(p.loadBalancerIPs()).isFalse();
        assertThat(p.interfacesOf(List.of("eth0", "eth12", "lo", "veth1"))).containsExactly("eth0", "eth12");
        assertThat(p.interfacesOf(List.of("xeth0"))).as("unanchored match, as Go's MatchString").isEmpty();
        assertThat(decode("spec: {loadBalancerIPs: true}\n").interfacesOf(IFACES)).as("no interfaces: every one").isEqualTo(IFACES);
    }

    @Test
    void unknownFieldsAndBadValuesAreOneLineErrorsNamingTheField() {
        assertThatThrownBy(() -> decode("spec: {loadBalancerIps: true}\n")).isInstanceOf(ManifestException.class)
                .hasMessageContaining("loadBalancerIps").hasMessageNotContaining("\n");
        assertThatThrownBy(() -> decode("spec: {interfaces: ['eth[0-']}\n")).hasMessageContaining("interfaces[0]")
                .hasMessageContaining("expected: a regular expression").hasMessageNotContaining("\n");
        assertThatThrownBy(() -> decode("spec: {interfaces: ['']}\n")).hasMessageContaining("interfaces[0]");
        assertThatThrownBy(() -> decode("spec: {nodeSelector: {matchExpressions: [{key: k, operator: Maybe}]}}\n"))
                .hasMessageContaining("operator").hasMessageNotContaining("\n");
        assertThatThrownBy(() -> decode("spec: {externalIPs: sometimes}\n")).hasMessageContaining("externalIPs");
        assertThatThrownBy(() -> decode("spec: {serviceSelector: {matchLabel: {a: b}}}\n")).hasMessageContaining("matchLabel");
        assertThatThrownBy(() -> decode("status: {}\n")).hasMessageContaining("spec").hasMessageContaining("missing");
        assertThatThrownBy(() -> ManifestReader.parse("p.yaml", "apiVersion: cilium.io/v2\nkind: CiliumL2AnnouncementPolicy\nmetadata: {name: p}\nspec: {}\n"))
                .hasMessageContaining("cilium.io/v2");
    }

    @Test
    void leasesAreNamedAsCiliumNamesThem() {
        assertThat(L2Selection.leaseName("shop/web")).isEqualTo("cilium-l2announce-shop-web");
    }
}
