package dev.sluice.agent.dns;

import dev.sluice.agent.flow.L7Observation;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import org.xbill.DNS.Type;

/**
 * DNS queries per second over UDP on loopback, straight to a server and through the proxy (not a
 * test; docs/benchmarks.md): {@code CLIENTS} clients each ask, wait for the answer, ask again, for
 * {@code SECONDS}. The server is {@link DnsProxyTest.Upstream} (dnsjava parse and answer per query).
 * Run: {@code java -cp <agent test classpath> dev.sluice.agent.dns.DnsProxyBench [clients] [seconds]}.
 */
public final class DnsProxyBench {
    public static void main(String[] args) throws Exception {
        int clients = args.length > 0 ? Integer.parseInt(args[0]) : 8;
        int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        InetAddress lo = InetAddress.getLoopbackAddress();
        try (var up = new DnsProxyTest.Upstream(q -> List.of(DnsProxyTest.reply(q, DnsProxyTest.a("bench.example.", "192.0.2.1", 60))))) {
            var any = new InetSocketAddress(lo, 0);
            var cfg = new DnsProxy.Config(any, any, false, Duration.ofSeconds(2), Duration.ofMillis(100), 64, Duration.ofSeconds(10),
                    dst -> up.udpAddress());
            try (DnsProxy proxy = new DnsProxy(cfg, DnsPolicy.ALLOW_ALL, L7Observation.L7Sink.NONE).start()) {
                run("warm-up direct", up.udpAddress(), clients, 2);
                run("warm-up proxy", proxy.udpAddress(), clients, 2);
                double direct = run("direct", up.udpAddress(), clients, seconds);
                double proxied = run("proxy", proxy.udpAddress(), clients, seconds);
                System.out.printf("ratio proxy/direct %.2f%n", proxied / direct);
                System.out.println("proxy counters " + proxy.stats());
            }
        }
    }

    static double run(String label, InetSocketAddress server, int clients, int seconds) throws Exception {
        AtomicLong done = new AtomicLong(), lost = new AtomicLong();
        ConcurrentLinkedQueue<Long> lat = new ConcurrentLinkedQueue<>();
        long end = System.nanoTime() + Duration.ofSeconds(seconds).toNanos();
        List<Thread> ts = new ArrayList<>();
        byte[] q = DnsProxyTest.query("bench.example.", Type.A).toWire();
        for (int i = 0; i < clients; i++)
            ts.add(Thread.ofPlatform().start(() -> {
                try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(server.getAddress(), 0))) {
                    s.connect(server);
                    s.setSoTimeout(1000);
                    byte[] buf = new byte[1500];
                    while (System.nanoTime() < end) {
                        long t0 = System.nanoTime();
                        s.send(new DatagramPacket(q, q.length));
                        try {
                            s.receive(new DatagramPacket(buf, buf.length));
                            lat.add(System.nanoTime() - t0);
                            done.incrementAndGet();
                        } catch (java.net.SocketTimeoutException e) {
                            lost.incrementAndGet();
                        }
                    }
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            }));
        for (Thread t : ts) t.join();
        long[] l = lat.stream().mapToLong(Long::longValue).toArray();
        Arrays.sort(l);
        double qps = done.get() / (double) seconds;
        System.out.printf("%-15s %d clients %ds: %.0f queries/s, p50 %.0f us, p99 %.0f us, lost %d%n", label, clients, seconds, qps,
                l.length == 0 ? 0 : l[l.length / 2] / 1e3, l.length == 0 ? 0 : l[(int) (l.length * 0.99)] / 1e3, lost.get());
        return qps;
    }
}
