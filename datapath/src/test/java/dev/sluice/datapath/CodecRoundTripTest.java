package dev.sluice.datapath;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.bpf.Btf;
import dev.sluice.bpf.Codec;
import dev.sluice.datapath.maps.CtEntry;
import dev.sluice.datapath.maps.CtKey;
import dev.sluice.datapath.maps.CtLimits;
import dev.sluice.datapath.maps.FlowEvent;
import dev.sluice.datapath.maps.EndpointInfo;
import dev.sluice.datapath.maps.EndpointKey;
import dev.sluice.datapath.maps.IpcacheKey;
import dev.sluice.datapath.maps.IpcacheValue;
import dev.sluice.datapath.maps.LbAffinityKey;
import dev.sluice.datapath.maps.LbAffinityValue;
import dev.sluice.datapath.maps.LbBackend;
import dev.sluice.datapath.maps.LbConfig;
import dev.sluice.datapath.maps.LbReverseNat;
import dev.sluice.datapath.maps.LbService;
import dev.sluice.datapath.maps.LbServiceKey;
import dev.sluice.datapath.maps.LbSlotKey;
import dev.sluice.datapath.maps.LxcInfo;
import dev.sluice.datapath.maps.MetricsKey;
import dev.sluice.datapath.maps.MetricsValue;
import dev.sluice.datapath.maps.NatEntry;
import dev.sluice.datapath.maps.NodeConfig;
import dev.sluice.datapath.maps.PolicyCidrKey;
import dev.sluice.datapath.maps.PolicyEntryKey;
import dev.sluice.datapath.maps.PolicyEntryValue;
import dev.sluice.net.Cidr;
import dev.sluice.policymap.PolicyMaps;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every map codec reads back what it wrote, for seeded random records; and for a few records the
 * bytes a codec writes (or reads) sit at the offsets the C struct's BTF gives, in the member's byte
 * order, with every other byte zero. The seed is printed; repeat a run with {@code -Dsluice.seed=N}.
 */
class CodecRoundTripTest {
    static final long SEED = Long.getLong("sluice.seed", new SplittableRandom().nextLong());
    static final int VALUES_PER_CODEC = 3;

    static {
        System.out.println("CodecRoundTripTest seed " + SEED + " (repeat with -Dsluice.seed=" + SEED + ")");
    }

    static int u8(SplittableRandom r) { return r.nextInt(1 << 8); }
    static int u16(SplittableRandom r) { return r.nextInt(1 << 16); }
    static Cidr cidr(SplittableRandom r) { return new Cidr(r.nextInt(), r.nextInt(33)); }

    static String mac(SplittableRandom r) {
        byte[] b = new byte[6];
        r.nextBytes(b);
        return HexFormat.ofDelimiter(":").formatHex(b);
    }

    static CtEntry ctEntry(SplittableRandom r) {
        return new CtEntry(r.nextLong(), r.nextInt(), r.nextInt(), r.nextInt(), u16(r), u16(r), r.nextInt(), r.nextLong(), r.nextLong(), r.nextInt(), r.nextInt());
    }

    static EndpointInfo endpointInfo(SplittableRandom r) {
        return new EndpointInfo(r.nextInt(), r.nextInt(), u16(r), u16(r), mac(r), mac(r));
    }

    static PolicyEntryKey policyEntryKey(SplittableRandom r) {
        return new PolicyEntryKey(r.nextInt(), new PolicyMaps.Key(u8(r), r.nextInt(), u8(r), u16(r), r.nextInt(25)));
    }

