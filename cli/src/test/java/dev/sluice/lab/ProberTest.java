package dev.sluice.lab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.BadInputException;
import dev.sluice.cli.Output;
import dev.sluice.k8s.Pod;
import dev.sluice.k8s.Protocol;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ProberTest {
    static Pod pod(String key, String ip, Map<String, String> labels) {
        String[] k = key.split("/");
        return new Pod(k[0], k[1], labels, "node1", ip, List.of());
    }

    @Test void aCellIsAllowOnlyWhenTheExpectedPodAnswers() {
        String out = """
                {"target":"10.0.0.5:80","ok":true,"pod":"x/a","client":"10.0.0.7:40000","ms":0.41}
                {"target":"10.0.1.5:80","ok":true,"pod":"x/z","client":"10.0.0.7:40001","ms":0.3}
                {"target":"10.0.1.6:80","ok":false,"error":"timeout"}
                """;
        assertThat(Prober.cells(List.of("x/a", "x/b", "x/c", "x/d"), List.of("10.0.0.5:80", "10.0.1.5:80", "10.0.1.6:80", "10.0.1.7:80"), out))
                .containsExactly(Map.entry("x/a", "allow"), Map.entry("x/b", "deny"), Map.entry("x/c", "deny"), Map.entry("x/d", "deny"));
    }

    @Test void viaPodUsesPodIps() {
        var d = Prober.destinations(List.of(pod("x/a", "10.0.0.5", Map.of()), pod("x/b", "", Map.of())), List.of(), 8080, Protocol.TCP, false);
        assertThat(d).containsExactly(Map.entry("x/a", "10.0.0.5:8080"), Map.entry("x/b", ""));
    }

    static dev.sluice.k8s.Service svc(String name, String ip, String selector, int port) {
        return dev.sluice.k8s.Service.decode(dev.sluice.k8s.ManifestReader.parse("s.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: " + name
                + ", namespace: x}\nspec: {clusterIP: " + ip + ", selector: {" + selector + "}, ports: [{port: " + port + "}]}\n").getFirst());
    }

    @Test void viaServiceNeedsAServiceSelectingOnlyTheDestination() {
        var a = pod("x/a", "10.0.0.5", Map.of("app", "a", "tier", "web"));
        var b = pod("x/b", "10.0.0.6", Map.of("app", "b", "tier", "web"));
        var web = svc("web", "10.96.0.10", "tier: web", 80);
        var sa = svc("s-x-a", "10.96.0.11", "app: a", 80);
        var sb = svc("s-x-b", "10.96.0.12", "app: b", 81);
        assertThatThrownBy(() -> Prober.destinations(List.of(a, b), List.of(web, sa, sb), 80, Protocol.TCP, true))
                .isInstanceOf(BadInputException.class)
                .hasMessageStartingWith("no Service selects only x/b (expected: a Service whose selector matches x/b alone");
        var d = Prober.destinations(List.of(a), List.of(web, sa), 80, Protocol.TCP, true);
        // both select x/a alone: the first by name is used
        assertThat(d).containsExactly(Map.entry("x/a", "10.96.0.11:80"));
        assertThat(Prober.destinations(List.of(b), List.of(web, sa, sb), 81, Protocol.TCP, true).get("x/b")).isEqualTo("10.96.0.12:81");
    }

    @Test void jsonAndTableFormats() {
        Map<String, Map<String, String>> m = new LinkedHashMap<>();
        m.put("x/a", new LinkedHashMap<>(Map.of("x/a", "allow")));
        m.get("x/a").put("x/b", "deny");
        m.put("x/b", new LinkedHashMap<>(Map.of("x/a", "allow")));
        m.get("x/b").put("x/b", "allow");
        var matrix = new Prober.Matrix(80, "TCP", List.of("x/a", "x/b"), m);
        assertThat(Output.JSON.writeValueAsString(matrix).replaceAll("\\s", ""))
                .isEqualTo("{\"port\":80,\"protocol\":\"TCP\",\"pods\":[\"x/a\",\"x/b\"],\"matrix\":{\"x/a\":{\"x/a\":\"allow\",\"x/b\":\"deny\"},\"x/b\":{\"x/a\":\"allow\",\"x/b\":\"allow\"}}}");
        assertThat(Prober.table(matrix)).containsExactly(List.of("FROM\\TO", "x/a", "x/b"), List.of("x/a", ".", "X"), List.of("x/b", ".", "."));
    }
}
