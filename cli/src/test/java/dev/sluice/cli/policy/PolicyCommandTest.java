package dev.sluice.cli.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.cli.CliTest;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** sluice policy through Main.run, capturing stdout and stderr. */
class PolicyCommandTest extends CliTest {
    @TempDir Path dir;

    @BeforeEach void model() throws Exception {
        StringBuilder sb = new StringBuilder();
        String[] ns = {"x", "y", "z"}, pods = {"a", "b", "c"};
        for (int n = 0; n < 3; n++) {
            sb.append("apiVersion: v1\nkind: Namespace\nmetadata: {name: ").append(ns[n]).append("}\n---\n");
            for (int p = 0; p < 3; p++) {
                sb.append("apiVersion: v1\nkind: Pod\nmetadata: {name: ").append(pods[p]).append(", namespace: ").append(ns[n])
                        .append(", labels: {pod: ").append(pods[p]).append("}}\nspec:\n  containers:\n  - name: c\n    ports:\n");
                for (int port : new int[] {80, 81}) for (String pr : new String[] {"TCP", "UDP", "SCTP"})
                    sb.append("    - {containerPort: ").append(port).append(", protocol: ").append(pr).append(", name: serve-").append(port).append('-').append(pr.toLowerCase()).append("}\n");
                sb.append("status: {podIP: 10.0.").append(n + 1).append('.').append(p + 1).append("}\n---\n");
            }
        }
        Files.writeString(dir.resolve("model.yaml"), sb.toString());
        Files.writeString(dir.resolve("policy.yaml"), """
                apiVersion: networking.k8s.io/v1
                kind: NetworkPolicy
                metadata: {name: a-from-b, namespace: x}
                spec:
                  podSelector: {matchLabels: {pod: a}}
                  ingress:
                  - from: [{podSelector: {matchLabels: {pod: b}}}]
                    ports: [{port: serve-80-tcp}]
                """);
    }

    @Test void matrixJsonHasTheContractFormat() throws Exception {
        assertThat(run("policy", "matrix", "-f", dir.toString(), "--port", "80", "--protocol", "TCP", "-o", "json")).isZero();
        JsonNode j = JsonMapper.builder().build().readTree(out);
        assertThat(j.get("port").isInt()).isTrue();
        assertThat(j.get("port").asInt()).isEqualTo(80);
        assertThat(j.get("protocol").asString()).isEqualTo("TCP");
        assertThat(j.get("pods").toString()).isEqualTo("[\"x/a\",\"x/b\",\"x/c\",\"y/a\",\"y/b\",\"y/c\",\"z/a\",\"z/b\",\"z/c\"]");
        assertThat(j.get("matrix").get("x/b").get("x/a").asString()).isEqualTo("allow");
        assertThat(j.get("matrix").get("x/c").get("x/a").asString()).isEqualTo("deny");
        assertThat(j.get("matrix").get("x/a").get("x/a").asString()).as("loopback").isEqualTo("allow");
        assertThat(j.get("matrix").get("y/b").get("y/c").asString()).isEqualTo("allow");
    }

    @Test void matrixNamedPortAndTable() {
        assertThat(run("policy", "matrix", "-f", dir.resolve("model.yaml").toString(), dir.resolve("policy.yaml").toString(), "--port", "serve-81-udp", "--protocol", "UDP", "-o", "json")).isZero();
        assertThat(out).contains("\"port\" : \"serve-81-udp\"");
        assertThat(run("policy", "matrix", "-f", dir.toString(), "--port", "80")).isZero();
        var lines = out.lines().toList();
        assertThat(lines.getFirst().trim().split("\\s+")).containsExactly("FROM\\TO", "x/a", "x/b", "x/c", "y/a", "y/b", "y/c", "z/a", "z/b", "z/c");
        assertThat(lines.get(1).trim().split("\\s+")).containsExactly("x/a", ".", ".", ".", ".", ".", ".", ".", ".", ".");
        assertThat(lines.get(2).trim().split("\\s+")).containsExactly("x/b", ".", ".", ".", ".", ".", ".", ".", ".", ".");
    }

    @Test void traceExplainsTheVerdict() {
        assertThat(run("policy", "trace", "-f", dir.toString(), "--from", "x/c", "--to", "x/a", "--port", "80", "--protocol", "TCP")).isZero();
        assertThat(out).contains("Verdict: DENY").contains("NetworkPolicy x/a-from-b").contains("default deny");
        assertThat(run("policy", "trace", "-f", dir.toString(), "--from", "x/b", "--to", "x/a", "--port", "80", "-o", "json")).isZero();
        assertThat(out).contains("\"verdict\" : \"allow\"").contains("NetworkPolicy x/a-from-b spec.ingress[0]");
    }

    @Test void explainOnePod() {
        assertThat(run("policy", "explain", "-f", dir.toString(), "x/a")).isZero();
        assertThat(out).contains("x/a (identity").contains("isolated for ingress").contains("(now: x/b)");
        assertThat(out).doesNotContain("x/b (identity");
    }

    @Test void validateReportsEveryProblem() throws Exception {
        Files.writeString(dir.resolve("bad.yaml"), """
                apiVersion: networking.k8s.io/v1
                kind: NetworkPolicy
                metadata: {name: bad1, namespace: x}
                spec:
                  podSelector: {}
                  ingress: [{ports: [{port: 70000}]}]
                ---
                apiVersion: cilium.io/v2
                kind: CiliumNetworkPolicy
                metadata: {name: bad2, namespace: x}
                spec:
                  endpointSelector: {}
                  egress: [{toEntities: [nowhere]}]
                """);
        assertThat(run("policy", "validate", "-f", dir.toString())).isEqualTo(2);
        assertThat(err).contains("bad.yaml: NetworkPolicy x/bad1: spec.ingress[0].ports[0].port: 70000 (expected: 1-65535)")
                .contains("bad.yaml: CiliumNetworkPolicy x/bad2: spec.egress[0].toEntities[0]: nowhere (expected one of:");
        assertThat(run("policy", "matrix", "-f", dir.toString(), "--port", "80")).isEqualTo(2);
        assertThat(err.lines().count()).isEqualTo(1);
        assertThat(run("policy", "validate", "-f", dir.resolve("model.yaml").toString())).isZero();
        assertThat(out).startsWith("ok: 0 policies, 9 pods, 3 namespaces");
    }

    @Test void badArgumentsExitTwo() {
        assertThat(run("policy", "matrix", "-f", dir.toString(), "--port", "70000")).isEqualTo(2);
        assertThat(err).contains("--port: 70000");
        assertThat(run("policy", "matrix", "-f", dir.toString(), "--port", "80", "--protocol", "ICMP")).isEqualTo(2);
        assertThat(run("policy", "matrix", "-f", dir.resolve("missing.yaml").toString(), "--port", "80")).isEqualTo(2);
    }

    @Test void valuesFileSetsEnforcementMode() throws Exception {
        Files.writeString(dir.resolve("values.yml.txt"), "policyEnforcementMode: never\n");
        assertThat(run("policy", "matrix", "-f", dir.toString(), "--port", "80", "--values", dir.resolve("values.yml.txt").toString(), "-o", "json")).isZero();
        assertThat(out).doesNotContain("\"deny\"");
    }
}
