package dev.sluice.agent.lb;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.datapath.NodeDatapath;
import dev.sluice.datapath.maps.CtEntry;
import dev.sluice.datapath.maps.CtKey;
import dev.sluice.datapath.maps.LbAffinityKey;
import dev.sluice.datapath.maps.LbAffinityValue;
import dev.sluice.datapath.maps.LbBackend;
import dev.sluice.datapath.maps.LbMaps;
import dev.sluice.datapath.maps.NatEntry;
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

/**
 * Forgetting a deleted pod's address in real (pinned, unattached) conntrack, NAT and affinity maps:
 * every entry that would hand a later holder of the address something meant for the old one goes,
 * nothing else does, and the CT fill counters drop by what was removed.
 */
@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: network namespaces, BPF, netlink")
class CtGcTest {
    static final int TCP = 6, UDP = 17;
    static final int POD = Ip.parse("10.0.0.5"), OTHER = Ip.parse("10.0.0.6"), REMOTE = Ip.parse("10.0.1.9"),
            VIP = Ip.parse("10.96.0.10"), NODE = Ip.parse("172.30.0.11");

    Path pins;
    NodeDatapath dp;
    LbMaps lb;

    @BeforeEach
    void load() {
        pins = Path.of("/sys/fs/bpf", "sl-test-" + UUID.randomUUID().toString().substring(0, 8));
        dp = NodeDatapath.load(Path.of(System.getProperty("sluice.home"), "build/bpf"), pins);
        lb = dp.lb();
    }

    @AfterEach
    void close() throws IOException {
        dp.close();
        try (Stream<Path> s = Files.walk(pins)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }

    static CtEntry ct(int natAddr) { return new CtEntry(System.nanoTime() + 3_600_000_000_000L, 0, 0, natAddr, natAddr == 0 ? 0 : 8080, 0, 300, 1, 60, 0, 0); }

    static NatEntry nat(int to) { return new NatEntry(System.nanoTime() + 3_600_000_000_000L, to, 40000, 0, 0); }

    @Test
    void forgetRemovesEveryEntryOfTheAddressAndCorrectsTheFillCounters() {
        CtKey podOut = new CtKey(POD, REMOTE, 40000, 80, TCP, CtKey.EGRESS), podIn = new CtKey(REMOTE, POD, 50000, 8080, TCP, CtKey.INGRESS),
                toPodBackend = new CtKey(OTHER, VIP, 41000, 80, TCP, CtKey.SERVICE), podDns = new CtKey(POD, REMOTE, 40001, 53, UDP, CtKey.EGRESS);
        CtKey otherOut = new CtKey(OTHER, REMOTE, 40000, 80, TCP, CtKey.EGRESS), toRemoteBackend = new CtKey(OTHER, VIP, 41001, 80, TCP, CtKey.SERVICE),
                otherDns = new CtKey(OTHER, REMOTE, 40001, 53, UDP, CtKey.EGRESS);
        lb.ctTcp().put(podOut, ct(0));
        lb.ctTcp().put(podIn, ct(0));
        lb.ctTcp().put(toPodBackend, ct(POD));
        lb.ctTcp().put(otherOut, ct(0));
        lb.ctTcp().put(toRemoteBackend, ct(REMOTE));
        lb.ctAny().put(podDns, ct(0));
        lb.ctAny().put(otherDns, ct(0));
        lb.ctFill().put(0, 5L);
        lb.ctFill().put(1, 2L);
        CtKey natOut = new CtKey(POD, REMOTE, 40000, 80, TCP, CtKey.NAT_OUT), natIn = new CtKey(REMOTE, NODE, 80, 61000, TCP, CtKey.NAT_IN),
                otherNatOut = new CtKey(OTHER, REMOTE, 40000, 80, TCP, CtKey.NAT_OUT), otherNatIn = new CtKey(REMOTE, NODE, 80, 61001, TCP, CtKey.NAT_IN);
        lb.snat().put(natOut, nat(NODE));
        lb.snat().put(natIn, nat(POD));
        lb.snat().put(otherNatOut, nat(NODE));
        lb.snat().put(otherNatIn, nat(OTHER));
        lb.backends().put(5, new LbBackend(POD, 8080, TCP, 0));
        lb.backends().put(6, new LbBackend(REMOTE, 8080, TCP, 0));
        long now = System.nanoTime();
        LbAffinityKey podClient = new LbAffinityKey(POD, 1), toPod = new LbAffinityKey(OTHER, 1), toRemote = new LbAffinityKey(OTHER, 2);
        lb.affinity().put(podClient, new LbAffinityValue(now, 6));
        lb.affinity().put(toPod, new LbAffinityValue(now, 5));
        lb.affinity().put(toRemote, new LbAffinityValue(now, 6));

        var s = new CtGc(lb, id -> 0).forget(POD);

        assertThat(lb.ctTcp().all().keySet()).containsExactlyInAnyOrder(otherOut, toRemoteBackend);
        assertThat(lb.ctAny().all().keySet()).containsExactly(otherDns);
        assertThat(lb.snat().all().keySet()).containsExactlyInAnyOrder(otherNatOut, otherNatIn);
        assertThat(lb.affinity().all().keySet()).containsExactly(toRemote);
        assertThat(lb.ctFill().get(0)).contains(2L);
        assertThat(lb.ctFill().get(1)).contains(1L);
        assertThat(s.removedCt()).isEqualTo(4);
        assertThat(s.removedNat()).isEqualTo(2);
        assertThat(s.removedAffinity()).isEqualTo(2);
        assertThat(lb.backends().all()).as("backends are the LB reconciler's").hasSize(2);
    }

    @Test
    void sweepRemovesWhatExpiredThroughTheSameWalk() {
        long now = System.nanoTime();
        CtKey expired = new CtKey(POD, REMOTE, 40000, 80, TCP, CtKey.EGRESS), alive = new CtKey(OTHER, REMOTE, 40000, 80, TCP, CtKey.EGRESS);
        lb.ctTcp().put(expired, new CtEntry(now - 1, 0, 0, 0, 0, 0, 300, 1, 60, 0, 0));
        lb.ctTcp().put(alive, ct(0));
        lb.ctFill().put(0, 2L);
        lb.snat().put(new CtKey(POD, REMOTE, 40000, 80, TCP, CtKey.NAT_OUT), new NatEntry(now - 1, NODE, 61000, 0, 0));
        lb.affinity().put(new LbAffinityKey(POD, 1), new LbAffinityValue(now - 2_000_000_000L, 5));

        var s = new CtGc(lb, () -> now, id -> 1).sweep();

        assertThat(lb.ctTcp().all().keySet()).containsExactly(alive);
        assertThat(lb.ctFill().get(0)).contains(1L);
        assertThat(lb.snat().all()).isEmpty();
        assertThat(lb.affinity().all()).isEmpty();
        assertThat(s).extracting(CtGc.Stats::ctTcp, CtGc.Stats::removedCt, CtGc.Stats::removedNat, CtGc.Stats::removedAffinity).containsExactly(1, 1, 1, 1);
    }
}