    static Stream<Arguments> codecs() {
        return Stream.of(
                codec("CtEntry", CtEntry.CODEC, CodecRoundTripTest::ctEntry),
                codec("CtKey", CtKey.CODEC, r -> new CtKey(r.nextInt(), r.nextInt(), u16(r), u16(r), u8(r), u8(r))),
                codec("CtLimits", CtLimits.CODEC, r -> new CtLimits(r.nextInt(), r.nextInt())),
                codec("CtLimits.FILL", CtLimits.FILL, r -> r.nextLong()),
                codec("EndpointInfo", EndpointInfo.CODEC, CodecRoundTripTest::endpointInfo),
                codec("EndpointKey", EndpointKey.CODEC, r -> new EndpointKey(r.nextInt())),
                codec("IpcacheKey", IpcacheKey.CODEC, r -> new IpcacheKey(cidr(r))),
                codec("IpcacheValue", IpcacheValue.CODEC, r -> new IpcacheValue(r.nextInt(), r.nextInt(), u8(r))),
                codec("LbAffinityKey", LbAffinityKey.CODEC, r -> new LbAffinityKey(r.nextInt(), r.nextInt())),
                codec("LbAffinityValue", LbAffinityValue.CODEC, r -> new LbAffinityValue(r.nextLong(), r.nextInt())),
                codec("LbBackend", LbBackend.CODEC, r -> new LbBackend(r.nextInt(), u16(r), u8(r), u8(r))),
                codec("LbConfig", LbConfig.CODEC, r -> new LbConfig(r.nextInt(), r.nextInt(), r.nextInt(), u16(r), u16(r))),
                codec("LbReverseNat", LbReverseNat.CODEC, r -> new LbReverseNat(r.nextInt(), u16(r))),
                codec("LbService", LbService.CODEC, r -> new LbService(r.nextInt(), u16(r), u16(r), r.nextInt(), u8(r))),
                codec("LbServiceKey", LbServiceKey.CODEC, r -> new LbServiceKey(r.nextInt(), u16(r), u8(r))),
                codec("LbSlotKey", LbSlotKey.CODEC, r -> new LbSlotKey(r.nextInt(), r.nextInt())),
                codec("LxcInfo", LxcInfo.CODEC, r -> new LxcInfo(r.nextInt(), r.nextInt())),
                codec("MetricsKey", MetricsKey.CODEC, r -> new MetricsKey(u8(r), u8(r), u16(r))),
                codec("MetricsValue", MetricsValue.CODEC, r -> new MetricsValue(r.nextLong(), r.nextLong())),
                codec("NatEntry", NatEntry.CODEC, r -> new NatEntry(r.nextLong(), r.nextInt(), u16(r), u16(r), r.nextInt())),
                codec("NodeConfig", NodeConfig.CODEC, r -> new NodeConfig(r.nextInt(), r.nextInt(), r.nextInt(), r.nextInt())),
                codec("NodeConfig.KEY", NodeConfig.KEY, r -> r.nextInt()),
                codec("PolicyCidrKey", PolicyCidrKey.CODEC, r -> new PolicyCidrKey(r.nextInt(), u8(r), cidr(r))),
                codec("PolicyEntryKey", PolicyEntryKey.CODEC, CodecRoundTripTest::policyEntryKey),
                codec("PolicyEntryValue", PolicyEntryValue.CODEC, r -> new PolicyEntryValue(u8(r), r.nextInt(), u8(r) % 25)));
    }

    static <T> Arguments codec(String name, Codec<T> codec, Function<SplittableRandom, T> random) {
        return Arguments.of(name, codec, random);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("codecs")
    <T> void writeThenReadGivesTheRecord(String name, Codec<T> codec, Function<SplittableRandom, T> random) {
        var r = new SplittableRandom(SEED);
        for (int i = 0; i < VALUES_PER_CODEC; i++) {
            T v = random.apply(r);
            assertThat(codec.read(written(codec, v))).as("%s, seed %d, value %d", name, SEED, i).isEqualTo(v);
        }
    }

    // ---- the bytes at the C offsets ----

    @Test
    void ctEntryBytesAreAtTheCOffsets() {
        CtEntry v = ctEntry(new SplittableRandom(SEED));
        expect(lxc(), "ct_entry", CtEntry.CODEC, v)
                .le("lifetime", v.lifetime()).le("rev_nat_id", v.revNatId()).le("backend_id", v.backendId())
                .be("nat_addr", v.natAddr()).be("nat_port", v.natPort()).le("flags", v.flags())
                .le("src_identity", v.srcIdentity()).le("packets", v.packets()).le("bytes", v.bytes())
                .le("last_tx_report", v.lastTxReport()).le("last_rx_report", v.lastRxReport())
                .check();
    }

    @Test
    void endpointInfoMacsAreAtTheCOffsets() {
        EndpointInfo v = endpointInfo(new SplittableRandom(SEED));
        expect(lxc(), "endpoint_info", EndpointInfo.CODEC, v)
                .le("ifindex", v.ifindex()).le("identity", v.identity()).le("id", v.id()).le("flags", v.flags())
                .raw("mac", HexFormat.ofDelimiter(":").parseHex(v.mac()))
                .raw("node_mac", HexFormat.ofDelimiter(":").parseHex(v.nodeMac()))
                .check();
    }

    @Test
    void addressUnionsAreAtTheCOffsets() {
        var r = new SplittableRandom(SEED);
        int family = 2;   // AF_INET
        EndpointKey ep = new EndpointKey(r.nextInt());
        expect(lxc(), "endpoint_key", EndpointKey.CODEC, ep).be("ip4", ep.ip4()).le("family", family).check();
        IpcacheKey ipc = new IpcacheKey(cidr(r));
        expect(lxc(), "ipcache_key", IpcacheKey.CODEC, ipc)
                .le("prefixlen", 32 + ipc.cidr().prefixLength()).le("family", family).be("ip4", ipc.cidr().network())
                .check();
    }

    @Test
    void policyKeyBytesAreAtTheCOffsets() {
        PolicyEntryKey k = policyEntryKey(new SplittableRandom(SEED));
        expect(lxc(), "policy_key", PolicyEntryKey.CODEC, k)
                .le("prefixlen", 72 + k.key().prefixLength()).le("endpoint", k.endpoint()).le("identity", k.key().identity())
                .le("direction", k.key().direction()).le("protocol", k.key().protocol()).be("dport", k.key().port())
                .check();
    }

    @Test
    void flowEventIsReadFromTheCOffsets() {
        var r = new SplittableRandom(SEED);
        var e = new FlowEvent(u8(r), u8(r), u8(r), u8(r), r.nextInt(), r.nextInt(), r.nextInt(), r.nextInt(), r.nextInt(),
                u16(r), u16(r), r.nextInt(), u16(r), u8(r), u8(r), u8(r), u8(r), u8(r), u8(r), r.nextInt(), r.nextInt(),
                r.nextInt(), u16(r), u16(r), r.nextLong(), u8(r), u8(r), r.nextBoolean());
        byte[] c = new Image(Btf.struct(DatapathLayoutTest.obj("tests/layouts.o"), "flow_event").orElseThrow())
                .le("type", e.type()).le("reason", e.reason()).le("dir", e.direction()).le("proto", e.protocol())
                .le("ifindex", e.ifindex()).le("src_identity", e.srcIdentity()).le("dst_identity", e.dstIdentity())
                .be("saddr", e.saddr()).be("daddr", e.daddr()).be("sport", e.sport()).be("dport", e.dport())
                .le("len", e.length()).le("endpoint", e.endpoint()).le("obs_point", e.observationPoint()).le("ct_state", e.ctState())
                .le("tcp_flags", e.tcpFlags()).le("policy_match", e.policyMatch()).le("policy_dir", e.policyDirection())
                .le("policy_prefixlen", e.policyPrefixLength()).le("policy_identity", e.policyIdentity()).le("policy_rule", e.policyRule())
                .be("orig_daddr", e.origDaddr()).be("orig_dport", e.origDport()).le("rev_nat_id", e.revNatId()).le("ktime", e.ktime())
                .le("icmp_type", e.icmpType()).le("icmp_code", e.icmpCode()).le("icmp_known", e.icmpKnown() ? 1 : 0).bytes;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(c.length, 8);
            MemorySegment.copy(c, 0, s, ValueLayout.JAVA_BYTE, 0, c.length);
            assertThat(FlowEvent.read(s)).as("seed %d", SEED).isEqualTo(e);
            MemorySegment w = a.allocate(c.length, 8);
            e.write(w);
            assertThat(w.toArray(ValueLayout.JAVA_BYTE)).as("written as C lays it out, seed %d", SEED).isEqualTo(c);
        }
    }

