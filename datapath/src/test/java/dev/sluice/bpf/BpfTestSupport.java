package dev.sluice.bpf;

import java.io.IOException;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static org.assertj.core.api.Assertions.fail;

/** Shared fixtures: compiled test objects, root check, packets, and the Java side of ffm_test.c's structs. */
final class BpfTestSupport {
    private BpfTestSupport() {}

    static final int TC_ACT_UNSPEC = -1, TC_ACT_OK = 0, TC_ACT_SHOT = 2;

    static Path home() {
        String h = System.getProperty("sluice.home");
        if (h == null) fail("system property sluice.home is not set (surefire sets it to the repo root)");
        return Path.of(h);
    }

    /** build/bpf/tests/NAME.o, or a failure telling how to build it (these tests do not skip). */
    static Path object(String name) {
        requireRoot();
        Path p = home().resolve("build/bpf/tests/" + name + ".o");
        if (!Files.isRegularFile(p)) {
            fail(p + " is missing: run `make bpf` (or clang -O2 -g -Wall -Werror -target bpf -D__TARGET_ARCH_x86 -Ibpf "
                    + "-I/usr/include/x86_64-linux-gnu -c bpf/tests/" + name + ".c -o build/bpf/tests/" + name + ".o) first");
        }
        return p;
    }

    static void requireRoot() {
        try {
            String uid = Files.readAllLines(Path.of("/proc/self/status")).stream()
                    .filter(l -> l.startsWith("Uid:")).findFirst().orElse("Uid: ?").split("\\s+")[2];
            if (!uid.equals("0")) fail("these BPF tests load programs and need root (effective uid " + uid + ")");
        } catch (IOException e) {
            fail("cannot read /proc/self/status: " + e);
        }
    }

    static BpfObject loadTest() {
        BpfObject o = BpfObject.open(object("ffm_test"), BpfObject.OpenOptions.defaults());
        try {
            o.load();
        } catch (RuntimeException e) {
            o.close();
            throw e;
        }
        return o;
    }

