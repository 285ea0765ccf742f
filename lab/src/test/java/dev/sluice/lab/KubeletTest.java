package dev.sluice.lab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.k8s.ContainerPort;
import dev.sluice.k8s.Protocol;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class KubeletTest {
    final Kubelet k = new Kubelet(new LabEnv(Path.of("/repo"), Path.of("/repo/cli/target/sluice.jar"), Path.of("/jdk/bin/java")),
            new LabDir("t", Path.of("/run/sluice/labs/t")));

    @Test void cniEnvironmentIsARuntimes() {
        var env = k.cniEnv("ADD", "x/a", "sl-t-p1", "abc");
        assertThat(env).containsEntry("CNI_COMMAND", "ADD").containsEntry("CNI_CONTAINERID", "abc")
                .containsEntry("CNI_NETNS", "/var/run/netns/sl-t-p1").containsEntry("CNI_IFNAME", "eth0")
                .containsEntry("CNI_PATH", "/repo/build/bin")
                .containsEntry("CNI_ARGS", "K8S_POD_NAMESPACE=x;K8S_POD_NAME=a;K8S_POD_INFRA_CONTAINER_ID=abc;IgnoreUnknown=1");
        assertThat(k.cniConfig("node2")).contains("\"cniVersion\":\"1.1.0\"").contains("\"type\":\"sluice-cni\"")
                .contains("\"agentSocket\":\"/run/sluice/labs/t/nodes/node2/agent.sock\"").contains("\"name\":\"sluice\"");
    }

    @Test void conflistForAnotherRuntimeHasTheSamePluginObject() {
        assertThat(k.cniConflist("node1", "sluice", "1.0.0", java.util.Map.of("podNamespace", "podman"))).isEqualTo(
                "{\"cniVersion\":\"1.0.0\",\"name\":\"sluice\",\"plugins\":[{\"type\":\"sluice-cni\","
                        + "\"agentSocket\":\"/run/sluice/labs/t/nodes/node1/agent.sock\",\"podNamespace\":\"podman\"}]}");
    }

    @Test void resultAddressAndErrors() {
        assertThat(Kubelet.addressOf("x/a", "{\"cniVersion\":\"1.1.0\",\"ips\":[{\"address\":\"10.0.1.5/32\"}]}")).isEqualTo("10.0.1.5");
        assertThatThrownBy(() -> Kubelet.addressOf("x/a", "{}")).hasMessageContaining("no ips[0].address");
        assertThatThrownBy(() -> Kubelet.addressOf("x/a", "oops")).hasMessageContaining("not JSON");
        var r = new Procs.Result(List.of("sluice-cni"), 1, "{\"cniVersion\":\"1.1.0\",\"code\":11,\"msg\":\"no agent\",\"details\":\"connect refused\"}", "");
        assertThat(Kubelet.cniError(r)).isEqualTo("no agent (connect refused) [code 11]");
        assertThat(Kubelet.cniError(new Procs.Result(List.of("sluice-cni"), 1, "", "boom"))).isEqualTo("`sluice-cni` exited 1: boom");
    }

    @Test void serverGetsEveryDeclaredPortByProtocol() {
        assertThat(Kubelet.serveArgs("x/a", List.of(new ContainerPort("", 80, Protocol.TCP), new ContainerPort("dns", 53, Protocol.UDP),
                new ContainerPort("", 8080, Protocol.TCP), new ContainerPort("", 80, Protocol.TCP))))
                .containsExactly("serve", "--name", "x/a", "--tcp", "80,8080", "--udp", "53");
        assertThat(Kubelet.serveArgs("x/a", List.of(new ContainerPort("", 53, Protocol.UDP)))).containsExactly("serve", "--name", "x/a", "--udp", "53");
        assertThat(Kubelet.serveArgs("x/a", List.of())).isEmpty();
    }
}