    static Path lxc() { return DatapathLayoutTest.obj("bpf_lxc.o"); }

    /** The codec's bytes for {@code v}, in a segment as TypedMap hands it: zeroed, 8-byte aligned, exactly the layout's size. */
    static <T> MemorySegment written(Codec<T> codec, T v) {
        long size = codec.layout().byteSize();
        MemorySegment s = Arena.ofAuto().allocate(size, 8);
        codec.write(s, v);
        return s;
    }

    static <T> Expected expect(Path object, String struct, Codec<T> codec, T v) {
        return new Expected(new Image(Btf.struct(object, struct).orElseThrow()), written(codec, v).toArray(ValueLayout.JAVA_BYTE));
    }

    /** The bytes C would hold: each member's value at its BTF offset and size, everything else zero. */
    static final class Image {
        final Btf.Struct struct;
        final byte[] bytes;

        Image(Btf.Struct struct) {
            this.struct = struct;
            this.bytes = new byte[Math.toIntExact(struct.size())];
        }

        Btf.Member member(String name) {
            return struct.members().stream().filter(m -> m.name().equals(name)).findFirst()
                    .orElseThrow(() -> new AssertionError("struct " + struct.name() + " has no member " + name + " (expected: one of "
                            + struct.members().stream().map(Btf.Member::name).toList() + ")"));
        }

        /** Host order (little-endian, as the BPF target here). */
        Image le(String name, long value) {
            Btf.Member m = member(name);
            for (int i = 0; i < m.sizeBytes(); i++) bytes[(int) m.offsetBytes() + i] = (byte) (value >>> (8 * i));
            return this;
        }

        /** Network order (__be16, __be32). */
        Image be(String name, long value) {
            Btf.Member m = member(name);
            int n = (int) m.sizeBytes();
            for (int i = 0; i < n; i++) bytes[(int) m.offsetBytes() + i] = (byte) (value >>> (8 * (n - 1 - i)));
            return this;
        }

        Image raw(String name, byte[] value) {
            Btf.Member m = member(name);
            assertThat(value).as("%s.%s", struct.name(), name).hasSize((int) m.sizeBytes());
            System.arraycopy(value, 0, bytes, (int) m.offsetBytes(), value.length);
            return this;
        }
    }

    record Expected(Image c, byte[] written) {
        Expected le(String name, long value) { c.le(name, value); return this; }
        Expected be(String name, long value) { c.be(name, value); return this; }
        Expected raw(String name, byte[] value) { c.raw(name, value); return this; }

        void check() {
            HexFormat hex = HexFormat.ofDelimiter(" ");
            assertThat(hex.formatHex(written)).as("struct %s as written by the codec (seed %d)", c.struct.name(), SEED)
                    .isEqualTo(hex.formatHex(c.bytes));
        }
    }
}
