package dev.sluice.lab.dns;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.Header;
import org.xbill.DNS.Message;
import org.xbill.DNS.Rcode;

/**
 * The lab's DNS server on one UDP socket and one TCP listener (both already bound, possibly in
 * another network namespace: a socket keeps the namespace it was made in). Answers come from the
 * current {@link ClusterZone}. UDP answers longer than the client's limit (512 bytes, or its EDNS
 * size) are truncated with TC set, so the client retries over TCP. A message that does not parse
 * gets FORMERR when its header can be read, and nothing otherwise.
 */
public final class LabDnsServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(LabDnsServer.class);
    static final int TCP_IDLE_MS = 10_000;
    static final int MAX_TCP_CONNECTIONS = 256;

    private final Supplier<ClusterZone> zone;
    private final DatagramSocket udp;
    private final ServerSocket tcp;
    private final AtomicLong queries = new AtomicLong();
    private final AtomicLong malformed = new AtomicLong();
    private final java.util.concurrent.Semaphore connections = new java.util.concurrent.Semaphore(MAX_TCP_CONNECTIONS);
    private volatile boolean open = true;

    public LabDnsServer(Supplier<ClusterZone> zone, DatagramSocket udp, ServerSocket tcp) {
        this.zone = zone;
        this.udp = udp;
        this.tcp = tcp;
        Thread.ofPlatform().name("lab-dns-udp").daemon().start(this::serveUdp);
        Thread.ofPlatform().name("lab-dns-tcp").daemon().start(this::serveTcp);
    }

    /** Binds both on {@code address}:{@code port} of the current namespace (port 0: any, for tests). */
    public static LabDnsServer bind(Supplier<ClusterZone> zone, InetSocketAddress at) throws IOException {
        DatagramSocket u = new DatagramSocket(null);
        u.setReuseAddress(true);
        u.bind(at);
        ServerSocket t = new ServerSocket();
        t.setReuseAddress(true);
        try {
            t.bind(new InetSocketAddress(at.getAddress(), u.getLocalPort()));
        } catch (IOException e) {
            u.close();
            throw e;
        }
        return new LabDnsServer(zone, u, t);
    }

    public int udpPort() { return udp.getLocalPort(); }
    public int tcpPort() { return tcp.getLocalPort(); }
    public long queries() { return queries.get(); }
    public long malformed() { return malformed.get(); }

    /** The wire answer to a wire query, at most {@code max} bytes (TC set when cut); null when nothing can be said. */
    byte[] respond(byte[] in, int max) {
        queries.incrementAndGet();
        Message q;
        try {
            q = new Message(in);
        } catch (IOException e) {
            malformed.incrementAndGet();
            return formErr(in);
        }
        Message a = zone.get().answer(q);
        int limit = max;
        if (max < 65535 && q.getOPT() != null) limit = Math.max(512, Math.min(q.getOPT().getPayloadSize(), 4096));
        return a.toWire(limit);
    }

    /** FORMERR for a message whose 12-byte header reads; null otherwise. */
    static byte[] formErr(byte[] in) {
        if (in.length < Header.LENGTH) return null;
        try {
            Header h = new Header(Arrays.copyOf(in, Header.LENGTH));
            Message r = new Message(h.getID());
            r.getHeader().setFlag(org.xbill.DNS.Flags.QR);
            r.getHeader().setRcode(Rcode.FORMERR);
            return r.toWire();
        } catch (IOException e) {
            return null;
        }
    }

    private void serveUdp() {
        byte[] buf = new byte[65535];
        while (open) {
            DatagramPacket p = new DatagramPacket(buf, buf.length);
            try {
                udp.receive(p);
                byte[] out = respond(Arrays.copyOf(buf, p.getLength()), 512);
                if (out != null) udp.send(new DatagramPacket(out, out.length, p.getSocketAddress()));
            } catch (IOException | RuntimeException e) {
                if (open) log.warn("lab DNS (UDP): {}", e.toString());
            }
        }
    }

    private void serveTcp() {
        while (open) {
            try {
                Socket s = tcp.accept();
                if (!connections.tryAcquire()) {
                    s.close();
                    continue;
                }
                Thread.ofVirtual().name("lab-dns-tcp-conn").start(() -> {
                    try (s) {
                        serveConnection(s);
                    } catch (IOException e) {
                        // the client went away
                    } finally {
                        connections.release();
                    }
                });
            } catch (IOException e) {
                if (open) log.warn("lab DNS (TCP): {}", e.toString());
            }
        }
    }

    /** Length-prefixed messages (RFC 1035 4.2.2, RFC 7766) until the client closes or idles. */
    private void serveConnection(Socket s) throws IOException {
        s.setSoTimeout(TCP_IDLE_MS);
        var in = new DataInputStream(s.getInputStream());
        var out = new DataOutputStream(s.getOutputStream());
        while (true) {
            int len;
            try {
                len = in.readUnsignedShort();
            } catch (EOFException | SocketTimeoutException e) {
                return;
            }
            byte[] msg = new byte[len];
            in.readFully(msg);
            byte[] a = respond(msg, 65535);
            if (a == null) return;
            out.writeShort(a.length);
            out.write(a);
            out.flush();
        }
    }

    @Override public void close() {
        open = false;
        udp.close();
        try {
            tcp.close();
        } catch (IOException ignored) {
            // closing
        }
    }
}
