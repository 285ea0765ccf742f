package dev.sluice.datapath;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.bpf.BpfObject;
import dev.sluice.bpf.TestRun;
import dev.sluice.bpf.TypedMap;
import dev.sluice.datapath.maps.L2ResponderKey;
import dev.sluice.datapath.maps.L2ResponderValue;
import dev.sluice.datapath.maps.LxcInfo;
import dev.sluice.net.Ip;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The uplink's ARP responder (bpf/lib/l2.h) under BPF_PROG_TEST_RUN: a request for an announced,
 * unexpired address is turned into the reply in place and sent back out; every other ARP frame,
 * attacks included, goes to the stack byte for byte as it came, changes no entry, and is counted
 * under its reason. Test runs happen on the loopback device (ifindex 1).
 */
@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: BPF")
class L2ResponderProgramTest {
    static final int OK = 0, REDIRECT = 7, IFINDEX = 1;
    static final String LB = "10.200.0.1", OTHER = "10.200.0.2", NODE_MAC = "02:00:00:00:00:11";
    static final String WORLD_MAC = "02:00:00:00:00:c8", WORLD = "172.30.0.200", ZERO_MAC = "00:00:00:00:00:00";
    static final int ETH_P_IP = 0x0800;

    BpfObject netdev;
    TypedMap<L2ResponderKey, L2ResponderValue> responder;

    @BeforeEach
    void load() {
        netdev = BpfObject.open(DatapathLayoutTest.obj("bpf_netdev.o"), BpfObject.OpenOptions.defaults());
        netdev.load();
        responder = netdev.map("sl_l2_responder").typed(L2ResponderKey.CODEC, L2ResponderValue.CODEC);
        announce(LB, IFINDEX, TimeUnit.SECONDS.toNanos(15));
    }

    @AfterEach
    void close() { if (netdev != null) netdev.close(); }

    void announce(String ip, int ifindex, long validForNs) {
        responder.put(new L2ResponderKey(Ip.parse(ip), ifindex), new L2ResponderValue(System.nanoTime() + validForNs, NODE_MAC, 0));
    }

    TestRun.Result run(byte[] frame) { return netdev.program("from_netdev").testRun(TestRun.Input.of(frame)); }

    long outcome(String name) {
        int i = L2ResponderValue.OUTCOMES.indexOf(name);
        assertThat(i).as(name).isNotNegative();
        return netdev.map("sl_l2_stats").typed(LxcInfo.KEY, L2ResponderValue.COUNTER).getPerCpu(i)
                .map(l -> l.stream().mapToLong(Long::longValue).sum()).orElse(0L);
    }

    /** The frame goes to the stack unchanged, no entry changes, and it is counted under {@code reason}. */
    void passesUntouched(byte[] frame, String reason) {
        Map<L2ResponderKey, L2ResponderValue> before = responder.all();
        long n = outcome(reason);
        var r = run(frame);
        assertThat(r.retval()).as("verdict (%s)", reason).isEqualTo(OK);
        assertThat(r.dataOut()).as("frame handed to the stack as it came").isEqualTo(frame);
        assertThat(responder.all()).as("responder entries").isEqualTo(before);
        assertThat(outcome(reason)).as("counted as %s", reason).isEqualTo(n + 1);
        assertThat(outcome("L2_REPLIED")).as("replies").isZero();
    }

    static int u16(byte[] f, int off) { return ((f[off] & 0xff) << 8) | (f[off + 1] & 0xff); }

    static String ip(byte[] f, int off) { return Ip.format(ByteBuffer.wrap(f, off, 4).getInt()); }

    static String mac(byte[] f, int off) {
        return Packets.dstMac(Arrays.copyOfRange(f, off, off + 6));
    }

    @Test
    void aRequestForAnAnnouncedAddressIsTurnedIntoTheReplyAndSentBack() {
        byte[] req = Packets.arpRequest(WORLD_MAC, WORLD, LB);
        var r = run(req);
        assertThat(r.retval()).isEqualTo(REDIRECT);
        byte[] f = r.dataOut();
        assertThat(f).hasSize(req.length);
        assertThat(Packets.dstMac(f)).isEqualTo(WORLD_MAC);
        assertThat(Packets.srcMac(f)).isEqualTo(NODE_MAC);
        assertThat(u16(f, 12)).isEqualTo(Packets.ETH_P_ARP);
        assertThat(u16(f, 14)).as("htype").isEqualTo(1);
        assertThat(u16(f, 16)).as("ptype").isEqualTo(ETH_P_IP);
        assertThat(f[18]).isEqualTo((byte) 6);
        assertThat(f[19]).isEqualTo((byte) 4);
        assertThat(u16(f, 20)).as("op: reply").isEqualTo(2);
        assertThat(mac(f, 22)).as("sender MAC").isEqualTo(NODE_MAC);
        assertThat(ip(f, 28)).as("sender address").isEqualTo(LB);
        assertThat(mac(f, 32)).as("target MAC").isEqualTo(WORLD_MAC);
        assertThat(ip(f, 38)).as("target address").isEqualTo(WORLD);
        assertThat(outcome("L2_REPLIED")).isEqualTo(1);
        assertThat(responder.get(new L2ResponderKey(Ip.parse(LB), IFINDEX)).orElseThrow().replies()).isEqualTo(1);
    }

