package dev.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import tools.jackson.databind.JsonNode;

/**
 * PMTU discovery through a Service: the backend sits behind a smaller MTU (1200 on its host-side
 * veth on node2; the pod itself keeps 1500, so it advertises an MSS of 1460 and the client sends
 * full-size segments with DF). node2's stack answers "fragmentation needed" about the translated
 * packet; the data path must give that error the frontend's addresses, or the client's stack finds
 * no socket for it, keeps resending 1500-byte segments and the upload stalls (checked by hand with
 * the translation disabled: a few hundred KB in 3 s, the socket buffer, instead of tens of MB).
 * Three paths: a pod on node1 through the ClusterIP (the error reaches the pod's to_container),
 * the world through node1's NodePort, source-NATed to node2 (the error reaches node1's uplink), and
 * the world through node2's own NodePort (the data path answers for the local backend).
 * Native routing, so node2's error goes straight back; socket LB serves the node namespaces only.
 */
@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: network namespaces, BPF, netlink")
class ServicePmtuIT {
    static final String LAB = "svcpmtu", N1 = "172.30.0.11", N2 = "172.30.0.12";
    static final String MANIFESTS = """
            apiVersion: v1
            kind: Pod
            metadata: {name: web, namespace: svc, labels: {app: web}}
            spec: {nodeName: node2, containers: [{name: c, ports: [{containerPort: 80}]}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: client, namespace: svc, labels: {app: client}}
            spec: {nodeName: node1, containers: [{name: c, ports: [{containerPort: 80}]}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: web, namespace: svc}
            spec: {type: NodePort, selector: {app: web}, ports: [{port: 8080, targetPort: 80, nodePort: 30090}]}
            """;
    /** Bytes a 3 s upload must pass: stalled, it passes only what the socket buffer takes. */
    static final long ENOUGH = 8L << 20;
    static String pod, vip, webVeth;

    @BeforeAll static void setUp() throws IOException {
        Cli.requireRoot();
        Cli.down(LAB);
        Path dir = Files.createTempDirectory("sluice-pmtu-it");
        // pods keep the per-packet path (socket LB would connect the client pod straight to the backend,
        // and no error would need translating): the pod case is the to_container translation's test
        Files.writeString(dir.resolve("values.yaml"), "routingMode: native\nsocketLB: {hostNamespaceOnly: true}\n");
        Files.writeString(dir.resolve("m.yaml"), MANIFESTS);
        pod = Cli.home().resolve("build/bin/sluice-pod").toString();
        Cli.sluice("lab", "up", "--name", LAB, "--nodes", "2", "--values", dir.resolve("values.yaml").toString(),
                "-f", dir.resolve("m.yaml").toString()).ok();
        for (JsonNode s : Cli.sluice("service", "list", "--name", LAB, "-o", "json").ok().json())
            if (s.path("service").asString().equals("svc/web")) vip = s.path("clusterIP").asString();
        String webIp = null;
        for (JsonNode p : Cli.sluice("lab", "get", "pods", "--name", LAB, "-o", "json").ok().json().path("items"))
            if (p.path("metadata").path("name").asString().equals("web")) webIp = p.path("status").path("podIP").asString();
        Matcher m = Pattern.compile("dev (\\S+)").matcher(Cli.exec(LAB, "node2", "ip", "route", "get", webIp).ok().out());
        assertThat(m.find()).isTrue();
        webVeth = m.group(1);
        // the smaller MTU behind the backend, on node2's side of the web pod's veth only
        Cli.exec(LAB, "node2", "ip", "link", "set", webVeth, "mtu", "1200").ok();
    }

    @AfterAll static void tearDown() { Cli.down(LAB); }

    static long upload(String from, String to) {
        Cli.Run r = Cli.exec(LAB, from, pod, "bench", "--mode", "stream", "--to", to, "--seconds", "3");
        System.out.println("pmtu upload " + from + " -> " + to + ": " + r.out().strip() + " " + r.err().strip());
        return r.out().isBlank() ? 0 : r.json().path("bytes").asLong();
    }

    @Test
    void aPodsUploadThroughTheClusterIpFindsThePathMtu() {
        long bytes = upload("svc/client", vip + ":8080");
        assertThat(bytes).as("client -> %s:8080 through a 1200-byte MTU behind the backend", vip).isGreaterThan(ENOUGH);
    }

    @Test
    void theWorldsUploadThroughANodePortToAnotherNodeFindsThePathMtu() {
        long bytes = upload("world", N1 + ":30090");
        assertThat(bytes).as("world -> node1:30090, backend on node2 behind a 1200-byte MTU").isGreaterThan(ENOUGH);
    }

    /**
     * The world through node2's own NodePort, whose backend is local: the packet is too big for
     * the pod's veth, and the data path itself answers "fragmentation needed" from the frontend,
     * quoting the client's packet as the client sent it (the node's stack would quote the backend).
     */
    @Test
    void theWorldsUploadThroughANodePortWithALocalBackendFindsThePathMtu() {
        long bytes = upload("world", N2 + ":30090");
        assertThat(bytes).as("world -> node2:30090, local backend behind a 1200-byte MTU").isGreaterThan(ENOUGH);
    }
}
