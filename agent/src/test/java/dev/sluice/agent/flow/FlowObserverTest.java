package dev.sluice.agent.flow;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.datapath.maps.FlowEvent;
import dev.sluice.net.Ip;
import dev.sluice.policymap.PolicyMaps;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class FlowObserverTest {
    final Enricher.Cluster none = new Enricher.Cluster() {
        public Optional<Enricher.PodInfo> podByIp(int ip) { return Optional.empty(); }
        public Optional<String> endpointPod(int id) { return Optional.empty(); }
        public Optional<String> serviceOf(int revNatId) { return Optional.empty(); }
    };
    final FlowObserver obs = new FlowObserver(new Enricher("n1", none, PolicySource.NONE, k -> Instant.EPOCH.plusNanos(k)), 3, () -> 5);

    static FlowEvent ev(int type, int dport) {
        return new FlowEvent(type, type == FlowEvent.DROP ? 140 : 0, PolicyMaps.EGRESS, 17, 1, 300, 2, Ip.parse("10.0.0.5"), Ip.parse("8.8.8.8"),
                5000, dport, 60, 11, FlowEvent.OBS_TO_STACK, FlowEvent.CT_NEW, 0, 0, 0, 0, 0, 0, 0, 0, 0, dport, 0, 0, false);
    }

    @Test
    void aQueryGetsTheLastMatchingFlowsThenTheStatus() throws Exception {
        for (int p = 1; p <= 5; p++) obs.accept(ev(p % 2 == 0 ? FlowEvent.DROP : FlowEvent.TRACE, p));
        List<Map<String, Object>> lines = new ArrayList<>();
        obs.query(f -> true, 10, null, false, lines::add);
        assertThat(lines).hasSize(4);
        List<Object> ports = lines.subList(0, 3).stream()
                .map(l -> ((Map<?, ?>) ((Map<?, ?>) ((Map<?, ?>) l.get("flow")).get("l4")).get("UDP")).get("destination_port")).map(Object.class::cast).toList();
        assertThat(ports).containsExactly((Object) 3, 4, 5);
        assertThat(lines.get(3)).isEqualTo(Map.of("status", Map.of("capacity", 3, "flows", 3, "seen", 5L, "overwritten", 2L, "lostEvents", 5L,
                "notEnriched", 0L)));
    }

    @Test
    void aFollowerGetsNewFlowsAndLeavesWhenItsReaderDoes() throws Exception {
        obs.accept(ev(FlowEvent.DROP, 1));
        List<Map<String, Object>> got = new CopyOnWriteArrayList<>();
        CountDownLatch two = new CountDownLatch(2);
        Thread t = Thread.ofVirtual().start(() -> {
            try {
                obs.query(f -> f.verdict() == Flow.Verdict.DROPPED, 5, null, true, line -> {
                    if (line.containsKey("heartbeat")) return true;
                    got.add(line);
                    two.countDown();
                    return got.size() < 2;
                });
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        while (obs.followers() == 0) Thread.sleep(5);
        obs.accept(ev(FlowEvent.TRACE, 2));
        obs.accept(ev(FlowEvent.DROP, 3));
        assertThat(two.await(5, TimeUnit.SECONDS)).isTrue();
        t.join(5000);
        assertThat(t.isAlive()).isFalse();
        assertThat(obs.followers()).as("the follower is gone with its reader").isZero();
        assertThat(got.stream().map(l -> ((Map<?, ?>) l.get("flow")).get("verdict")).map(Object.class::cast).toList()).containsExactly((Object) "DROPPED", "DROPPED");
    }

    @Test
    void theListenerSeesEveryFlowAsItEntersTheRingAndCannotStopTheReader() {
        List<String> seen = new ArrayList<>();
        obs.listen((e, f) -> {
            seen.add(f.verdict() + ":" + e.dport());
            if (e.dport() == 2) throw new IllegalStateException("a metric failed");
        });
        for (int p = 1; p <= 3; p++) obs.accept(ev(p == 2 ? FlowEvent.DROP : FlowEvent.TRACE, p));
        assertThat(seen).containsExactly("FORWARDED:1", "DROPPED:2", "FORWARDED:3");
        assertThat(obs.ring().written()).isEqualTo(3);
    }
}
