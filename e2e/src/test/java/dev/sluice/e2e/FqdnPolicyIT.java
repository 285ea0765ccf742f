package dev.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.lab.LabNames;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import tools.jackson.databind.JsonNode;

/**
 * toFQDNs and rules.dns end to end on a 2-node tunnel lab (masquerading) with the lab's cluster DNS: a client pod
 * under default deny may ask kube-dns names matching {@code *.example.com} (its DNS goes through the
 * node's DNS proxy) and reach {@code api.example.com} on port 80, which {@code sluice lab dns set}
 * points at the world namespace, as is {@code other.example.com}. Before the allowed name is asked,
 * the other name's answer (the same address) opens nothing; the allowed name works on the first
 * connection (the address is programmed before the answer is released); a name outside the DNS
 * rules is REFUSED by the proxy and never reaches the server; when the TTL runs out and no connection
 * uses the address, the address leaves the policy again.
 */
@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: network namespaces, BPF")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FqdnPolicyIT {
    static final String LAB = "fqdnit";
    static final String MANIFESTS = """
            apiVersion: v1
            kind: Namespace
            metadata: {name: app}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: client, namespace: app, labels: {app: client}}
            spec: {nodeName: node2, containers: [{name: c}]}
            ---
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: client-egress, namespace: app}
            spec:
              endpointSelector: {matchLabels: {app: client}}
              egress:
              - toEndpoints:
                - matchLabels: {"k8s:io.kubernetes.pod.namespace": kube-system, k8s-app: kube-dns}
                toPorts:
                - ports: [{port: "53", protocol: ANY}]
                  rules:
                    dns:
                    - matchPattern: "*.example.com"
              - toFQDNs:
                - matchName: api.example.com
                toPorts:
                - ports: [{port: "80", protocol: TCP}]
            """;
    static Path dir;

    @BeforeAll static void setUp() throws IOException {
        Cli.requireRoot();
        Cli.down(LAB);
        dir = Files.createTempDirectory("sluice-fqdn-it");
        Files.writeString(dir.resolve("m.yaml"), MANIFESTS);
        // the world has no route to pod addresses: pods reach it with the node's address, as on a real cluster
        Files.writeString(dir.resolve("values.yaml"), "bpf:\n  masquerade: true\n");
        Cli.sluice("lab", "up", "--name", LAB, "--nodes", "2", "--values", dir.resolve("values.yaml").toString(),
                "-f", dir.resolve("m.yaml").toString()).ok();
        Cli.sluice("lab", "dns", "set", "--name", LAB, "--ttl", "3", "api.example.com", LabNames.WORLD_IP).ok();
        Cli.sluice("lab", "dns", "set", "--name", LAB, "other.example.com", LabNames.WORLD_IP).ok();
    }

    @AfterAll static void tearDown() { Cli.down(LAB); }

    static Cli.Run curl(String url) {
        return Cli.exec(LAB, "app/client", "curl", "-sS", "--connect-timeout", "2", "-m", "4", "-o", "/dev/null", "-w", "%{http_code}", url);
    }

    static Cli.Run dig(String name) {
        return Cli.exec(LAB, "app/client", "dig", "+tries=1", "+time=3", name, "A");
    }

    static JsonNode cache() {
        return Cli.sluice("fqdn", "cache", "list", "--name", LAB, "--node", "node2", "-o", "json").ok().json().path("nodes").path(0).path("result");
    }

    @Test @Order(1)
    void anotherNameOfTheAddressOpensNothingBeforeTheAllowedOneIsAsked() {
        Cli.Run r = curl("http://other.example.com/");
        assertThat(r.err()).as("the name resolves (the DNS rule allows *.example.com)").doesNotContain("Could not resolve");
        assertThat(r.exit()).as("but other.example.com is not in toFQDNs: %s %s", r.out(), r.err()).isIn(7, 28);
    }

    @Test @Order(2)
    void theAllowedNameWorksOnTheFirstConnection() {
        Cli.Run r = curl("http://api.example.com/");
        assertThat(r.exit()).as("curl: %s", r.err()).isZero();
        assertThat(r.out()).isEqualTo("200");
        JsonNode c = cache();
        assertThat(c.toString()).contains("api.example.com.").contains(LabNames.WORLD_IP).contains("app/client");
        String table = Cli.sluice("fqdn", "cache", "list", "--name", LAB).ok().out();
        assertThat(table).contains("api.example.com.").contains("ENDPOINT");
    }

    @Test @Order(3)
    void aNameOutsideTheDnsRulesIsRefused() {
        Cli.Run r = dig("blocked.test");
        assertThat(r.out()).as(r.err()).contains("status: REFUSED");
        Cli.Run ok = dig("other.example.com");
        assertThat(ok.out()).contains("status: NOERROR").contains(LabNames.WORLD_IP);
        JsonNode st = Cli.sluice("proxy", "status", "--name", LAB, "--node", "node2", "-o", "json").ok().json().path("nodes").path(0).path("result");
        assertThat(st.path("dns").path("denied").asLong()).as(st.toString()).isPositive();
    }

    @Test @Order(4)
    void dnsFlowsShowTheQueryAndTheVerdict() {
        String flows = Cli.sluice("observe", "--name", LAB, "--type", "l7", "--last", "200", "-o", "json").ok().out();
        assertThat(flows).contains("api.example.com.").contains("blocked.test.");
    }

    @Test @Order(5)
    void anExpiredNameLeavesThePolicy() throws InterruptedException {
        // TTL 3 s, no connection open: the entry goes once conntrack no longer holds the last connection
        long deadline = System.currentTimeMillis() + 60_000;
        while (cache().toString().contains("api.example.com.")) {
            assertThat(System.currentTimeMillis()).as("api.example.com expired from the cache: %s", cache()).isLessThan(deadline);
            TimeUnit.MILLISECONDS.sleep(500);
        }
        Cli.Run r = Cli.exec(LAB, "app/client", "curl", "-sS", "--connect-timeout", "2", "-m", "4", "-o", "/dev/null",
                "http://" + LabNames.WORLD_IP + "/");
        assertThat(r.exit()).as("the address without a fresh answer: %s", r.err()).isIn(7, 28);
    }
}
