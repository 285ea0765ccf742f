package dev.sluice.datapath;

import dev.sluice.bpf.BpfProgram;
import dev.sluice.bpf.Netns;
import dev.sluice.bpf.TestRun;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * A private network namespace standing for a node's uplink side, so BPF_PROG_TEST_RUN of the
 * uplink program sees real routes and neighbours (its reverse-path check): the node 172.30.0.11/24
 * on {@code up0}, node2 172.30.0.12 at {@value #NODE2_MAC} owning the pod CIDR 10.0.1.0/24, the
 * world 172.30.0.200 at {@value #WORLD_MAC}. Runs happen inside it with the packet arriving on
 * {@code up0}. Nothing outside the namespace is touched; {@link #close} deletes it.
 */
final class WireNetns implements AutoCloseable {
    static final String NODE2_MAC = "02:00:00:00:00:12", WORLD_MAC = "02:00:00:00:00:c8";

    final String name = "sl-dptest-" + UUID.randomUUID().toString().substring(0, 8);
    final Path path = Path.of("/var/run/netns", name);
    final int uplink;

    WireNetns() {
        ip("netns", "add", name);
        try {
            ip("-n", name, "link", "add", "up0", "type", "veth", "peer", "name", "up1");
            ip("-n", name, "addr", "add", "172.30.0.11/24", "dev", "up0");
            ip("-n", name, "link", "set", "up0", "up");
            ip("-n", name, "link", "set", "up1", "up");
            ip("-n", name, "neigh", "replace", "172.30.0.12", "lladdr", NODE2_MAC, "dev", "up0", "nud", "permanent");
            ip("-n", name, "neigh", "replace", "172.30.0.200", "lladdr", WORLD_MAC, "dev", "up0", "nud", "permanent");
            ip("-n", name, "route", "add", "10.0.1.0/24", "via", "172.30.0.12", "dev", "up0");
            ip("netns", "exec", name, "sysctl", "-q", "-w", "net.ipv4.conf.all.forwarding=1");
            uplink = Netns.inNetns(path, () -> Netns.ifindex("up0"));
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** Runs the program on {@code frame} as received on {@code up0}; {@code ingressIfindex} 0 unless forwarded. */
    TestRun.Result run(BpfProgram p, byte[] frame) { return run(p, frame, uplink, 0); }

    TestRun.Result run(BpfProgram p, byte[] frame, int ifindex, int ingressIfindex) {
        return run(p, frame, ifindex, ingressIfindex, 0);
    }

    /** As above with {@code skb->mark} set, as another hook or a socket's SO_MARK would have set it. */
    TestRun.Result run(BpfProgram p, byte[] frame, int ifindex, int ingressIfindex, int mark) {
        byte[] ctx = ctx(ifindex, ingressIfindex);
        ByteBuffer.wrap(ctx).order(ByteOrder.nativeOrder()).putInt(8, mark);
        return Netns.inNetns(path, () -> p.testRun(new TestRun.Input(frame, 1, ctx, 4096)));
    }

    /** skb->mark after a run (struct __sk_buff offset 8). */
    static int mark(TestRun.Result r) { return ByteBuffer.wrap(r.ctxOut()).order(ByteOrder.nativeOrder()).getInt(8); }

    /** Brings up the namespace's loopback (127.0.0.1), for sockets a test opens inside it. */
    void loopbackUp() { ip("-n", name, "link", "set", "lo", "up"); }

    /** sizeof(struct __sk_buff): the kernel copies the whole context back and refuses a smaller buffer. */
    static final int SK_BUFF_SIZE = 192;

    /** A {@code struct __sk_buff} with the interfaces set (offsets 36 and 40), all else zero as test runs require. */
    static byte[] ctx(int ifindex, int ingressIfindex) {
        ByteBuffer b = ByteBuffer.allocate(SK_BUFF_SIZE).order(ByteOrder.nativeOrder());
        b.putInt(36, ingressIfindex).putInt(40, ifindex);
        return b.array();
    }

    @Override public void close() {
        try {
            ip("netns", "del", name);
        } catch (RuntimeException e) {
            System.err.println("cleanup of " + name + ": " + e.getMessage());
        }
    }

    private static void ip(String... args) {
        List<String> cmd = new ArrayList<>(List.of("ip"));
        cmd.addAll(List.of(args));
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0)
                throw new IllegalStateException(String.join(" ", cmd) + ": " + out.strip());
        } catch (IOException e) {
            throw new IllegalStateException(String.join(" ", cmd) + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
