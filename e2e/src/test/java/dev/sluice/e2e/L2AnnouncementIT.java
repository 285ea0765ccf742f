package dev.sluice.e2e;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.lab.Procs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import tools.jackson.databind.JsonNode;

/**
 * L2 announcements with real packets, in both routing modes: the world host, on the same LAN as the
 * LoadBalancer and external addresses (an on-link route, no route via a node), reaches them because
 * exactly one node answers its ARP; the announcing node's agent is killed and another node takes the
 * lease once it would have expired, sends a gratuitous ARP that moves the world's neighbour entry,
 * and the addresses answer again; the killed agent, started again, stands by and no longer answers.
 *
 * <p>Leases of 6 s (renew deadline 3 s, retry 1 s) keep the test short; the failover time with
 * Cilium's defaults is measured by hand in docs/benchmarks.md.
 */
@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: network namespaces, BPF, netlink")
class L2AnnouncementIT {
    static final String LB_IP = "10.210.0.1", EXT_IP = "10.211.0.5";
    static final long LEASE_MS = 6000, RETRY_MS = 1000;
    static final String VALUES = """
            lbExternalIPPool:
              cidr: 10.210.0.1/32
            externalIPs:
              allowedCIDRs: [10.211.0.0/24]
            l2announcements:
              leaseDuration: 6s
              leaseRenewDeadline: 3s
              leaseRetryPeriod: 1s
            """;
    static final String APP = """
            apiVersion: v1
            kind: Pod
            metadata: {name: web-1, namespace: l2, labels: {app: web}}
            spec: {nodeName: node1, containers: [{name: c, ports: [{containerPort: 80}]}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: web-2, namespace: l2, labels: {app: web}}
            spec: {nodeName: node2, containers: [{name: c, ports: [{containerPort: 80}]}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: web-lb, namespace: l2}
            spec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 80}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: web-ext, namespace: l2}
            spec: {selector: {app: web}, externalIPs: [10.211.0.5], ports: [{port: 80}]}
            ---
            apiVersion: cilium.io/v2alpha1
            kind: CiliumL2AnnouncementPolicy
            metadata: {name: lan}
            spec: {interfaces: ["^eth0$"], loadBalancerIPs: true, externalIPs: true}
            """;

