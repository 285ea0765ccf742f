package dev.sluice.agent.flow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class FlowRingTest {
    static final Instant T0 = Instant.parse("2026-12-02T16:00:00Z");

    static Flow flow(int i, Flow.Verdict v) {
        return new Flow(T0.plusSeconds(i), "u" + i, v, 0, "", new Flow.Ip("10.0.0.1", "10.0.0.2", "IPv4"), new Flow.Udp(i, 53),
                new Flow.Endpoint(0, 2, "", List.of(), "", List.of()), new Flow.Endpoint(0, 2, "", List.of(), "", List.of()), "n", null, null,
                Flow.TrafficDirection.EGRESS, "TO_STACK", false, new Flow.EventType(4, 3), List.of(), List.of(), List.of(), List.of(), "UDP",
                new Flow.Extra(0, "", "new", "", "", 0, 0, ""));
    }

    @Test
    void capacityMustBeAPowerOfTwoMinusOne() {
        assertThat(new FlowRing(4095).capacity()).isEqualTo(4095);
        assertThat(new FlowRing(1).capacity()).isEqualTo(1);
        assertThatThrownBy(() -> new FlowRing(4096)).hasMessage("hubble.eventBufferCapacity: 4096 (expected: a power of two minus one, e.g. 4095)");
        assertThatThrownBy(() -> new FlowRing(0)).hasMessageStartingWith("hubble.eventBufferCapacity: 0 ");
    }

    @Test
    void aFullRingOverwritesTheOldestAndCountsIt() {
        FlowRing r = new FlowRing(7);
        for (int i = 0; i < 10; i++) r.add(flow(i, Flow.Verdict.FORWARDED));
        assertThat(r.size()).isEqualTo(7);
        assertThat(r.written()).isEqualTo(10);
        assertThat(r.overwritten()).isEqualTo(3);
        assertThat(r.last(0, null, f -> true)).extracting(Flow::uuid).containsExactly("u3", "u4", "u5", "u6", "u7", "u8", "u9");
        assertThat(r.last(2, null, f -> true)).extracting(Flow::uuid).containsExactly("u8", "u9");
        assertThat(r.last(0, T0.plusSeconds(8), f -> true)).extracting(Flow::uuid).containsExactly("u8", "u9");
    }

    /** Against a list that keeps everything: the ring holds exactly its last `capacity` flows, in order. */
    @Test
    void theRingIsTheTailOfEverythingWritten() {
        long seed = new SplittableRandom().nextLong();
        System.out.println("FlowRingTest seed=" + seed);
        SplittableRandom r = new SplittableRandom(seed);
        for (int round = 0; round < 50; round++) {
            int capacity = (1 << (1 + r.nextInt(6))) - 1;
            FlowRing ring = new FlowRing(capacity);
            List<Flow> all = new ArrayList<>();
            int n = r.nextInt(200);
            for (int i = 0; i < n; i++) {
                Flow f = flow(i, r.nextBoolean() ? Flow.Verdict.FORWARDED : Flow.Verdict.DROPPED);
                ring.add(f);
                all.add(f);
            }
            int want = r.nextInt(capacity + 3);
            List<Flow> dropped = all.subList(Math.max(0, all.size() - capacity), all.size()).stream()
                    .filter(f -> f.verdict() == Flow.Verdict.DROPPED).toList();
            List<Flow> expect = want == 0 ? dropped : dropped.subList(Math.max(0, dropped.size() - want), dropped.size());
            assertThat(ring.last(want, null, f -> f.verdict() == Flow.Verdict.DROPPED)).as("seed %d round %d", seed, round).isEqualTo(expect);
            assertThat(ring.overwritten()).as("seed %d", seed).isEqualTo(Math.max(0, n - capacity));
        }
    }
}
