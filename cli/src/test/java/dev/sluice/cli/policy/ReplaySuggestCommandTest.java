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

/** sluice policy replay and suggest through Main.run: exit codes, output shapes, bad input. */
class ReplaySuggestCommandTest extends CliTest {
    @TempDir Path dir;

    static String flow(String from, String fromIp, String to, String toIp, int port) {
        return "{\"flow\":{\"time\":\"2026-12-02T10:00:00Z\",\"verdict\":\"FORWARDED\",\"IP\":{\"source\":\"" + fromIp + "\",\"destination\":\"" + toIp
                + "\"},\"l4\":{\"TCP\":{\"source_port\":40000,\"destination_port\":" + port + "}},"
                + "\"source\":{\"namespace\":\"x\",\"pod_name\":\"" + from + "\",\"labels\":[\"k8s:app=" + from + "\"]},"
                + "\"destination\":{\"namespace\":\"x\",\"pod_name\":\"" + to + "\",\"labels\":[\"k8s:app=" + to + "\"]},"
                + "\"traffic_direction\":\"INGRESS\",\"trace_observation_point\":\"TO_ENDPOINT\",\"node_name\":\"node1\"}}\n";
    }

    Path flows, policy;

    @BeforeEach void files() throws Exception {
        flows = dir.resolve("flows.json");
        Files.writeString(flows, flow("a", "10.0.0.1", "b", "10.0.0.2", 80) + flow("c", "10.0.0.3", "b", "10.0.0.2", 80));
        policy = dir.resolve("policy.yaml");
        Files.writeString(policy, """
                apiVersion: networking.k8s.io/v1
                kind: NetworkPolicy
                metadata: {name: b-from-a, namespace: x}
                spec:
                  podSelector: {matchLabels: {app: b}}
                  ingress:
                  - from: [{podSelector: {matchLabels: {app: a}}}]
                """);
    }

    @Test void replayExitsOneWhenAFlowChangesAndZeroWhenNone() throws Exception {
        assertThat(run("policy", "replay", "-f", policy.toString(), "--flows", flows.toString())).isEqualTo(1);
        assertThat(out.lines().findFirst().orElse("")).startsWith("CHANGE").contains("POLICY").contains("FROM").contains("TO").contains("FLOWS");
        assertThat(out).contains("FORWARDED -> DROPPED  NetworkPolicy x/b-from-a").contains(flows + ":2 x/c -> x/b TCP/80 FORWARDED -> DROPPED")
                .contains("2 flows, 2 with a policy verdict: 1 would change verdict");
        assertThat(run("policy", "replay", "-f", policy.toString(), "--flows", flows.toString(), "-o", "json")).isEqualTo(1);
        JsonNode j = JsonMapper.builder().build().readTree(out);
        assertThat(j.path("changed").asInt()).isEqualTo(1);
        assertThat(j.path("groups").get(0).path("from").asString()).isEqualTo("x/c");
        assertThat(j.path("groups").get(0).path("flows").get(0).path("where").asString()).isEqualTo(flows + ":2");

        Path open = dir.resolve("open.yaml");
        Files.writeString(open, Files.readString(policy).replace("- from: [{podSelector: {matchLabels: {app: a}}}]", "- {}"));
        assertThat(run("policy", "replay", "-f", open.toString(), "--flows", flows.toString())).isZero();
        assertThat(out).contains("2 flows, 2 with a policy verdict: 0 would change verdict");
    }

    @Test void aBadFlowLineIsOneLineNamingFileLineAndField() throws Exception {
        Files.writeString(flows, flow("a", "10.0.0.1", "b", "10.0.0.2", 80) + flow("c", "10.0.0.300", "b", "10.0.0.2", 80));
        assertThat(run("policy", "replay", "-f", policy.toString(), "--flows", flows.toString())).isEqualTo(2);
        assertThat(err.strip()).isEqualTo("sluice: " + flows + ":2: IP.source: 10.0.0.300 (expected: an IPv4 address)");
        assertThat(run("policy", "suggest", "-n", "x", "--flows", flows.toString())).isEqualTo(2);
        assertThat(err.strip()).isEqualTo("sluice: " + flows + ":2: IP.source: 10.0.0.300 (expected: an IPv4 address)");
        assertThat(run("policy", "replay", "-f", policy.toString(), "--flows", dir.resolve("none.json").toString())).isEqualTo(2);
        assertThat(err.strip()).isEqualTo("sluice: --flows: " + dir.resolve("none.json") + ": no such file (expected: a file of Hubble JSON flows)");
        assertThat(run("policy", "replay", "-f", policy.toString(), "--flows", flows.toString(), "--follow")).isEqualTo(2);
        assertThat(err.strip()).isEqualTo("sluice: --flows: given with --follow (expected: flows from files, or from the flow API)");
    }

    @Test void aBadPolicyFileIsNamed() throws Exception {
        Files.writeString(policy, Files.readString(policy).replace("podSelector: {matchLabels: {app: b}}", "podSelector: {matchLabel: {app: b}}"));
        assertThat(run("policy", "replay", "-f", policy.toString(), "--flows", flows.toString())).isEqualTo(2);
        assertThat(err.strip().lines()).hasSize(1);
        assertThat(err).contains(policy.toString()).contains("matchLabel");
    }

    @Test void suggestPrintsManifestsThatValidateAndReplayWithoutChange() throws Exception {
        assertThat(run("policy", "suggest", "-n", "x", "--flows", flows.toString())).isZero();
        Path s = dir.resolve("suggested.yaml");
        Files.writeString(s, out);
        assertThat(out).contains("kind: NetworkPolicy").contains("name: suggested-b");
        assertThat(run("policy", "validate", "-f", s.toString())).isZero();
        assertThat(run("policy", "replay", "-f", s.toString(), "--flows", flows.toString())).isZero();
        assertThat(run("policy", "suggest", "--pod", "x/b", "--kind", "cnp", "--flows", flows.toString(), "-o", "json")).isZero();
        JsonNode j = JsonMapper.builder().build().readTree(out);
        assertThat(j).hasSize(1);
        assertThat(j.get(0).path("kind").asString()).isEqualTo("CiliumNetworkPolicy");
        assertThat(j.get(0).path("spec").path("endpointSelector").path("matchLabels").path("app").asString()).isEqualTo("b");
    }

    @Test void suggestBadInput() {
        assertThat(run("policy", "suggest", "--flows", flows.toString())).isEqualTo(2);
        assertThat(err.strip()).isEqualTo("sluice: target: none given (expected: -n NAMESPACE, --pod [namespace/]name-prefix or -l SELECTOR)");
        assertThat(run("policy", "suggest", "-n", "x", "--kind", "calico", "--flows", flows.toString())).isEqualTo(2);
        assertThat(err.strip()).isEqualTo("sluice: --kind: calico (expected: np or cnp)");
        assertThat(run("policy", "suggest", "-n", "x", "-l", "app=b,=x", "--flows", flows.toString())).isEqualTo(2);
        assertThat(err.strip()).isEqualTo("sluice: --selector: =x (expected: key=value, key!=value or key)");
        assertThat(run("policy", "suggest", "-n", "y", "--flows", flows.toString())).isEqualTo(1);
        assertThat(err.strip()).startsWith("sluice: no forwarded flow of the selected pods");
    }
}