    @ParameterizedTest(name = "{0} routing")
    @ValueSource(strings = {"native", "tunnel"})
    void theWorldReachesAnnouncedAddressesAndAnotherNodeTakesOverFromAKilledAgent(String routing) throws Exception {
        Cli.requireRoot();
        String lab = "l2" + routing.substring(0, 3);
        Cli.down(lab);
        Path dir = Files.createTempDirectory("sluice-l2-it");
        Files.writeString(dir.resolve("values.yaml"), VALUES);
        Files.writeString(dir.resolve("app.yaml"), APP);
        String world = "sl-" + lab + "-world";
        String pod = Cli.home().resolve("build/bin/sluice-pod").toString();
        try {
            long t0 = System.nanoTime();
            Cli.sluice("lab", "up", "--name", lab, "--nodes", "2", "--routing", routing, "--values", dir.resolve("values.yaml").toString(),
                    "-f", dir.resolve("app.yaml").toString()).ok();
            System.out.printf("L2AnnouncementIT %s: lab up in %d ms%n", routing, (System.nanoTime() - t0) / 1_000_000);
            // the world is on the LAN of the announced ranges: on-link routes, none via a node
            String routes = Procs.check(List.of("ip", "-n", world, "route", "show")).stdout();
            assertThat(routes).contains("10.210.0.1 dev eth0", "10.211.0.0/24 dev eth0").doesNotContain("via");
            Map<String, String> macs = new TreeMap<>();
            for (String n : List.of("node1", "node2"))
                macs.put(n, Cli.JSON.readTree(Procs.check(List.of("ip", "-n", "sl-" + lab + "-" + n, "-j", "link", "show", "eth0")).stdout())
                        .get(0).path("address").asString());

            String holder = awaitAnnounced(lab, null, 20_000);
            String other = holder.equals("node1") ? "node2" : "node1";
            for (String to : List.of(LB_IP, EXT_IP)) {
                var r = Cli.exec(lab, "world", pod, "http", "--to", to + ":80", "--timeout-ms", "3000");
                assertThat(r.exit()).as("world -> %s before the failover: %s", to, r.err()).isZero();
                assertThat(r.json().path("pod").asString()).startsWith("l2/web-");
                assertThat(neighbour(world, to)).as("the world's neighbour entry for %s", to).isEqualTo(macs.get(holder));
            }
            // only the holder answered: the other node counted the requests as not announced there
            JsonNode otherView = l2(lab, other);
            assertThat(otherView.path("arp").path("replied").asLong()).as("replies by %s, the non-holder", other).isZero();
            assertThat(l2(lab, holder).path("arp").path("replied").asLong()).as("replies by %s, the holder", holder).isPositive();

            // the holder's agent dies; its node's data path stays, and stops answering when the lease would have expired
            long killed = System.nanoTime();
            List<String> cmdline = Cli.killAgent(lab, holder);
            long movedMs = -1;
            while ((System.nanoTime() - killed) / 1_000_000 < LEASE_MS + 2 * RETRY_MS + 6000) {
                if (macs.get(other).equals(neighbour(world, LB_IP)) && macs.get(other).equals(neighbour(world, EXT_IP))) {
                    movedMs = (System.nanoTime() - killed) / 1_000_000;
                    break;
                }
                TimeUnit.MILLISECONDS.sleep(100);
            }
            System.out.printf("L2AnnouncementIT %s: %s's agent killed; %s announces (world's neighbour entries moved by its gratuitous ARP) after %d ms%n",
                    routing, holder, other, movedMs);
            assertThat(movedMs).as("the world's neighbour entries moved to %s", other).isPositive();
            // not before the killed holder's last renewal (at most one retry period before the kill) can have
            // expired, nor later than the lease plus two retry periods (seen late, tried late) and some slack
            assertThat(movedMs).isGreaterThanOrEqualTo(LEASE_MS - RETRY_MS - 200).isLessThanOrEqualTo(LEASE_MS + 2 * RETRY_MS + 3000);
            assertThat(awaitAnnounced(lab, other, 5000)).isEqualTo(other);
            for (String to : List.of(LB_IP, EXT_IP)) {
                // forget the entry: the world asks again, and only the new holder answers
                Procs.check(List.of("ip", "-n", world, "neigh", "flush", "to", to));
                var r = Cli.exec(lab, "world", pod, "http", "--to", to + ":80", "--timeout-ms", "3000");
                assertThat(r.exit()).as("world -> %s after the failover: %s", to, r.err()).isZero();
                assertThat(neighbour(world, to)).as("answered by %s", other).isEqualTo(macs.get(other));
            }

            // the killed agent comes back: the lease is another's, so its node stands by and answers nothing
            Cli.startAgent(lab, holder, cmdline);
            long replied = l2(lab, holder).path("arp").path("replied").asLong();
            for (JsonNode a : l2(lab, holder).path("announcements")) {
                assertThat(a.path("state").asString()).as("%s on the restarted %s", a.path("address").asString(), holder).isEqualTo("standby");
                assertThat(a.path("holder").asString()).isEqualTo(other);
            }
            for (String to : List.of(LB_IP, EXT_IP)) {
                Procs.check(List.of("ip", "-n", world, "neigh", "flush", "to", to));
                assertThat(Cli.exec(lab, "world", pod, "http", "--to", to + ":80", "--timeout-ms", "3000").exit()).isZero();
                assertThat(neighbour(world, to)).isEqualTo(macs.get(other));
            }
            assertThat(l2(lab, holder).path("arp").path("replied").asLong()).as("no replies from the restarted standby").isEqualTo(replied);
            assertThat(l2(lab, holder).path("arp").path("pass_not_announced").asLong()).isPositive();
            String status = Cli.sluice("status", "--name", lab, "--node", other).ok().out();
            assertThat(status).contains("L2 announce: 2/2 candidate addresses announced here (2 leases held");
            String table = Cli.sluice("bpf", "l2", "list", "--name", lab, "--node", other).ok().out();
            assertThat(table).contains(LB_IP, EXT_IP, "announcing");

            if (routing.equals("native")) {
                // a CiliumLoadBalancerIPPool applied later puts the world on its LAN too, and takes it off when deleted
                Path pool = Files.writeString(dir.resolve("pool.yaml"), """
                        apiVersion: cilium.io/v2
                        kind: CiliumLoadBalancerIPPool
                        metadata: {name: later}
                        spec: {blocks: [{start: 10.212.0.10, stop: 10.212.0.13}]}
                        """);
                Cli.sluice("lab", "apply", "--name", lab, "-f", pool.toString()).ok();
                assertThat(Procs.check(List.of("ip", "-n", world, "route", "show")).stdout())
                        .contains("10.212.0.10/31 dev eth0 proto 77", "10.212.0.12/31 dev eth0 proto 77");
                Cli.sluice("lab", "delete", "--name", lab, "-f", pool.toString()).ok();
                assertThat(Procs.check(List.of("ip", "-n", world, "route", "show")).stdout()).doesNotContain("10.212.0.")
                        .contains("10.210.0.1 dev eth0 proto 77");
            }
        } finally {
            Cli.down(lab);
        }
    }

    /** The node announcing both addresses (when {@code node} is given, that one), waited for. */
    static String awaitAnnounced(String lab, String node, long timeoutMs) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (true) {
            JsonNode r = (node == null ? Cli.sluice("bpf", "l2", "list", "--name", lab, "-o", "json")
                    : Cli.sluice("bpf", "l2", "list", "--name", lab, "--node", node, "-o", "json")).ok().json();
            for (JsonNode n : r.path("nodes")) {
                int announced = 0;
                for (JsonNode a : n.path("result").path("announcements")) if (a.path("state").asString().equals("announcing")) announced++;
                String name = n.path("node").asString();
                if (announced == 2 && (node == null || node.equals(name))) return name;
            }
            assertThat(System.currentTimeMillis()).as("a node announces %s and %s: %s", LB_IP, EXT_IP, r).isLessThan(deadline);
            TimeUnit.MILLISECONDS.sleep(300);
        }
    }

    static JsonNode l2(String lab, String node) {
        return Cli.sluice("bpf", "l2", "list", "--name", lab, "--node", node, "-o", "json").ok().json().path("nodes").get(0).path("result");
    }

    /** The MAC the world's neighbour table holds for {@code ip}, "" when none. */
    static String neighbour(String world, String ip) {
        String out = Procs.check(List.of("ip", "-n", world, "neigh", "show", ip)).stdout();
        var m = java.util.regex.Pattern.compile("lladdr (\\S+)").matcher(out);
        return m.find() ? m.group(1) : "";
    }
}
