package dev.sluice.agent.proxy;

import dev.sluice.config.HttpProxyValues;
import dev.sluice.policy.HttpRule;
import java.net.InetSocketAddress;
import java.util.List;

/**
 * For docs/benchmarks.md: a proxy (one rule, GET /.*) in front of UPSTREAM (host:port), printing its
 * egress port, until stdin closes. Load: wrk/h2load against the printed port and against UPSTREAM.
 * Args: UPSTREAM [THREADS].
 */
public final class HttpProxyBenchMain {
    public static void main(String[] args) throws Exception {
        String[] hp = args[0].split(":");
        var up = new InetSocketAddress(hp[0], Integer.parseInt(hp[1]));
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 1;
        var ctx = L7Context.of(List.of(new HttpRule("GET", "/.*", "", List.of())), 1001, 2002);
        var p = new HttpProxy(HttpProxyValues.DEFAULT.withListenAddress("127.0.0.1"), (i, s, d) -> ctx, o -> {}, false, ch -> up, threads);
        p.start();
        System.out.println("PORT " + p.egress().port());
        System.out.flush();
        while (System.in.read() >= 0) { /* until stdin closes */ }
        System.out.println("STATUS " + p.status().toMap());
        p.stop();
    }
}
