package dev.sluice.bpf;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import dev.sluice.bpf.BpfTestSupport.FfmCounter;
import dev.sluice.bpf.BpfTestSupport.FfmKey;
import dev.sluice.bpf.BpfTestSupport.FfmValue;
import dev.sluice.bpf.BpfTestSupport.LpmKey;
import java.util.Arrays;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static dev.sluice.bpf.BpfTestSupport.TC_ACT_OK;
import static dev.sluice.bpf.BpfTestSupport.TC_ACT_SHOT;
import static dev.sluice.bpf.BpfTestSupport.TC_ACT_UNSPEC;
import static dev.sluice.bpf.BpfTestSupport.ip;
import static dev.sluice.bpf.BpfTestSupport.ipv4Packet;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: network namespaces, BPF, netlink")
class TestRunTest {
    private BpfObject obj;
    private BpfProgram prog;

    @BeforeEach
    void load() {
        obj = BpfTestSupport.loadTest();
        prog = obj.program("ffm_classify");
    }

    @AfterEach
    void close() { obj.close(); }

    @Test
    void verdictComesFromTheHashMapAndClassIsWrittenIntoThePacket() {
        TypedMap<FfmKey, FfmValue> hash = obj.map("ffm_hash").typed(FfmKey.CODEC, FfmValue.CODEC);
        hash.put(new FfmKey(ip(10, 0, 0, 1), 0, 17), new FfmValue(0, TC_ACT_SHOT, 0, 0));
        obj.map("ffm_lpm").typed(LpmKey.CODEC, Codec.u32()).put(new LpmKey(24, ip(10, 0, 9, 0)), 0x5a);

        byte[] pkt = ipv4Packet(ip(10, 0, 0, 1), ip(10, 0, 9, 7), 17);
        TestRun.Result r = prog.testRun(TestRun.Input.of(pkt));
        assertThat(r.retval()).isEqualTo(TC_ACT_SHOT);
        assertThat(r.dataOut()).hasSize(pkt.length);
        assertThat(r.dataOut()[11]).isEqualTo((byte) 0x5a);   // last byte of the source MAC
        byte[] expected = pkt.clone();
        expected[11] = 0x5a;
        assertThat(r.dataOut()).isEqualTo(expected);
        assertThat(r.ctxOut()).isNull();
        assertThat(hash.get(new FfmKey(ip(10, 0, 0, 1), 0, 17)).orElseThrow().packets()).isEqualTo(1);

        // another source: no entry, TC_ACT_OK; no prefix: class 0
        TestRun.Result other = prog.testRun(TestRun.Input.of(ipv4Packet(ip(10, 0, 0, 2), ip(8, 8, 8, 8), 6)).withRepeat(5));
        assertThat(other.retval()).isEqualTo(TC_ACT_OK);
        assertThat(other.dataOut()[11]).isZero();
        assertThat(other.durationNs()).isNotNegative();
        assertThat(hash.get(new FfmKey(ip(10, 0, 0, 1), 0, 17)).orElseThrow().packets()).isEqualTo(1);
    }

    @Test
    void perCpuCountersSeeEveryRun() {
        prog.testRun(TestRun.Input.of(ipv4Packet(ip(1, 1, 1, 1), ip(2, 2, 2, 2), 6)).withRepeat(3));
        var counters = obj.map("ffm_percpu").typed(Codec.u32(), FfmCounter.CODEC).getPerCpu(0).orElseThrow();
        assertThat(counters.stream().mapToInt(FfmCounter::packets).sum()).isEqualTo(3);
        assertThat(counters.stream().mapToInt(FfmCounter::bytes).sum()).isEqualTo(3 * 42);
    }

    @Test
    void nonIpPackets() {
        byte[] arp = Arrays.copyOf(ipv4Packet(0, 0, 0), 42);
        arp[12] = 0x08;
        arp[13] = 0x06;
        assertThat(prog.testRun(TestRun.Input.of(arp)).retval()).isEqualTo(TC_ACT_UNSPEC);
        // (a truncated IPv4 packet is refused by the kernel's test_run itself with EINVAL)
        byte[] bare = Arrays.copyOf(arp, 14);
        assertThat(prog.testRun(TestRun.Input.of(bare)).retval()).isEqualTo(TC_ACT_UNSPEC);
    }

    @Test
    void contextInAndOut() {
        byte[] ctx = new byte[192];   // struct __sk_buff; mark at offset 8
        ctx[8] = 42;
        TestRun.Result r = prog.testRun(TestRun.Input.of(ipv4Packet(ip(1, 1, 1, 1), ip(2, 2, 2, 2), 6)).withCtx(ctx));
        assertThat(r.ctxOut()).isNotNull();
        assertThat(r.ctxOut()[8]).isEqualTo((byte) 42);
    }

    @Test
    void tooShortPacketFailsWithErrno() {
        assertThatThrownBy(() -> prog.testRun(TestRun.Input.of(new byte[4]))).isInstanceOf(BpfException.class)
                .hasMessageStartingWith("program 'ffm_classify': test_run: ").hasMessageContaining("errno 22");
    }
}
