package dev.sluice.e2e;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.lab.LabNet;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Bad input to the lab: one clear line, exit code 2, nothing half-made. */
@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: network namespaces, BPF, netlink")
class LabBadInputIT {
    static final String LAB = "lbad";
    static Path dir;

    @BeforeAll static void setUp() throws IOException {
        Cli.requireRoot();
        Cli.down(LAB);
        dir = Files.createTempDirectory("sluice-bad-it");
    }

    @AfterAll static void tearDown() { Cli.down(LAB); }

    static String pod(String name) {
        return "apiVersion: v1\nkind: Pod\nmetadata: {name: " + name + ", namespace: default}\nspec: {containers: [{name: c}]}\n";
    }

    @Test void unknownValuesKeyAndMalformedManifestsMakeNothing() throws IOException {
        Path values = Files.writeString(dir.resolve("bad-values.yaml"), "bpf:\n  ctTcpMaxx: 1000\n");
        var r = Cli.sluice("lab", "up", "--name", LAB, "--values", values.toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err().strip()).isEqualTo("sluice: " + values + ": bpf.ctTcpMaxx: unknown key "
                + "(expected a key listed in docs/configuration.md; did you mean bpf.ctTcpMax?)");
        assertThat(LabNet.labNetns(LAB)).isEmpty();

        Path bad = Files.writeString(dir.resolve("bad-pod.yaml"), pod("a").replace("containers: [{name: c}]",
                "containers: [{name: c, ports: [{containerPort: 0}]}]"));
        r = Cli.sluice("lab", "up", "--name", LAB, "-f", bad.toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains(bad.toString()).contains("Pod default/a").contains("spec.containers[0].ports[0].containerPort: 0 (expected: 1-65535)");
        assertThat(LabNet.labNetns(LAB)).isEmpty();
    }

    @Test void l2AnnouncementsWithoutTheApiServerAreRefusedAndMakeNothing() throws IOException {
        Path values = Files.writeString(dir.resolve("l2-values.yaml"), "l2announcements:\n  enabled: true\n");
        var r = Cli.sluice("lab", "up", "--name", LAB, "--api", "manifests", "--values", values.toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err().strip()).isEqualTo("sluice: " + values + ": l2announcements.enabled: true (expected: false with --api manifests;"
                + " the node that announces each Service is elected with Leases, which only the lab's API server holds)");
        assertThat(LabNet.labNetns(LAB)).isEmpty();
        Path lease = Files.writeString(dir.resolve("lease-values.yaml"), "l2announcements:\n  leaseDuration: 5s\n");
        r = Cli.sluice("lab", "up", "--name", LAB, "--values", lease.toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err().strip()).isEqualTo("sluice: " + lease + ": l2announcements.leaseRenewDeadline: 5s (expected: less than"
                + " l2announcements.leaseDuration 5s)");
        assertThat(LabNet.labNetns(LAB)).isEmpty();
    }

    @Test void anExhaustedPodCidrFailsThatPodOnly() throws IOException {
        Path values = Files.writeString(dir.resolve("small.yaml"), "ipam:\n  operator:\n    clusterPoolIPv4MaskSize: 30\n");
        // the lab's DNS pod (kube-system/coredns-lab) takes one of the two addresses, p1 the other
        Path two = Files.writeString(dir.resolve("two.yaml"), pod("p1"));
        Path third = Files.writeString(dir.resolve("third.yaml"), pod("p3"));
        try {
            Cli.sluice("lab", "up", "--name", LAB, "--nodes", "1", "--values", values.toString(), "-f", two.toString()).ok();
            int namespaces = LabNet.labNetns(LAB).size();
            var r = Cli.sluice("lab", "apply", "--name", LAB, "-f", third.toString());
            assertThat(r.exit()).isEqualTo(2);
            assertThat(r.err()).contains("pod default/p3").contains("pod CIDR 10.0.0.0/30 is exhausted: all 2 addresses are in use");
            assertThat(Cli.sluice("lab", "get", "pods", "--name", LAB, "-o", "json").ok().json().path("items")).hasSize(2);
            assertThat(LabNet.labNetns(LAB)).hasSize(namespaces);
            // the others are untouched and the node reports the CIDR full
            var st = Cli.sluice("status", "--name", LAB, "-o", "json").ok().json().path("nodes").get(0).path("ipam");
            assertThat(st.path("used").asInt()).isEqualTo(2);
            assertThat(st.path("capacity").asInt()).isEqualTo(2);
        } finally {
            Cli.down(LAB);
        }
    }
}
