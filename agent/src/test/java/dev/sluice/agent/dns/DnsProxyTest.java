package dev.sluice.agent.dns;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.agent.flow.L7Observation;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * The DNS proxy on loopback without root (no IP_TRANSPARENT: the original destination is the
 * proxy's own address, and {@code forwardTo} names a fake server): forwarding, REFUSED never
 * forwarded, FORMERR on garbage, answers held until learned, spoofed answers ignored, TCP.
 */
class DnsProxyTest {
    static final InetAddress LO = InetAddress.getLoopbackAddress();
    final List<AutoCloseable> closing = new ArrayList<>();

    @AfterEach void close() throws Exception {
        for (var c : closing.reversed()) c.close();
    }

    /** A fake server: answers each query with what {@code answer} makes of it (null: no answer); keeps what it got. */
    static final class Upstream implements AutoCloseable {
        final DatagramSocket udp;
        final ServerSocket tcp;
        final List<Message> got = new CopyOnWriteArrayList<>();
        final List<InetSocketAddress> from = new CopyOnWriteArrayList<>();
        volatile Function<Message, List<Message>> answer;

        Upstream(Function<Message, List<Message>> answer) throws IOException {
            this.answer = answer;
            // UDP and TCP on the same port, as a DNS server is (forwardTo names one port for both)
            DatagramSocket u = null;
            ServerSocket t = null;
            for (int i = 0; i < 20 && t == null; i++) {
                u = new DatagramSocket(new InetSocketAddress(LO, 0));
                try {
                    t = new ServerSocket(u.getLocalPort(), 50, LO);
                } catch (IOException e) {
                    u.close();
                }
            }
            if (t == null) throw new IOException("no port free for both UDP and TCP");
            udp = u;
            tcp = t;
            Thread.ofPlatform().daemon().start(() -> {
                byte[] buf = new byte[65535];
                while (!udp.isClosed()) {
                    try {
                        DatagramPacket p = new DatagramPacket(buf, buf.length);
                        udp.receive(p);
                        Message q = new Message(Arrays.copyOf(buf, p.getLength()));
                        got.add(q);
                        from.add((InetSocketAddress) p.getSocketAddress());
                        for (Message a : this.answer.apply(q)) {
                            byte[] w = a.toWire();
                            udp.send(new DatagramPacket(w, w.length, p.getSocketAddress()));
                        }
                    } catch (IOException e) {
                        // closed
                    }
                }
            });
            Thread.ofPlatform().daemon().start(() -> {
                while (!tcp.isClosed()) {
                    try (Socket s = tcp.accept()) {
                        var in = new DataInputStream(s.getInputStream());
                        var out = new DataOutputStream(s.getOutputStream());
                        byte[] m = new byte[in.readUnsignedShort()];
                        in.readFully(m);
                        Message q = new Message(m);
                        got.add(q);
                        for (Message a : this.answer.apply(q)) {
                            byte[] w = a.toWire();
                            out.writeShort(w.length);
                            out.write(w);
                        }
                        out.flush();
                        Thread.sleep(50);
                    } catch (IOException | InterruptedException e) {
                        // closed
                    }
                }
            });
        }

        InetSocketAddress udpAddress() { return new InetSocketAddress(LO, udp.getLocalPort()); }

        @Override public void close() throws IOException {
            udp.close();
            tcp.close();
        }
    }

    static Message reply(Message q, Record... answers) {
        Message r = new Message(q.getHeader().getID());
        r.getHeader().setFlag(Flags.QR);
        r.getHeader().setFlag(Flags.RA);
        r.addRecord(q.getQuestion(), Section.QUESTION);
        for (Record a : answers) r.addRecord(a, Section.ANSWER);
        return r;
    }

    static ARecord a(String name, String ip, int ttl) {
        try {
            return new ARecord(Name.fromString(name), DClass.IN, ttl, InetAddress.getByName(ip));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    static Message query(String name, int type) throws IOException {
        return Message.newQuery(Record.newRecord(Name.fromString(name), type, DClass.IN));
    }

    /** A policy that denies {@code deny} (and records what it was asked and taught). */
    static final class FakePolicy implements DnsPolicy {
        final String deny;
        final List<String> asked = new CopyOnWriteArrayList<>();
        final List<String> learnedNames = new CopyOnWriteArrayList<>();
        final List<List<InetAddress>> learnedAddresses = new CopyOnWriteArrayList<>();
        final List<Integer> learnedTtls = new CopyOnWriteArrayList<>();
        volatile Function<String, CompletionStage<Void>> learn = n -> CompletableFuture.completedFuture(null);

        FakePolicy(String deny) { this.deny = deny; }

        @Override public Decision query(InetSocketAddress source, InetSocketAddress destination, String qname, int qtype) {
            asked.add(qname);
            return qname.equals(deny) ? Decision.deny("x/a", 100, 200, "no rules.dns of x/a matches " + qname) : Decision.allow("x/a", 100, 200, 0);
        }

        @Override public CompletionStage<Void> learned(String endpoint, String name, List<InetAddress> addresses, int ttlSeconds) {
            learnedNames.add(endpoint + " " + name);
            learnedAddresses.add(addresses);
            learnedTtls.add(ttlSeconds);
            return learn.apply(name);
        }
    }

    DnsProxy proxy(FakePolicy policy, Upstream up, Duration maxDelay, List<L7Observation> seen) {
        var any = new InetSocketAddress(LO, 0);
        var cfg = new DnsProxy.Config(any, any, false, Duration.ofMillis(700), maxDelay, 4, Duration.ofSeconds(2),
                dst -> up == null ? dst : new InetSocketAddress(LO, up.udp.getLocalPort()));
        DnsProxy p = new DnsProxy(cfg, policy, seen::add).start();
        closing.add(p);
        return p;
    }

    /** One UDP exchange with the proxy; null when nothing came within {@code timeoutMs}. */
    static Message ask(DnsProxy p, byte[] wire, int timeoutMs) throws IOException {
        try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(LO, 0))) {
            s.setSoTimeout(timeoutMs);
            s.send(new DatagramPacket(wire, wire.length, p.udpAddress()));
            byte[] buf = new byte[65535];
            DatagramPacket r = new DatagramPacket(buf, buf.length);
            try {
                s.receive(r);
            } catch (SocketTimeoutException e) {
                return null;
            }
            return new Message(Arrays.copyOf(buf, r.getLength()));
        }
    }

    Upstream upstream(Function<Message, List<Message>> answer) throws IOException {
        Upstream u = new Upstream(answer);
        closing.add(u);
        return u;
    }

    @Test void forwardsAnAllowedQueryAndRelaysTheAnswerWithTheClientsId() throws IOException {
        var up = upstream(q -> List.of(reply(q, a("api.example.com.", "192.0.2.7", 60))));
        var policy = new FakePolicy("evil.com.");
        List<L7Observation> seen = new CopyOnWriteArrayList<>();
        var p = proxy(policy, up, Duration.ofSeconds(1), seen);
        Message q = query("Api.Example.COM.", Type.A);
        Message r = ask(p, q.toWire(), 2000);
        assertThat(r).isNotNull();
        assertThat(r.getHeader().getID()).isEqualTo(q.getHeader().getID());
        assertThat(r.getRcode()).isEqualTo(Rcode.NOERROR);
        assertThat(r.getSection(Section.ANSWER)).hasSize(1);
        assertThat(((ARecord) r.getSection(Section.ANSWER).getFirst()).getAddress().getHostAddress()).isEqualTo("192.0.2.7");
        assertThat(policy.asked).containsExactly("api.example.com.");
        assertThat(up.got).hasSizeBetween(1, 2); // asked again when the first answer was slow (UDP)
        assertThat(policy.learnedNames).containsExactly("x/a api.example.com.");
        assertThat(policy.learnedTtls).containsExactly(60);
        assertThat(p.stats().allowed()).isEqualTo(1);
        assertThat(p.stats().answersHeld()).isEqualTo(1);
        // a request and its response, as the flow pipeline gets them
        assertThat(seen).hasSize(2);
        var resp = (L7Observation.Dns) seen.get(1);
        assertThat(resp.type()).isEqualTo(L7Observation.Type.RESPONSE);
        assertThat(resp.query()).isEqualTo("api.example.com.");
        assertThat(resp.ips()).containsExactly("192.0.2.7");
        assertThat(resp.ttl()).isEqualTo(60);
        assertThat(resp.sourceIdentity()).isEqualTo(100);
        assertThat(resp.verdict()).isEqualTo(L7Observation.Verdict.FORWARDED);
    }

    @Test void aDeniedNameIsRefusedAndNeverForwardedWhateverItsCase() throws IOException {
        var up = upstream(q -> List.of(reply(q, a("evil.com.", "192.0.2.66", 60))));
        var policy = new FakePolicy("evil.com.");
        List<L7Observation> seen = new CopyOnWriteArrayList<>();
        var p = proxy(policy, up, Duration.ofSeconds(1), seen);
        for (String n : List.of("evil.com.", "EvIl.CoM.")) {
            Message q = query(n, Type.A);
            Message r = ask(p, q.toWire(), 2000);
            assertThat(r.getRcode()).as(n).isEqualTo(Rcode.REFUSED);
            assertThat(r.getHeader().getID()).isEqualTo(q.getHeader().getID());
            assertThat(r.getSection(Section.ANSWER)).isEmpty();
        }
        assertThat(up.got).isEmpty();
        assertThat(policy.learnedNames).isEmpty();
        assertThat(p.stats().denied()).isEqualTo(2);
        assertThat(seen).allMatch(o -> o.verdict() == L7Observation.Verdict.DENIED);
        assertThat(((L7Observation.Dns) seen.getFirst()).rcode()).isEqualTo(Rcode.REFUSED);
    }

    @Test void garbageGetsFormerrOrNothingAndIsNeverForwarded() throws IOException {
        var up = upstream(q -> List.of(reply(q)));
        var policy = new FakePolicy("");
        var p = proxy(policy, up, Duration.ofSeconds(1), new CopyOnWriteArrayList<>());
        // a header and then junk
        byte[] junk = new byte[40];
        new java.util.SplittableRandom(7).nextBytes(junk);
        junk[0] = 0x12;
        junk[1] = 0x34;
        junk[2] = 0; // QR=0, opcode QUERY
        junk[4] = 0;
        junk[5] = 5; // five questions that are not there
        Message r = ask(p, junk, 2000);
        assertThat(r).isNotNull();
        assertThat(r.getRcode()).isEqualTo(Rcode.FORMERR);
        assertThat(r.getHeader().getID()).isEqualTo(0x1234);
        // shorter than a header: nothing to answer
        assertThat(ask(p, new byte[] {1, 2, 3}, 300)).isNull();
        // a response sent as a query, two questions, another opcode
        Message resp = reply(query("a.example.", Type.A));
        assertThat(ask(p, resp.toWire(), 2000).getRcode()).isEqualTo(Rcode.FORMERR);
        Message two = query("a.example.", Type.A);
        two.addRecord(Record.newRecord(Name.fromString("b.example."), Type.A, DClass.IN), Section.QUESTION);
        assertThat(ask(p, two.toWire(), 2000).getRcode()).isEqualTo(Rcode.FORMERR);
        Message notify = query("a.example.", Type.SOA);
        notify.getHeader().setOpcode(org.xbill.DNS.Opcode.NOTIFY);
        assertThat(ask(p, notify.toWire(), 2000).getRcode()).isEqualTo(Rcode.NOTIMP);
        Message chaos = Message.newQuery(Record.newRecord(Name.fromString("version.bind."), Type.TXT, DClass.CH));
        assertThat(ask(p, chaos.toWire(), 2000).getRcode()).isEqualTo(Rcode.REFUSED);
        assertThat(up.got).isEmpty();
        assertThat(policy.asked).isEmpty();
        assertThat(p.stats().malformed()).isEqualTo(6);
        // and it still serves
        assertThat(ask(p, query("ok.example.", Type.A).toWire(), 2000).getRcode()).isEqualTo(Rcode.NOERROR);
    }

    @Test void theAnswerIsReleasedOnlyOnceTheAddressesAreLearned() throws Exception {
        var up = upstream(q -> List.of(reply(q, a("db.example.", "192.0.2.9", 30))));
        var policy = new FakePolicy("");
        CompletableFuture<Void> gate = new CompletableFuture<>();
        policy.learn = n -> gate;
        var p = proxy(policy, up, Duration.ofSeconds(5), new CopyOnWriteArrayList<>());
        long[] learnedAt = new long[1];
        Thread.ofPlatform().start(() -> {
            try {
                Thread.sleep(400);
            } catch (InterruptedException e) {
                return;
            }
            learnedAt[0] = System.nanoTime();
            gate.complete(null);
        });
        Message r = ask(p, query("db.example.", Type.A).toWire(), 3000);
        long answeredAt = System.nanoTime();
        assertThat(r).isNotNull();
        assertThat(learnedAt[0]).as("learned() completed before the answer came").isPositive().isLessThan(answeredAt);
        assertThat(p.stats().releasedUnlearned()).isZero();
        assertThat(p.stats().heldMaxNanos()).isGreaterThan(Duration.ofMillis(300).toNanos());
    }

    @Test void anAnswerWhoseLearningHangsIsReleasedAfterTheMaxDelayAndCounted() throws IOException {
        var up = upstream(q -> List.of(reply(q, a("slow.example.", "192.0.2.10", 30))));
        var policy = new FakePolicy("");
        policy.learn = n -> new CompletableFuture<>(); // never
        var p = proxy(policy, up, Duration.ofMillis(150), new CopyOnWriteArrayList<>());
        long t0 = System.nanoTime();
        Message r = ask(p, query("slow.example.", Type.A).toWire(), 3000);
        assertThat(r).isNotNull();
        assertThat(System.nanoTime() - t0).isGreaterThanOrEqualTo(Duration.ofMillis(140).toNanos());
        assertThat(p.stats().releasedUnlearned()).isEqualTo(1);
    }

    @Test void onlyTheAskedNamesChainIsLearnedNotOtherNamesInTheAnswer() throws IOException {
        var up = upstream(q -> {
            try {
                return List.of(reply(q, new CNAMERecord(Name.fromString("www.example."), DClass.IN, 300, Name.fromString("edge.cdn.example.")),
                        a("edge.cdn.example.", "192.0.2.20", 20), a("bank.example.", "6.6.6.6", 3600)));
            } catch (IOException e) {
                throw new AssertionError(e);
            }
        });
        var policy = new FakePolicy("");
        var p = proxy(policy, up, Duration.ofSeconds(1), new CopyOnWriteArrayList<>());
        assertThat(ask(p, query("www.example.", Type.A).toWire(), 2000)).isNotNull();
        assertThat(policy.learnedAddresses).hasSize(1);
        assertThat(policy.learnedAddresses.getFirst()).extracting(InetAddress::getHostAddress).containsExactly("192.0.2.20");
        assertThat(policy.learnedTtls).containsExactly(20);
    }

    @Test void spoofedAnswersWrongIdWrongQuestionOrAnotherSourceAreIgnored() throws IOException {
        var policy = new FakePolicy("");
        List<Upstream> self = new ArrayList<>();
        var up = upstream(q -> {
            // first a wrong id, a wrong question, then (from another socket) a right id with a poisoned address; last the real one
            Message wrongId = reply(q, a("pay.example.", "6.6.6.1", 60));
            wrongId.getHeader().setID((q.getHeader().getID() + 1) & 0xffff);
            Message wrongQ;
            try {
                wrongQ = reply(query("other.example.", Type.A), a("other.example.", "6.6.6.2", 60));
            } catch (IOException e) {
                throw new AssertionError(e);
            }
            wrongQ.getHeader().setID(q.getHeader().getID());
            try (DatagramSocket spoofer = new DatagramSocket(new InetSocketAddress(LO, 0))) {
                byte[] w = reply(q, a("pay.example.", "6.6.6.3", 60)).toWire();
                spoofer.send(new DatagramPacket(w, w.length, self.getFirst().from.getLast()));
            } catch (IOException e) {
                throw new AssertionError(e);
            }
            return List.of(wrongId, wrongQ, reply(q, a("pay.example.", "192.0.2.30", 60)));
        });
        self.add(up);
        var p = proxy(policy, up, Duration.ofSeconds(1), new CopyOnWriteArrayList<>());
        Message r = ask(p, query("pay.example.", Type.A).toWire(), 2000);
        assertThat(r.getSection(Section.ANSWER)).hasSize(1);
        assertThat(((ARecord) r.getSection(Section.ANSWER).getFirst()).getAddress().getHostAddress()).isEqualTo("192.0.2.30");
        assertThat(policy.learnedAddresses.getFirst()).extracting(InetAddress::getHostAddress).containsExactly("192.0.2.30");
        // the id the server saw is the proxy's own, not the client's
        assertThat(up.got).hasSizeBetween(1, 2); // asked again when the first answer was slow (UDP)
    }

    @Test void anUpstreamThatDoesNotAnswerGivesServfail() throws IOException {
        var up = upstream(q -> List.of());
        var p = proxy(new FakePolicy(""), up, Duration.ofSeconds(1), new CopyOnWriteArrayList<>());
        Message r = ask(p, query("void.example.", Type.A).toWire(), 3000);
        assertThat(r.getRcode()).isEqualTo(Rcode.SERVFAIL);
        assertThat(p.stats().forwardErrors()).isEqualTo(1);
    }

    @Test void aLostUdpAnswerIsAskedForAgainAfterAQuarterOfTheTimeout() throws IOException {
        java.util.concurrent.atomic.AtomicInteger n = new java.util.concurrent.atomic.AtomicInteger();
        var up = upstream(q -> n.incrementAndGet() == 1 ? List.of() : List.of(reply(q, a("lossy.example.", "192.0.2.50", 60))));
        var p = proxy(new FakePolicy(""), up, Duration.ofSeconds(1), new CopyOnWriteArrayList<>());
        long t0 = System.nanoTime();
        Message r = ask(p, query("lossy.example.", Type.A).toWire(), 3000);
        assertThat(r.getRcode()).isEqualTo(Rcode.NOERROR);
        assertThat(System.nanoTime() - t0).isBetween(Duration.ofMillis(170).toNanos(), Duration.ofMillis(690).toNanos());
        assertThat(up.got).hasSize(2);
        assertThat(up.got.get(0).getHeader().getID()).isEqualTo(up.got.get(1).getHeader().getID());
        assertThat(p.stats().forwardErrors()).isZero();
    }

    @Test void nxdomainIsRelayedAndNothingLearned() throws IOException {
        var up = upstream(q -> {
            Message m = reply(q);
            m.getHeader().setRcode(Rcode.NXDOMAIN);
            return List.of(m);
        });
        var policy = new FakePolicy("");
        var p = proxy(policy, up, Duration.ofSeconds(1), new CopyOnWriteArrayList<>());
        assertThat(ask(p, query("nope.example.", Type.A).toWire(), 2000).getRcode()).isEqualTo(Rcode.NXDOMAIN);
        assertThat(policy.learnedNames).isEmpty();
    }

    @Test void tcpQueriesAreForwardedOverTcpAndDeniedOnesRefused() throws IOException {
        var up = upstream(q -> List.of(reply(q, a("big.example.", "192.0.2.40", 60))));
        var any = new InetSocketAddress(LO, 0);
        var policy = new FakePolicy("evil.com.");
        var cfg = new DnsProxy.Config(any, any, false, Duration.ofMillis(700), Duration.ofSeconds(1), 4, Duration.ofSeconds(2),
                dst -> new InetSocketAddress(LO, up.tcp.getLocalPort()));
        DnsProxy p = new DnsProxy(cfg, policy, L7Observation.L7Sink.NONE).start();
        closing.add(p);
        try (Socket s = new Socket(LO, p.tcpAddress().getPort())) {
            s.setSoTimeout(3000);
            var out = new DataOutputStream(s.getOutputStream());
            var in = new DataInputStream(s.getInputStream());
            for (String n : List.of("big.example.", "evil.com.", "big.example.")) {
                Message q = query(n, Type.A);
                byte[] w = q.toWire();
                out.writeShort(w.length);
                out.write(w);
                out.flush();
                byte[] a = new byte[in.readUnsignedShort()];
                in.readFully(a);
                Message r = new Message(a);
                assertThat(r.getHeader().getID()).isEqualTo(q.getHeader().getID());
                assertThat(r.getRcode()).as(n).isEqualTo(n.equals("evil.com.") ? Rcode.REFUSED : Rcode.NOERROR);
            }
            // garbage in a frame: FORMERR, the connection stays
            out.writeShort(14);
            out.write(new byte[] {0x11, 0x22, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 9, 9});
            out.flush();
            byte[] a = new byte[in.readUnsignedShort()];
            in.readFully(a);
            assertThat(new Message(a).getRcode()).isEqualTo(Rcode.FORMERR);
        }
        assertThat(up.got).hasSize(2);
        assertThat(p.stats().tcpConnections()).isEqualTo(1);
    }

    @Test void tcpClientsOverTheLimitAreClosedAndCounted() throws Exception {
        var any = new InetSocketAddress(LO, 0);
        var cfg = new DnsProxy.Config(any, any, false, Duration.ofMillis(700), Duration.ofSeconds(1), 2, Duration.ofSeconds(5), dst -> dst);
        DnsProxy p = new DnsProxy(cfg, DnsPolicy.ALLOW_ALL, L7Observation.L7Sink.NONE).start();
        closing.add(p);
        List<Socket> open = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                Socket s = new Socket(LO, p.tcpAddress().getPort());
                s.setSoTimeout(2000);
                open.add(s);
            }
            assertThat(open.get(2).getInputStream().read()).isEqualTo(-1); // closed by the proxy
            assertThat(p.stats().tcpRefused()).isEqualTo(1);
        } finally {
            for (Socket s : open) s.close();
        }
    }

    @Test void theSocketsExposeTheirFds() {
        var p = proxy(new FakePolicy(""), null, Duration.ofSeconds(1), new CopyOnWriteArrayList<>());
        assertThat(p.udpFd()).isPositive();
        assertThat(p.tcpFd()).isPositive().isNotEqualTo(p.udpFd());
    }
}
