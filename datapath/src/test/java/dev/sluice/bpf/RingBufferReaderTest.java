package dev.sluice.bpf;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

import static dev.sluice.bpf.BpfTestSupport.ip;
import static dev.sluice.bpf.BpfTestSupport.ipv4Packet;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: network namespaces, BPF, netlink")
class RingBufferReaderTest {
    /** struct ffm_event, copied out of the ring. */
    record Event(int verdict, int len, int saddr, int daddr, int klass) {
        static Event of(MemorySegment s) {
            var be = JAVA_INT.withOrder(ByteOrder.BIG_ENDIAN);
            return new Event(s.get(JAVA_INT, 0), s.get(JAVA_INT, 4), s.get(be, 8), s.get(be, 12), s.get(JAVA_INT, 16));
        }
    }

    @Test
    void recordsWrittenByTheProgramAreDelivered() {
        try (BpfObject o = BpfTestSupport.loadTest()) {
            List<Event> events = new ArrayList<>();
            List<Long> sizes = new ArrayList<>();
            try (RingBufferReader r = new RingBufferReader(o.map("ffm_events"), s -> {
                sizes.add(s.byteSize());
                events.add(Event.of(s));
            })) {
                assertThat(r.poll(0)).isZero();
                BpfProgram p = o.program("ffm_classify");
                p.testRun(TestRun.Input.of(ipv4Packet(ip(10, 0, 0, 1), ip(10, 0, 0, 2), 6)));
                p.testRun(TestRun.Input.of(ipv4Packet(ip(10, 0, 0, 3), ip(10, 0, 0, 4), 17)));
                assertThat(r.poll(1000)).isEqualTo(2);
                assertThat(sizes).containsOnly(24L);
                assertThat(events).containsExactly(new Event(0, 42, ip(10, 0, 0, 1), ip(10, 0, 0, 2), 0),
                        new Event(0, 42, ip(10, 0, 0, 3), ip(10, 0, 0, 4), 0));
                assertThat(r.consume()).isZero();
            }
        }
    }

    @Test
    void callbackExceptionIsRethrownFromPoll() {
        try (BpfObject o = BpfTestSupport.loadTest();
             RingBufferReader r = new RingBufferReader(o.map("ffm_events"), s -> { throw new IllegalStateException("bad record"); })) {
            o.program("ffm_classify").testRun(TestRun.Input.of(ipv4Packet(ip(1, 1, 1, 1), ip(2, 2, 2, 2), 6)));
            assertThatThrownBy(() -> r.poll(1000)).isInstanceOf(IllegalStateException.class).hasMessage("bad record");
        }
    }

    @Test
    void onlyRingbufMaps() {
        try (BpfObject o = BpfTestSupport.loadTest()) {
            assertThatThrownBy(() -> new RingBufferReader(o.map("ffm_hash"), s -> {})).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("expected: ringbuf");
        }
    }
}
