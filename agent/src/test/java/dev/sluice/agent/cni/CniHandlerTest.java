package dev.sluice.agent.cni;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.agent.endpoint.Endpoint;
import dev.sluice.agent.endpoint.EndpointManager;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * Who an ADD attaches: a Kubernetes pod when the runtime passes K8S_POD_NAMESPACE (as before), a
 * standalone container when it does not (podman 4.3 passes only K8S_POD_NAME=<container name>), in
 * the configuration's podNamespace or "default"; every bad value is refused before anything is
 * attached, and the agent hears of standalone containers coming and going. On in-memory attachments.
 */
class CniHandlerTest {
    static final JsonMapper JSON = JsonMapper.builder().build();

    /** Attachments that record what they were asked, refusing a standalone name held by another one. */
    static final class Fake implements CniHandler.Attachments {
        final List<Endpoint> added = new ArrayList<>();
        final List<String> deleted = new ArrayList<>();

        @Override public Endpoint add(String containerId, String ifname, String netns, String pod, boolean standalone, int mtu) {
            for (Endpoint e : added)
                if (e.containerId().equals(containerId) && e.ifname().equals(ifname)) return e;
            if (standalone && added.stream().anyMatch(e -> e.pod().equals(pod)))
                throw new EndpointManager.NameTakenException("pod name " + pod + " is taken by container other on this node");
            Endpoint e = new Endpoint(added.size() + 1, containerId, ifname, pod, netns, "10.0.0." + (10 + added.size()), "lxc1", 5,
                    "0e:00:00:00:00:01", "0a:00:00:00:00:01", mtu, standalone);
            added.add(e);
            return e;
        }

        @Override public void delete(String containerId, String ifname) {
            deleted.add(containerId);
            added.removeIf(e -> e.containerId().equals(containerId) && e.ifname().equals(ifname));
        }

        @Override public List<String> check(String containerId, String ifname) { return List.of(); }

        @Override public List<Endpoint> list() { return List.copyOf(added); }
    }

    final Fake endpoints = new Fake();
    int changes;
    final CniHandler handler = new CniHandler(endpoints, () -> 1450, () -> null, Set.of("default/taken")::contains, () -> changes++);

    /** A request as the plugin forwards podman's: no K8S_POD_NAMESPACE. */
    static ObjectNode request(String command, String args, String podNamespace) {
        ObjectNode config = JSON.createObjectNode().put("cniVersion", "1.0.0").put("name", "sluice").put("type", "sluice-cni")
                .put("agentSocket", "/run/sluice/agent.sock");
        if (podNamespace != null) config.put("podNamespace", podNamespace);
        ObjectNode p = JSON.createObjectNode().put("command", command).put("containerID", "c".repeat(64))
                .put("netns", "/run/netns/netns-1234").put("ifname", "eth0").put("args", args).put("path", "/opt/cni/bin");
        p.set("config", config);
        return p;
    }

    JsonNode ok(CniHandler.Reply r) {
        assertThat(r.exitCode()).as(r.stdout()).isZero();
        return r.stdout().isEmpty() ? JSON.createObjectNode() : JSON.readTree(r.stdout());
    }

    static JsonNode error(CniHandler.Reply r, int code) {
        assertThat(r.exitCode()).isEqualTo(1);
        JsonNode e = JSON.readTree(r.stdout());
        assertThat(e.path("code").asInt()).as(r.stdout()).isEqualTo(code);
        assertThat(r.stdout()).doesNotContain("\n");
        return e;
    }

    @Test
    void aContainerWithoutNamespaceIsAStandalonePodInTheDefaultNamespace() {
        JsonNode res = ok(handler.handle(request("ADD", "IgnoreUnknown=1;K8S_POD_NAME=web", null)));
        assertThat(res.path("ips").get(0).path("address").asString()).isEqualTo("10.0.0.10/32");
        assertThat(res.path("cniVersion").asString()).isEqualTo("1.0.0");
        assertThat(endpoints.added).singleElement().satisfies(e -> {
            assertThat(e.pod()).isEqualTo("default/web");
            assertThat(e.standalone()).isTrue();
        });
        assertThat(changes).as("the agent recomputes policy with it before answering").isEqualTo(1);

        ok(handler.handle(request("DEL", "IgnoreUnknown=1;K8S_POD_NAME=web", null)));
        assertThat(endpoints.added).isEmpty();
        assertThat(changes).as("and without it after DEL").isEqualTo(2);
    }

    @Test
    void theConfigurationNamesTheNamespace() {
        ok(handler.handle(request("ADD", "IgnoreUnknown=1;K8S_POD_NAME=web", "podman")));
        assertThat(endpoints.added.getFirst().pod()).isEqualTo("podman/web");
        assertThat(endpoints.added.getFirst().standalone()).isTrue();
    }