    static String randomSuffix() {
        return Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffffffL);
    }

    static int ip(int a, int b, int c, int d) { return (a << 24) | (b << 16) | (c << 8) | d; }

    /** Ethernet + IPv4 (+ 8 payload bytes), IP checksum left 0 (the program does not check it). */
    static byte[] ipv4Packet(int saddr, int daddr, int proto) {
        MemorySegment s = MemorySegment.ofArray(new byte[14 + 20 + 8]);
        for (int i = 0; i < 6; i++) {
            s.set(JAVA_BYTE, i, (byte) 0x02);            // dst MAC 02:02:02:02:02:02
            s.set(JAVA_BYTE, 6 + i, (byte) (0x10 + i));  // src MAC 10:11:12:13:14:15
        }
        s.set(JAVA_SHORT.withOrder(ByteOrder.BIG_ENDIAN).withByteAlignment(1), 12, (short) 0x0800);
        s.set(JAVA_BYTE, 14, (byte) 0x45);
        s.set(JAVA_SHORT.withOrder(ByteOrder.BIG_ENDIAN).withByteAlignment(1), 16, (short) 28);
        s.set(JAVA_BYTE, 22, (byte) 64);
        s.set(JAVA_BYTE, 23, (byte) proto);
        s.set(JAVA_INT.withOrder(ByteOrder.BIG_ENDIAN).withByteAlignment(1), 26, saddr);
        s.set(JAVA_INT.withOrder(ByteOrder.BIG_ENDIAN).withByteAlignment(1), 30, daddr);
        byte[] payload = "sluice!!".getBytes(StandardCharsets.US_ASCII);
        MemorySegment.copy(payload, 0, s, JAVA_BYTE, 34, 8);
        return s.toArray(JAVA_BYTE);
    }

    static void deleteTree(Path p) {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            List<Path> all = s.sorted(Comparator.reverseOrder()).toList();
            for (Path x : all) Files.deleteIfExists(x);
        } catch (IOException e) {
            throw new RuntimeException("cannot remove " + p + ": " + e, e);
        }
    }

    static void sh(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (p.waitFor() != 0) fail(String.join(" ", cmd) + " failed: " + out);
        } catch (IOException | InterruptedException e) {
            fail(String.join(" ", cmd) + ": " + e);
        }
    }

    // ---- Java mirrors of ffm_test.c ----
    private static final ByteOrder BE = ByteOrder.BIG_ENDIAN;

    /** struct ffm_key: addr and port in network order in C, host ints here. */
    record FfmKey(int addr, int port, int proto) {
        static final StructLayout LAYOUT = MemoryLayout.structLayout(
                JAVA_INT.withOrder(BE).withName("addr"), JAVA_SHORT.withOrder(BE).withName("port"),
                JAVA_BYTE.withName("proto"), MemoryLayout.paddingLayout(1)).withName("ffm_key");
        private static final VarHandle ADDR = LAYOUT.varHandle(groupElement("addr"));
        private static final VarHandle PORT = LAYOUT.varHandle(groupElement("port"));
        private static final VarHandle PROTO = LAYOUT.varHandle(groupElement("proto"));
        static final Codec<FfmKey> CODEC = Codec.of(LAYOUT, (s, k) -> {
            ADDR.set(s, 0L, k.addr);
            PORT.set(s, 0L, (short) k.port);
            PROTO.set(s, 0L, (byte) k.proto);
        }, s -> new FfmKey((int) ADDR.get(s, 0L), Short.toUnsignedInt((short) PORT.get(s, 0L)),
                Byte.toUnsignedInt((byte) PROTO.get(s, 0L))));
    }

    /** struct ffm_value. */
    record FfmValue(long packets, int verdict, int flags, int mark) {
        static final StructLayout LAYOUT = MemoryLayout.structLayout(
                JAVA_LONG.withName("packets"), JAVA_INT.withName("verdict"), JAVA_SHORT.withName("flags"),
                JAVA_BYTE.withName("mark"), MemoryLayout.paddingLayout(1)).withName("ffm_value");
        static final Codec<FfmValue> CODEC = Codec.of(LAYOUT, (s, v) -> {
            s.set(JAVA_LONG, 0, v.packets);
            s.set(JAVA_INT, 8, v.verdict);
            s.set(JAVA_SHORT, 12, (short) v.flags);
            s.set(JAVA_BYTE, 14, (byte) v.mark);
        }, s -> new FfmValue(s.get(JAVA_LONG, 0), s.get(JAVA_INT, 8), Short.toUnsignedInt(s.get(JAVA_SHORT, 12)),
                Byte.toUnsignedInt(s.get(JAVA_BYTE, 14))));
    }

    /** struct ffm_counter (12 bytes: per-CPU slots are 16). */
    record FfmCounter(int packets, int bytes, int drops) {
        static final StructLayout LAYOUT = MemoryLayout.structLayout(
                JAVA_INT.withName("packets"), JAVA_INT.withName("bytes"), JAVA_INT.withName("drops")).withName("ffm_counter");
        static final Codec<FfmCounter> CODEC = Codec.of(LAYOUT, (s, v) -> {
            s.set(JAVA_INT, 0, v.packets);
            s.set(JAVA_INT, 4, v.bytes);
            s.set(JAVA_INT, 8, v.drops);
        }, s -> new FfmCounter(s.get(JAVA_INT, 0), s.get(JAVA_INT, 4), s.get(JAVA_INT, 8)));
    }

    /** struct ffm_lpm_key: prefix length (host order) and an IPv4 address (network order). */
    record LpmKey(int prefixLen, int addr) {
        static final StructLayout LAYOUT = MemoryLayout.structLayout(
                JAVA_INT.withName("prefixlen"), MemoryLayout.sequenceLayout(4, JAVA_BYTE).withName("addr")).withName("ffm_lpm_key");
        static final Codec<LpmKey> CODEC = Codec.of(LAYOUT, (s, k) -> {
            s.set(JAVA_INT, 0, k.prefixLen);
            s.set(JAVA_INT.withOrder(BE), 4, k.addr);
        }, s -> new LpmKey(s.get(JAVA_INT, 0), s.get(JAVA_INT.withOrder(BE), 4)));
    }

    static byte[] keyBytes(int addr, int proto) {
        return TypedMap.encode(FfmKey.CODEC, new FfmKey(addr, 0, proto));
    }
}
