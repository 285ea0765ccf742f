package dev.sluice.lab.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.net.Cidr;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/** The lab's API server as a real kubectl 1.32 uses it: discovery, apply, get (table and JSON), label, delete. */
class LabApiServerTest {
    private LabApiServer server;
    @TempDir Path dir;

    @BeforeEach void start() {
        server = new LabApiServer(Cidr.parse("10.96.0.0/16"));
        server.start(InetAddress.getLoopbackAddress(), 0);
    }

    @AfterEach void stop() { server.close(); }

    record Run(int rc, String out, String err) {}

    Run kubectl(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("kubectl", "--server", "http://127.0.0.1:" + server.port(), "--request-timeout", "10s"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(false).start();
        var out = p.getInputStream().readAllBytes();
        var err = p.getErrorStream().readAllBytes();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return new Run(p.exitValue(), new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8));
    }

    Path file(String name, String text) throws IOException {
        Path f = dir.resolve(name);
        Files.writeString(f, text);
        return f;
    }

    @Test void kubectlAppliesGetsLabelsAndDeletes() throws Exception {
        Path f = file("app.yaml", """
                apiVersion: v1
                kind: Namespace
                metadata: {name: shop}
                ---
                apiVersion: v1
                kind: Service
                metadata: {name: web, namespace: shop}
                spec:
                  selector: {app: web}
                  ports: [{port: 80, targetPort: 8080}]
                ---
                apiVersion: networking.k8s.io/v1
                kind: NetworkPolicy
                metadata: {name: deny, namespace: shop}
                spec: {podSelector: {}, policyTypes: [Ingress]}
                """);
        Run apply = kubectl("apply", "--validate=false", "-f", f.toString());
        assertThat(apply.rc()).as(apply.err()).isZero();
        assertThat(apply.out()).contains("namespace/shop created", "service/web created", "networkpolicy.networking.k8s.io/deny created");

        Run table = kubectl("get", "svc", "-n", "shop");
        assertThat(table.rc()).as(table.err()).isZero();
        assertThat(table.out()).contains("NAME", "CLUSTER-IP").containsPattern("web\\s+ClusterIP\\s+10\\.96\\.0\\.10\\s+<none>\\s+80/TCP");

        Run json = kubectl("get", "svc", "web", "-n", "shop", "-o", "json");
        assertThat(json.rc()).as(json.err()).isZero();
        JsonNode svc = ApiTypes.JSON.readTree(json.out());
        assertThat(svc.path("spec").path("clusterIP").asString()).isEqualTo("10.96.0.10");

        Run label = kubectl("label", "ns", "shop", "team=a");
        assertThat(label.rc()).as(label.err()).isZero();
        assertThat(kubectl("get", "ns", "shop", "--show-labels").out()).contains("team=a");
        assertThat(kubectl("get", "ns", "-l", "team=a", "-o", "name").out().strip()).isEqualTo("namespace/shop");

        // a second apply with a change goes through the strategic merge patch
        Files.writeString(f, Files.readString(f).replace("port: 80,", "port: 81,"));
        Run again = kubectl("apply", "--validate=false", "-f", f.toString());
        assertThat(again.rc()).as(again.err()).isZero();
        assertThat(again.out()).contains("service/web configured", "namespace/shop unchanged");
        assertThat(kubectl("get", "svc", "web", "-n", "shop", "-o", "jsonpath={.spec.ports[*].port} {.spec.clusterIP}").out()).isEqualTo("81 10.96.0.10");

        Run delete = kubectl("delete", "-f", f.toString());
        assertThat(delete.rc()).as(delete.err()).isZero();
        assertThat(kubectl("get", "svc", "-A", "-o", "name").out()).isBlank();
    }
}
