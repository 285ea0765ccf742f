package dev.sluice.agent.dns;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.agent.flow.L7Observation;
import dev.sluice.bpf.Netns;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.Message;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * The proxy as the data path uses it: transparent sockets in a private namespace
 * {@code sl-dnstest-<random>} standing for the node, where the server address 10.96.0.10 is made
 * local by a local route for 10.96.0.0/16 (no address holds it; the data path steers with
 * bpf_sk_assign instead, and the socket then sees the same original destination). A connected UDP client takes only an answer
 * from 10.96.0.10:53, so the answer must leave from the original destination; the upstream is a
 * fake server on that namespace's loopback (reachable nowhere else), asked with an SO_MARK.
 */
@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: network namespaces, IP_TRANSPARENT, SO_MARK")
class DnsProxyTransparentTest {
    private final String ns = "sl-dnstest-" + UUID.randomUUID().toString().substring(0, 8);
    private final Path path = Path.of("/var/run/netns", ns);
    private DnsProxyTest.Upstream up;
    private DnsProxy proxy;

    static void ip(String... args) throws Exception {
        Process p = new ProcessBuilder(args).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) throw new IllegalStateException(String.join(" ", args) + ": " + out);
    }

    @BeforeEach void namespace() throws Exception {
        ip("ip", "netns", "add", ns);
        ip("ip", "-n", ns, "link", "set", "lo", "up");
        ip("ip", "-n", ns, "route", "add", "local", "10.96.0.0/16", "dev", "lo"); // "AnyIP": the whole range is local, no address holds it
        up = Netns.inNetns(path, () -> new DnsProxyTest.Upstream(q -> List.of(DnsProxyTest.reply(q, DnsProxyTest.a("web.example.", "192.0.2.80", 60)))));
        var any = new InetSocketAddress("0.0.0.0", 53);
        var cfg = new DnsProxy.Config(any, any, true, Duration.ofSeconds(2), Duration.ofMillis(500), 16, Duration.ofSeconds(5),
                dst -> new InetSocketAddress(InetAddress.getLoopbackAddress(), dst.getPort() == 53 ? up.udp.getLocalPort() : 0));
        proxy = Netns.inNetns(path, () -> new DnsProxy(cfg, new DnsPolicy() {
            @Override public Decision query(InetSocketAddress source, InetSocketAddress destination, String qname, int qtype) {
                return qname.equals("evil.example.") ? Decision.deny("x/a", 1, 2, "denied") : Decision.allow("x/a", 1, 2, 0xa6000123);
            }

            @Override public java.util.concurrent.CompletionStage<Void> learned(String endpoint, String name, List<InetAddress> addresses, int ttl) {
                return java.util.concurrent.CompletableFuture.completedFuture(null);
            }
        }, L7Observation.L7Sink.NONE).start());
    }

    @AfterEach void delete() throws Exception {
        if (proxy != null) proxy.close();
        if (up != null) up.close();
        ip("ip", "netns", "del", ns);
    }

    @Test void udpAnswersLeaveFromTheOriginalDestinationAgainAndAgain() throws Exception {
        List<Integer> rcodes = new CopyOnWriteArrayList<>();
        Netns.inNetns(path, () -> {
            for (String n : List.of("web.example.", "evil.example.", "web.example.")) {
                // from 127.0.0.1: an answer the kernel sourced itself would come from there, not from 10.96.0.10
                try (DatagramSocket c = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
                    c.connect(new InetSocketAddress("10.96.0.10", 53)); // only an answer from there is taken
                    c.setSoTimeout(3000);
                    Message q = DnsProxyTest.query(n, Type.A);
                    byte[] w = q.toWire();
                    c.send(new DatagramPacket(w, w.length));
                    byte[] buf = new byte[4096];
                    DatagramPacket r = new DatagramPacket(buf, buf.length);
                    c.receive(r);
                    assertThat(r.getSocketAddress()).isEqualTo(new InetSocketAddress("10.96.0.10", 53));
                    Message m = new Message(Arrays.copyOf(buf, r.getLength()));
                    assertThat(m.getHeader().getID()).isEqualTo(q.getHeader().getID());
                    rcodes.add(m.getRcode());
                    if (m.getRcode() == Rcode.NOERROR)
                        assertThat(((ARecord) m.getSection(Section.ANSWER).getFirst()).getAddress().getHostAddress()).isEqualTo("192.0.2.80");
                }
            }
            return null;
        });
        assertThat(rcodes).containsExactly(Rcode.NOERROR, Rcode.REFUSED, Rcode.NOERROR);
        assertThat(up.got).hasSizeBetween(2, 4); // a UDP query may be asked again
        assertThat(proxy.stats().forwardErrors()).isZero();
    }

    @Test void tcpSeesTheOriginalDestinationAsItsLocalAddress() throws Exception {
        Message a = Netns.inNetns(path, () -> {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("10.96.0.10", 53), 3000);
                s.setSoTimeout(3000);
                var out = new DataOutputStream(s.getOutputStream());
                byte[] w = DnsProxyTest.query("web.example.", Type.A).toWire();
                out.writeShort(w.length);
                out.write(w);
                out.flush();
                var in = new DataInputStream(s.getInputStream());
                byte[] m = new byte[in.readUnsignedShort()];
                in.readFully(m);
                return new Message(m);
            }
        });
        assertThat(a.getRcode()).isEqualTo(Rcode.NOERROR);
        assertThat(up.got).hasSize(1);
    }
}