    @Test
    void aKubernetesRuntimeKeepsItsNamespaceAndIsNotStandalone() {
        ok(handler.handle(request("ADD", "K8S_POD_NAMESPACE=x;K8S_POD_NAME=a;IgnoreUnknown=1", "podman")));
        assertThat(endpoints.added.getFirst().pod()).isEqualTo("x/a");
        assertThat(endpoints.added.getFirst().standalone()).isFalse();
        ok(handler.handle(request("DEL", "K8S_POD_NAMESPACE=x;K8S_POD_NAME=a", "podman")));
        assertThat(changes).as("Kubernetes pods come through the cluster state").isZero();
    }

    @Test
    void aBadPodNamespaceIsAConfigurationErrorEvenForKubernetesRuntimes() {
        for (String args : List.of("K8S_POD_NAME=web", "K8S_POD_NAMESPACE=x;K8S_POD_NAME=a")) {
            for (String bad : List.of("Podman", "", "a_b", "-x", "x".repeat(64))) {
                JsonNode e = error(handler.handle(request("ADD", args, bad)), 7);
                assertThat(e.path("msg").asString()).startsWith("invalid network configuration: podNamespace \"").endsWith("is not a namespace name");
                assertThat(e.path("details").asString()).startsWith("expected: a string of lower-case letters");
            }
            ObjectNode notString = request("ADD", args, null);
            ((ObjectNode) notString.path("config")).put("podNamespace", 5);
            assertThat(error(handler.handle(notString), 7).path("msg").asString()).contains("podNamespace 5 ");
        }
        assertThat(endpoints.added).isEmpty();
        assertThat(changes).isZero();
    }

    @Test
    void aNameIsNeededAndMustBeAPodName() {
        JsonNode e = error(handler.handle(request("ADD", "IgnoreUnknown=1", null)), 4);
        assertThat(e.path("msg").asString()).isEqualTo("CNI_ARGS lacks K8S_POD_NAME");
        assertThat(e.path("details").asString()).contains("podman passes the container name");
        // podman's generated names have '_': refused, not rewritten (two names could become one)
        e = error(handler.handle(request("ADD", "IgnoreUnknown=1;K8S_POD_NAME=nifty_turing", null)), 4);
        assertThat(e.path("msg").asString()).isEqualTo("CNI_ARGS K8S_POD_NAME \"nifty_turing\" is not a pod name");
        assertThat(e.path("details").asString()).contains("--name");
        error(handler.handle(request("ADD", "K8S_POD_NAME=Web", null)), 4);
        assertThat(error(handler.handle(request("ADD", "K8S_POD_NAMESPACE=x", null)), 4).path("msg").asString())
                .isEqualTo("CNI_ARGS lacks K8S_POD_NAME");
        assertThat(endpoints.added).isEmpty();
    }

    @Test
    void aStandaloneContainerCannotTakeTheNameOfAPodOrOfAnotherContainer() {
        JsonNode e = error(handler.handle(request("ADD", "K8S_POD_NAME=taken", null)), 4);
        assertThat(e.path("msg").asString()).isEqualTo("CNI_ARGS K8S_POD_NAME \"taken\": a Kubernetes Pod default/taken exists");
        assertThat(endpoints.added).isEmpty();
        // a Kubernetes runtime is not refused: its Pod object is the one that has the name
        ok(handler.handle(request("ADD", "K8S_POD_NAMESPACE=default;K8S_POD_NAME=taken", null).put("containerID", "k8s")));

        ok(handler.handle(request("ADD", "K8S_POD_NAME=web", null)));
        ObjectNode second = request("ADD", "K8S_POD_NAME=web", null).put("containerID", "d".repeat(64));
        e = error(handler.handle(second), 4);
        assertThat(e.path("msg").asString()).startsWith("CNI_ARGS K8S_POD_NAME \"web\": pod name default/web is taken by container");
        // the same attachment again is the same endpoint (ADD is idempotent), not a clash
        ok(handler.handle(request("ADD", "K8S_POD_NAME=web", null)));
        assertThat(endpoints.added).hasSize(2);
    }

    @Test
    void gcOfAStandaloneContainerIsHeardToo() {
        ok(handler.handle(request("ADD", "K8S_POD_NAME=web", null)));
        ObjectNode gc = request("GC", "", null);
        ((ObjectNode) gc.path("config")).putArray("cni.dev/valid-attachments");
        int before = changes;
        ok(handler.handle(gc));
        assertThat(endpoints.added).isEmpty();
        assertThat(changes).isEqualTo(before + 1);
    }
}
