package dev.sluice.lab;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.k8s.Kinds;
import dev.sluice.k8s.KubeObject;
import dev.sluice.k8s.ManifestReader;
import dev.sluice.lab.api.ApiClient;
import dev.sluice.lab.api.LabApiServer;
import dev.sluice.net.Cidr;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** An apply through the lab's API server reads what the change needs, and the server allocates ClusterIPs in manifest order. */
class ApiClusterStoreTest {
    private LabApiServer server;
    private ApiClusterStore store;

    @BeforeEach void start() {
        server = new LabApiServer(Cidr.parse("10.96.0.0/16"));
        server.start(InetAddress.getLoopbackAddress(), 0);
        store = new ApiClusterStore(new ApiClient(null, new InetSocketAddress(InetAddress.getLoopbackAddress(), server.port())), Path.of("kubeconfig"));
    }

    @AfterEach void stop() {
        store.close();
        server.close();
    }

    static List<KubeObject> services(int from, int to) {
        StringBuilder y = new StringBuilder("apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n");
        for (int i = from; i < to; i++)
            y.append("---\napiVersion: v1\nkind: Service\nmetadata: {name: s").append(i).append(", namespace: x}\nspec: {selector: {app: a}, ports: [{port: 80}]}\n");
        return ManifestReader.parse("m.yaml", y.toString());
    }

    static List<String> clusterIps(List<? extends JsonNode> stored) {
        List<String> ips = new ArrayList<>();
        for (JsonNode b : stored) if (b.path("kind").asString().equals(Kinds.SERVICE)) ips.add(b.path("spec").path("clusterIP").asString());
        return ips;
    }

    static List<String> expected(int from, int to) {
        List<String> out = new ArrayList<>();
        for (int i = from; i < to; i++) out.add("10.96." + (i + 10) / 256 + "." + (i + 10) % 256);
        return out;
    }

    @Test void newServicesGetTheirAddressesInManifestOrderAndASmallApplyReadsNoOtherService() {
        // a small apply: the server allocates, the Services written one after the other
        var first = services(0, 40);
        var plan = Planner.apply(store.stored(first), first, List.of("node1"), Cidr.parse("10.96.0.0/16"), 0);
        assertThat(plan.writes()).filteredOn(b -> b.path("kind").asString().equals(Kinds.SERVICE))
                .as("left to the server").allMatch(b -> b.path("spec").path("clusterIP").isMissingNode());
        assertThat(clusterIps(store.putAll(plan.writes()))).as("in the order of the manifests").isEqualTo(expected(0, 40));

        // a large one (over LIST_ABOVE objects): the plan lists the Services once and allocates, the writes go in parallel
        var many = services(40, 140);
        var big = Planner.apply(store.stored(many), many, List.of("node1"), Cidr.parse("10.96.0.0/16"), 0);
        assertThat(clusterIps(big.writes())).isEqualTo(expected(40, 140));
        assertThat(clusterIps(store.putAll(big.writes()))).isEqualTo(expected(40, 140));

        // a later apply of one Service: its stored version and the namespaces
        var one = services(140, 141);
        var known = store.stored(one);
        assertThat(known.namespaces()).contains("x");
        assertThat(known.get(one.get(1).key())).isEmpty();
        assertThat(store.stored(services(5, 6)).get("Service/x/s5")).get()
                .extracting(o -> o.body().json().path("spec").path("clusterIP").asString()).isEqualTo("10.96.0.15");
        var plan2 = Planner.apply(known, one, List.of("node1"), Cidr.parse("10.96.0.0/16"), 0);
        assertThat(clusterIps(store.putAll(plan2.writes()))).isEqualTo(expected(140, 141));
    }
}