    @Test
    void aPaddedMinimumFrameAndARequestUnicastToThisInterfaceAreAnsweredPaddingKept() {
        byte[] padded = Packets.arp("ff:ff:ff:ff:ff:ff", WORLD_MAC, 1, ETH_P_IP, 6, 4, 1, WORLD_MAC, WORLD, ZERO_MAC, LB, 18);
        padded[padded.length - 1] = 0x5a;
        var r = run(padded);
        assertThat(r.retval()).isEqualTo(REDIRECT);
        assertThat(r.dataOut()).hasSize(60);
        assertThat(r.dataOut()[59]).isEqualTo((byte) 0x5a);
        // the neighbour's unicast re-check of an entry it has (NUD probe), to this interface's MAC
        byte[] unicast = Packets.arp(NODE_MAC, WORLD_MAC, 1, ETH_P_IP, 6, 4, 1, WORLD_MAC, WORLD, NODE_MAC, LB, 0);
        assertThat(run(unicast).retval()).isEqualTo(REDIRECT);
        assertThat(outcome("L2_REPLIED")).isEqualTo(2);
    }

    @Test
    void anRfc5227ProbeIsAnsweredToTheProberWithTargetAddressZero() {
        byte[] probe = Packets.arp("ff:ff:ff:ff:ff:ff", WORLD_MAC, 1, ETH_P_IP, 6, 4, 1, WORLD_MAC, "0.0.0.0", ZERO_MAC, LB, 0);
        var r = run(probe);
        assertThat(r.retval()).isEqualTo(REDIRECT);
        assertThat(Packets.dstMac(r.dataOut())).isEqualTo(WORLD_MAC);
        assertThat(ip(r.dataOut(), 38)).isEqualTo("0.0.0.0");
    }

    @Test
    void aRequestForAnAddressNotAnnouncedHereGoesToTheStack() {
        passesUntouched(Packets.arpRequest(WORLD_MAC, WORLD, OTHER), "L2_PASS_NOT_ANNOUNCED");
        // announced, but on another interface
        responder.remove(new L2ResponderKey(Ip.parse(LB), IFINDEX));
        announce(LB, 77, TimeUnit.SECONDS.toNanos(15));
        passesUntouched(Packets.arpRequest(WORLD_MAC, WORLD, LB), "L2_PASS_NOT_ANNOUNCED");
    }

    @Test
    void anExpiredEntryNoLongerAnswers() {
        announce(LB, IFINDEX, -1);
        passesUntouched(Packets.arpRequest(WORLD_MAC, WORLD, LB), "L2_PASS_EXPIRED");
    }

    @ParameterizedTest(name = "htype {0} ptype {1} hlen {2} plen {3}")
    @CsvSource({"6, 2048, 6, 4", "0, 2048, 6, 4", "1, 34525, 6, 4", "1, 2054, 6, 4", "1, 2048, 8, 4", "1, 2048, 6, 16", "1, 2048, 0, 0",
            "256, 2048, 6, 4", "1, 8, 6, 4"})
    void aForgedOrOddHardwareOrProtocolTypeOrLengthIsNotAnswered(int htype, int ptype, int hlen, int plen) {
        passesUntouched(Packets.arp("ff:ff:ff:ff:ff:ff", WORLD_MAC, htype, ptype, hlen, plen, 1, WORLD_MAC, WORLD, ZERO_MAC, LB, 0),
                "L2_PASS_NOT_ETH_IP4");
    }

    @Test
    void aTruncatedArpPacketIsNotAnswered() {
        byte[] full = Packets.arpRequest(WORLD_MAC, WORLD, LB);
        for (int len : new int[] {14, 15, 22, 27 + 14})
            passesUntouched(Arrays.copyOf(full, len), "L2_PASS_TRUNCATED");
    }

    @Test
    void aGratuitousArpFromTheWorldClaimingTheAddressChangesNothing() {
        // as a request (the usual announcement) and as a reply
        passesUntouched(Packets.arp("ff:ff:ff:ff:ff:ff", WORLD_MAC, 1, ETH_P_IP, 6, 4, 1, WORLD_MAC, LB, ZERO_MAC, LB, 0), "L2_PASS_GRATUITOUS");
        passesUntouched(Packets.arp("ff:ff:ff:ff:ff:ff", WORLD_MAC, 1, ETH_P_IP, 6, 4, 2, WORLD_MAC, LB, "ff:ff:ff:ff:ff:ff", LB, 0),
                "L2_PASS_NOT_REQUEST");
        // and the address is still answered for everyone else
        assertThat(run(Packets.arpRequest(WORLD_MAC, WORLD, LB)).retval()).isEqualTo(REDIRECT);
    }

