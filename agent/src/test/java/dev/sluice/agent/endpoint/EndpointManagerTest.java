package dev.sluice.agent.endpoint;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.agent.ipam.IpamStore;
import dev.sluice.agent.lb.CtGc;
import dev.sluice.agent.policy.PolicyReconciler;
import dev.sluice.datapath.NodeDatapath;
import dev.sluice.datapath.maps.CtEntry;
import dev.sluice.datapath.maps.CtKey;
import dev.sluice.datapath.maps.EndpointInfo;
import dev.sluice.datapath.maps.EndpointKey;
import dev.sluice.net.Cidr;
import dev.sluice.net.Ip;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

/** Removing an endpoint against real (pinned, unattached) maps; no veth is created. */
@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: network namespaces, BPF, netlink")
class EndpointManagerTest {
    Path pins, state;
    NodeDatapath dp;

    @BeforeEach
    void load() throws IOException {
        pins = Path.of("/sys/fs/bpf", "sl-test-" + UUID.randomUUID().toString().substring(0, 8));
        dp = NodeDatapath.load(Path.of(System.getProperty("sluice.home"), "build/bpf"), pins);
        state = Files.createTempDirectory("sl-endpoints");
    }

    @AfterEach
    void close() throws IOException {
        dp.close();
        for (Path root : new Path[] {pins, state})
            try (Stream<Path> s = Files.walk(root)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
            }
    }

    @Test
    void aRemovedEndpointTakesItsConntrackAlong() throws IOException {
        int pod = Ip.parse("10.0.0.5"), other = Ip.parse("10.0.0.6"), remote = Ip.parse("10.0.1.9");
        // persisted by an earlier run; its veth is gone (the pod was deleted while no agent ran), so restore removes it
        Endpoint e = new Endpoint(7, "c-a", "eth0", "x/a", "/dev/null", "10.0.0.5", EndpointManager.hostIfname("c-a", "eth0"), 4242,
                "0e:00:00:00:00:01", "0a:00:00:00:00:01", 1450, false);
        Files.writeString(state.resolve(e.hostIfname() + ".json"), JsonMapper.builder().build().writeValueAsString(e));
        dp.endpoints().put(new EndpointKey(pod), new EndpointInfo(e.hostIfindex(), 300, e.id(), 0, e.podMac(), e.hostMac()));
        var lb = dp.lb();
        CtEntry live = new CtEntry(System.nanoTime() + 3_600_000_000_000L, 0, 0, 0, 0, 0, 300, 1, 60, 0, 0);
        CtKey reply = new CtKey(remote, pod, 80, 40000, 6, CtKey.INGRESS), unrelated = new CtKey(other, remote, 40000, 80, 6, CtKey.EGRESS);
        lb.ctTcp().put(reply, live);
        lb.ctTcp().put(unrelated, live);
        lb.ctFill().put(0, 2L);

        var m = new EndpointManager(state, new IpamStore(state.resolve("ipam"), Cidr.parse("10.0.0.0/24")), dp,
                new PolicyReconciler(dp, 16384), new CtGc(lb, id -> 0));
        m.restore();

        assertThat(m.list()).isEmpty();
        assertThat(dp.endpoints().get(new EndpointKey(pod))).isEmpty();
        assertThat(lb.ctTcp().all().keySet()).containsExactly(unrelated);
        assertThat(lb.ctFill().get(0)).contains(1L);
    }
}
