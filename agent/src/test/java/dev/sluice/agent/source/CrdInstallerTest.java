package dev.sluice.agent.source;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class CrdInstallerTest {
    final MockApi api = new MockApi();
    final KubernetesClient client = api.client();
    final KubeApi kubeApi = api.kubeApi();
    final CrdInstaller installer = new CrdInstaller(kubeApi);

    @AfterEach void stop() {
        client.close();
        kubeApi.close();
        api.close();
    }

    @Test void thePackagedCrdsDescribeTheKindsTheSourceReads() {
        List<CustomResourceDefinition> crds = CrdInstaller.definitions().stream()
                .map(j -> client.getKubernetesSerialization().convertValue(j, CustomResourceDefinition.class)).toList();
        for (CustomResourceDefinition crd : crds) {
            var spec = crd.getSpec();
            var r = KubernetesSource.RESOURCES.stream().filter(x -> x.kind().equals(spec.getNames().getKind())).findFirst().orElseThrow();
            assertThat(crd.getMetadata().getName()).isEqualTo(r.plural() + "." + r.group());
            assertThat(spec.getNames().getPlural()).isEqualTo(r.plural());
            assertThat(spec.getScope()).isEqualTo(r.namespaced() ? "Namespaced" : "Cluster");
            assertThat(spec.getVersions()).extracting(v -> v.getName()).containsExactlyElementsOf(r.versions());
            assertThat(spec.getVersions()).filteredOn(v -> v.getStorage()).hasSize(1);
        }
        assertThat(crds).extracting(c -> c.getSpec().getNames().getKind())
                .containsExactly("CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy", "CiliumLoadBalancerIPPool",
                        "CiliumL2AnnouncementPolicy");
    }

    @Test void createsOnlyTheAbsentAndNeverChangesAnExistingOne() {
        var theirs = new CustomResourceDefinitionBuilder().withNewMetadata().withName("ciliumnetworkpolicies.cilium.io")
                .addToLabels("owner", "cilium").endMetadata().withNewSpec().withGroup("cilium.io").withScope("Namespaced")
                .withNewNames().withKind("CiliumNetworkPolicy").withPlural("ciliumnetworkpolicies").endNames().endSpec().build();
        client.apiextensions().v1().customResourceDefinitions().resource(theirs).create();

        assertThat(installer.install()).containsExactly(
                new CrdInstaller.Outcome("ciliumnetworkpolicies.cilium.io", false),
                new CrdInstaller.Outcome("ciliumclusterwidenetworkpolicies.cilium.io", true),
                new CrdInstaller.Outcome("ciliumloadbalancerippools.cilium.io", true),
                new CrdInstaller.Outcome("ciliuml2announcementpolicies.cilium.io", true));
        var kept = client.apiextensions().v1().customResourceDefinitions().withName("ciliumnetworkpolicies.cilium.io").get();
        assertThat(kept.getMetadata().getLabels()).containsEntry("owner", "cilium");
        assertThat(installer.install()).extracting(CrdInstaller.Outcome::created).containsOnly(false);
    }
}