    @Test
    void anArpReplyOrAnotherOperationIsNotAnswered() {
        passesUntouched(Packets.arp(NODE_MAC, WORLD_MAC, 1, ETH_P_IP, 6, 4, 2, WORLD_MAC, WORLD, NODE_MAC, LB, 0), "L2_PASS_NOT_REQUEST");
        for (int op : new int[] {0, 3, 4, 8, 0x0100})
            passesUntouched(Packets.arp("ff:ff:ff:ff:ff:ff", WORLD_MAC, 1, ETH_P_IP, 6, 4, op, WORLD_MAC, WORLD, ZERO_MAC, LB, 0),
                    "L2_PASS_NOT_REQUEST");
    }

    @Test
    void aSenderThatCannotReceiveTheReplyOrImpersonatesThisNodeIsNotAnswered() {
        // a multicast or broadcast sender would turn the reply into a flood; zero has no owner;
        // this interface's own MAC would make the node answer itself; a sender MAC other than the
        // frame's source would aim the reply at a third host
        for (String sha : new String[] {"01:00:5e:00:00:01", "ff:ff:ff:ff:ff:ff", ZERO_MAC, NODE_MAC})
            passesUntouched(Packets.arp("ff:ff:ff:ff:ff:ff", sha.equals(ZERO_MAC) ? WORLD_MAC : sha, 1, ETH_P_IP, 6, 4, 1, sha, WORLD, ZERO_MAC, LB, 0),
                    "L2_PASS_BAD_SENDER");
        passesUntouched(Packets.arp("ff:ff:ff:ff:ff:ff", WORLD_MAC, 1, ETH_P_IP, 6, 4, 1, "02:00:00:00:00:99", WORLD, ZERO_MAC, LB, 0),
                "L2_PASS_BAD_SENDER");
    }

    @Test
    void aRequestUnicastToAnotherHostIsNotAnswered() {
        passesUntouched(Packets.arp("02:00:00:00:00:12", WORLD_MAC, 1, ETH_P_IP, 6, 4, 1, WORLD_MAC, WORLD, ZERO_MAC, LB, 0), "L2_PASS_NOT_FOR_US");
    }

    /**
     * Random corruptions of a valid request: the program answers exactly when a Java statement of
     * the rules says so, and otherwise hands the frame on unchanged.
     */
    @Test
    void randomCorruptionsAnswerOnlyWellFormedRequestsForTheAnnouncedAddress() {
        long seed = System.nanoTime();
        System.out.println("L2ResponderProgramTest seed " + seed);
        var rnd = new SplittableRandom(seed);
        byte[] good = Packets.arp("ff:ff:ff:ff:ff:ff", WORLD_MAC, 1, ETH_P_IP, 6, 4, 1, WORLD_MAC, WORLD, ZERO_MAC, LB, 0);
        int replies = 0;
        for (int i = 0; i < 400; i++) {
            byte[] f = good.clone();
            int flips = 1 + rnd.nextInt(3);
            for (int k = 0; k < flips; k++) {
                int at = 14 + rnd.nextInt(28);
                // the target address mostly stays the announced one, so the later checks are reached
                if (at >= 38 && rnd.nextInt(4) != 0) continue;
                f[at] = (byte) rnd.nextInt(256);
            }
            if (rnd.nextInt(10) == 0) f = Arrays.copyOf(f, 14 + rnd.nextInt(28));
            boolean expect = answers(f);
            var before = responder.all().keySet();
            var r = run(f);
            if (expect) {
                replies++;
                assertThat(r.retval()).as("seed %d case %d: %s", seed, i, hex(f)).isEqualTo(REDIRECT);
            } else {
                assertThat(r.retval()).as("seed %d case %d: %s", seed, i, hex(f)).isEqualTo(OK);
                assertThat(r.dataOut()).as("seed %d case %d untouched", seed, i).isEqualTo(f);
            }
            assertThat(responder.all().keySet()).isEqualTo(before);
        }
        assertThat(outcome("L2_REPLIED")).isEqualTo(replies);
    }

    /** The rules of bpf/lib/l2.h, stated again for the property test. */
    static boolean answers(byte[] f) {
        if (f.length < 42) return false;
        if (u16(f, 14) != 1 || u16(f, 16) != ETH_P_IP || f[18] != 6 || f[19] != 4 || u16(f, 20) != 1) return false;
        if (!ip(f, 38).equals(LB)) return false;
        String dst = Packets.dstMac(f), sha = mac(f, 22);
        if (!dst.equals("ff:ff:ff:ff:ff:ff") && !dst.equals(NODE_MAC)) return false;
        if ((f[22] & 1) != 0 || sha.equals(ZERO_MAC) || sha.equals(NODE_MAC) || !sha.equals(Packets.srcMac(f))) return false;
        return !ip(f, 28).equals(LB);
    }

    static String hex(byte[] f) {
        var sb = new StringBuilder();
        for (byte b : f) sb.append(String.format("%02x", b & 0xff));
        return sb.toString();
    }
}
