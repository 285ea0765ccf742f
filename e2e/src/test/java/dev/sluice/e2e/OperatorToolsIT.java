package dev.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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
 * {@code sluice audit} and {@code sluice connectivity test} through the packaged jar.
 *
 * <p>Lab {@code auditit} (2 nodes, tunnel, masquerade, a LoadBalancer pool) starts clean: one
 * namespace under default deny with what its pods need allowed (DNS included). The audit passes and
 * every connectivity scenario passes; a policy in one scenario's namespace fails exactly that
 * scenario. Then one pitfall per check is seeded inside the lab's own namespaces (a smaller
 * underlay MTU on node2, a route into the Service CIDR and kube-proxy's chain on node1, pods and
 * Services with the manifest pitfalls) and the audit names each. Lab {@code auditip} has a pod CIDR
 * pool with no room for a third node and a conntrack table of 2,048 entries that a pod fills with
 * 1,900 UDP flows.
 */
@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: network namespaces, BPF, netlink")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class OperatorToolsIT {
    static final String LAB = "auditit", LAB_IPAM = "auditip";
    static final String VALUES = """
            bpf:
              masquerade: true
            lbExternalIPPool:
              cidr: 10.200.0.0/30
            """;
    static final String CLEAN = """
            apiVersion: v1
            kind: Pod
            metadata: {name: client, namespace: shop, labels: {app: client}}
            spec: {nodeName: node1, containers: [{name: c, ports: [{containerPort: 80}]}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: server, namespace: shop, labels: {app: server}}
            spec: {nodeName: node2, containers: [{name: c, ports: [{containerPort: 80}]}]}
            ---
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: default-deny, namespace: shop}
            spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
            ---
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: dns, namespace: shop}
            spec:
              podSelector: {}
              policyTypes: [Egress]
              egress:
              - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}, podSelector: {matchLabels: {k8s-app: kube-dns}}}]
                ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]
            ---
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: client-to-server, namespace: shop}
            spec:
              podSelector: {matchLabels: {app: client}}
              policyTypes: [Egress]
              egress:
              - to: [{podSelector: {matchLabels: {app: server}}}]
                ports: [{protocol: TCP, port: 80}]
            ---
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: server-from-client, namespace: shop}
            spec:
              podSelector: {matchLabels: {app: server}}
              ingress:
              - from: [{podSelector: {matchLabels: {app: client}}}]
                ports: [{protocol: TCP, port: 80}]
            """;
    /** One pitfall per manifest check: no DNS under egress deny, ndots 8, an open NodePort, a namespace without default deny, a per-pod label. */
    static final String PITFALLS = """
            apiVersion: v1
            kind: Pod
            metadata: {name: web-a, namespace: open, labels: {app: web, instance: a}}
            spec:
              nodeName: node1
              containers: [{name: c, ports: [{containerPort: 80}]}]
              dnsConfig: {options: [{name: ndots, value: "8"}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: web-b, namespace: open, labels: {app: web, instance: b}}
            spec: {nodeName: node2, containers: [{name: c, ports: [{containerPort: 80}]}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: web, namespace: open}
            spec: {type: NodePort, selector: {app: web}, ports: [{port: 80}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: batch, namespace: locked, labels: {app: batch}}
            spec: {nodeName: node1, containers: [{name: c}]}
            ---
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: default-deny, namespace: locked}
            spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
            """;
    static final String BREAK = """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: breaks-it, namespace: sluice-ct-pod-to-pod-other-node}
            spec: {podSelector: {}, policyTypes: [Ingress]}
            """;
    static Path dir;

    @BeforeAll static void setUp() throws IOException {
        Cli.requireRoot();
        Cli.down(LAB);
        Cli.down(LAB_IPAM);
        dir = Files.createTempDirectory("sluice-operator-it");
        Files.writeString(dir.resolve("values.yaml"), VALUES);
        Files.writeString(dir.resolve("clean.yaml"), CLEAN);
        Files.writeString(dir.resolve("pitfalls.yaml"), PITFALLS);
        Files.writeString(dir.resolve("break.yaml"), BREAK);
        Files.writeString(dir.resolve("ipam-values.yaml"), "ipam:\n  operator:\n    clusterPoolIPv4PodCIDRList: [10.0.0.0/23]\nbpf:\n  ctAnyMax: 2048\n");
        Files.writeString(dir.resolve("ct-pods.yaml"), """
                apiVersion: v1
                kind: Pod
                metadata: {name: sender, namespace: ct, labels: {app: sender}}
                spec: {nodeName: node1, containers: [{name: c}]}
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: receiver, namespace: ct, labels: {app: receiver}}
                spec: {nodeName: node2, containers: [{name: c, ports: [{containerPort: 53, protocol: UDP}]}]}
                """);
        Cli.sluice("lab", "up", "--name", LAB, "--nodes", "2", "--routing", "tunnel", "--values", dir.resolve("values.yaml").toString(),
                "-f", dir.resolve("clean.yaml").toString()).ok();
    }

    @AfterAll static void tearDown() {
        Cli.down(LAB);
        Cli.down(LAB_IPAM);
    }

    static Map<String, JsonNode> checks(Cli.Run r) {
        Map<String, JsonNode> out = new HashMap<>();
        for (JsonNode c : r.json().path("checks")) out.put(c.path("check").asString(), c);
        return out;
    }

    @Test @Order(1)
    void aCleanLabPassesTheAudit() {
        Cli.Run r = Cli.sluice("audit", "--name", LAB, "-o", "json");
        assertThat(r.exit()).as("exit; stdout %s stderr %s", r.out(), r.err()).isZero();
        assertThat(r.json().path("result").asString()).isEqualTo("pass");
        var c = checks(r);
        assertThat(c).hasSize(10);
        c.forEach((name, f) -> assertThat(f.path("status").asString()).as("%s: %s", name, f).isEqualTo("pass"));
        assertThat(c.get("mtu").path("summary").asString()).contains("path MTU 1450");
        assertThat(Cli.sluice("audit", "--name", LAB).ok().out()).contains("result: pass (10 pass, 0 warn, 0 fail, 0 skipped)");
    }

    @Test @Order(2)
    void everyConnectivityScenarioPassesOnACleanLab() {
        Cli.Run r = Cli.sluice("connectivity", "test", "--name", LAB, "-o", "json");
        assertThat(r.exit()).as("stdout %s stderr %s", r.out(), r.err()).isZero();
        Map<String, String> status = new HashMap<>();
        for (JsonNode s : r.json().path("scenarios")) status.put(s.path("scenario").asString(), s.path("status").asString());
        assertThat(status).containsEntry("pod-to-pod-same-node", "pass").containsEntry("pod-to-pod-other-node", "pass")
                .containsEntry("pod-to-service", "pass").containsEntry("pod-to-world", "pass").containsEntry("host-to-pod", "pass")
                .containsEntry("nodeport-from-world", "pass").containsEntry("lb-from-world", "pass").containsEntry("client-ingress", "pass")
                .containsEntry("all-ingress-deny", "pass").containsEntry("all-egress-deny", "pass")
                .containsEntry("echo-ingress-l7", "skip").containsEntry("to-fqdns", "skip");
        assertThat(r.out()).contains("DROPPED POLICY_DENIED").contains("NetworkPolicy sluice-ct-all-ingress-deny/all-ingress-deny")
                .contains("NetworkPolicy sluice-ct-all-egress-deny/all-egress-deny");
        // it cleaned up: no pod of a test namespace is left
        assertThat(Cli.sluice("lab", "get", "pods", "--name", LAB).ok().out()).doesNotContain("sluice-ct-");
    }

    @Test @Order(3)
    void aPolicyThatBreaksAScenarioFailsExactlyThatScenario() {
        Cli.sluice("lab", "apply", "--name", LAB, "-f", dir.resolve("break.yaml").toString()).ok();
        try {
            Cli.Run r = Cli.sluice("connectivity", "test", "--name", LAB, "--test", "pod-to-pod-.*,pod-to-service");
            assertThat(r.exit()).as("stdout %s stderr %s", r.out(), r.err()).isEqualTo(1);
            assertThat(r.out()).containsPattern("pod-to-pod-other-node\\s+FAIL\\s+\\d+ms\\s+pod:client -> pod:echo-other:80 allowed but it was denied")
                    .containsPattern("pod-to-pod-same-node\\s+PASS").containsPattern("pod-to-service\\s+PASS")
                    .contains("result: fail (2 passed, 1 failed, 0 skipped)")
                    .as("the drop the agents recorded names the policy that broke it")
                    .contains("flow: DROPPED POLICY_DENIED on node2, ingress denied by NetworkPolicy sluice-ct-pod-to-pod-other-node/breaks-it");
            assertThat(Cli.sluice("lab", "get", "pods", "--name", LAB).ok().out()).as("cleaned up after a failure").doesNotContain("sluice-ct-");
        } finally {
            Cli.sluice("lab", "delete", "--name", LAB, "-f", dir.resolve("break.yaml").toString()).ok();
        }
        Cli.Run bad = Cli.sluice("connectivity", "test", "--name", LAB, "--test", "pod-to-mars");
        assertThat(bad.exit()).isEqualTo(2);
        assertThat(bad.err().strip()).startsWith("sluice: --test: pod-to-mars (expected one of: pod-to-pod-same-node,").doesNotContain("\n");
    }

    @Test @Order(4)
    void theAuditFindsEachSeededPitfall() {
        Cli.sluice("lab", "apply", "--name", LAB, "-f", dir.resolve("pitfalls.yaml").toString()).ok();
        // the underlay between the nodes carries less than the pods were told (node2's uplink)
        Cli.exec(LAB, "node2", "ip", "link", "set", "eth0", "mtu", "1400").ok();
        Cli.exec(LAB, "node1", "ip", "route", "add", "10.96.0.0/16", "via", "172.30.0.200").ok();
        Cli.exec(LAB, "node1", "iptables", "-t", "nat", "-N", "KUBE-SERVICES").ok();
        Cli.Run r = Cli.sluice("audit", "--name", LAB, "-o", "json");
        assertThat(r.exit()).as("stderr %s", r.err()).isEqualTo(1);
        var c = checks(r);
        assertThat(c.get("mtu").path("status").asString()).isEqualTo("fail");
        // 1400 less VXLAN's 50, give or take the 4 bytes of VLAN header a veth lets through beyond its MTU
        assertThat(c.get("mtu").path("summary").asString()).matches("pods use MTU 1450 but the path between nodes carries only 135[0-4]");
        assertThat(c.get("mtu").path("fix").asString()).matches("set values mtu to 140[0-4] .*");
        assertThat(c.get("service-cidr").path("status").asString()).isEqualTo("fail");
        assertThat(c.get("service-cidr").path("evidence").toString()).contains("node1 routes 10.96.0.0/16 via 172.30.0.200");
        assertThat(c.get("kube-proxy").path("status").asString()).isEqualTo("fail");
        assertThat(c.get("kube-proxy").path("evidence").toString()).contains("node1: ").contains("KUBE-SERVICES");
        assertThat(c.get("dns-egress").path("status").asString()).isEqualTo("fail");
        // the lab's own DNS pod (kube-system/coredns-lab) is the cluster DNS the check finds
        assertThat(c.get("dns-egress").path("evidence").toString()).contains("locked/batch -> kube-system/coredns-lab UDP 53");
        assertThat(c.get("dns-ndots").path("status").asString()).isEqualTo("warn");
        assertThat(c.get("dns-ndots").path("evidence").toString()).contains("open/web-a: ndots 8");
        assertThat(c.get("nodeport-exposure").path("status").asString()).isEqualTo("fail");
        assertThat(c.get("nodeport-exposure").path("evidence").toString()).contains("Service open/web (NodePort").contains("open/web-a:80/TCP");
        assertThat(c.get("default-deny").path("status").asString()).isEqualTo("warn");
        assertThat(c.get("default-deny").path("summary").asString()).endsWith(": open");
        assertThat(c.get("identity-labels").path("status").asString()).isEqualTo("warn");
        assertThat(c.get("identity-labels").path("evidence").toString()).contains("label instance gives 2 pods with {app=web} one identity each");
        assertThat(c.get("ipam").path("status").asString()).isEqualTo("pass");
        assertThat(c.get("conntrack").path("status").asString()).isEqualTo("pass");
    }

    @Test @Order(5)
    void theAuditForecastsAPodCidrPoolWithNoRoomLeftAndSeesConntrackPressure() {
        Cli.sluice("lab", "up", "--name", LAB_IPAM, "--nodes", "2", "--values", dir.resolve("ipam-values.yaml").toString(),
                "-f", dir.resolve("ct-pods.yaml").toString()).ok();
        // 1,900 UDP flows (a new source port each) into a table of 2,048
        String receiver = SecurityIT.podIps(LAB_IPAM).get("ct/receiver") + ":53";
        List<String> probe = new java.util.ArrayList<>(List.of(Cli.home().resolve("build/bin/sluice-pod").toString(), "probe", "--proto", "udp",
                "--timeout-ms", "200"));
        for (int i = 0; i < 1900; i++) probe.add(receiver);
        Cli.exec(LAB_IPAM, "ct/sender", probe.toArray(String[]::new));
        Cli.Run r = Cli.sluice("audit", "--name", LAB_IPAM, "-o", "json");
        assertThat(r.exit()).isEqualTo(1);
        JsonNode ipam = checks(r).get("ipam");
        assertThat(ipam.path("status").asString()).isEqualTo("fail");
        assertThat(ipam.path("evidence").get(0).asString()).isEqualTo("cluster pool [10.0.0.0/23] /24: 2 of 2 node subnets used, 0 nodes can still join");
        JsonNode ct = checks(r).get("conntrack");
        assertThat(ct.path("status").asString()).as("%s", ct).isEqualTo("fail");
        assertThat(ct.path("summary").asString()).matches("a conntrack table is 9\\d% full");
        assertThat(ct.path("evidence").toString()).containsPattern("node1: TCP \\d+/524288 \\(0%\\), other 1[89]\\d\\d/2048");
        Cli.down(LAB_IPAM);
    }

    @Test @Order(6)
    void manifestsAloneAreAuditedOfflineAndBadInputIsOneLine() {
        Cli.Run r = Cli.sluice("audit", "-f", dir.resolve("pitfalls.yaml").toString(), "-o", "json");
        assertThat(r.exit()).isEqualTo(1);
        var c = checks(r);
        assertThat(c.get("mtu").path("status").asString()).isEqualTo("skip");
        assertThat(c.get("nodeport-exposure").path("status").asString()).isEqualTo("fail");
        assertThat(c.get("dns-egress").path("status").asString()).isEqualTo("fail");
        Cli.Run bad = Cli.sluice("audit", "--name", "nolab9");
        assertThat(bad.exit()).isEqualTo(2);
        assertThat(bad.err().strip()).isEqualTo("sluice: --name: nolab9 (expected: a running lab; see sluice lab up)");
    }

    /** Last: the seeded pitfalls and the tests' traffic made no agent log an error. */
    @Test @Order(Integer.MAX_VALUE)
    void theAgentsLoggedNoError() throws IOException {
        for (String node : List.of("node1", "node2")) {
            Path log = Path.of("/run/sluice/labs", LAB, "logs", node + ".log");
            assertThat(Files.readAllLines(log).stream().filter(l -> l.contains(" ERROR ")).toList()).as("%s", log).isEmpty();
        }
    }
}
