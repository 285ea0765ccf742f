package dev.sluice.agent.hubble;

import dev.sluice.agent.flow.Flow;
import dev.sluice.agent.flow.PolicyRef;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Flows for the Hubble API's tests: one known denied flow, and random ones from a seed. */
final class Flows {
    private Flows() {}

    static final Instant T0 = Instant.parse("2026-12-02T16:00:00.123456789Z");

    static Flow.Endpoint pod(String ns, String name, long identity, String app) {
        return new Flow.Endpoint(0, identity, ns, List.of("k8s:app=" + app, "k8s:io.kubernetes.pod.namespace=" + ns), name,
                List.of(new Flow.Workload(app, "Deployment")));
    }

    /** A TCP SYN from fl/client to fl/server:8080 denied at ingress by the NetworkPolicy fl/deny-all. */
    static Flow denied(int i) {
        return new Flow(T0.plusMillis(i), "uuid-" + i, Flow.Verdict.DROPPED, 133, "POLICY_DENIED", new Flow.Ip("10.0.1.5", "10.0.2.6", "IPv4"),
                new Flow.Tcp(40000 + i, 8080, Flow.TcpFlags.of(0x02)), pod("fl", "client-1", 300, "client"), pod("fl", "server-1", 301, "server"),
                "node-2", null, null, Flow.TrafficDirection.INGRESS, "TO_ENDPOINT", false, new Flow.EventType(1, 133),
                List.of(), List.of(), List.of(new PolicyRef("deny-all", "fl", "NetworkPolicy")), List.of(), "TCP Flags: SYN",
                new Flow.Extra(2, "policy denied", "new", "none", "fl/server-1", 7, 74, ""));
    }

    static Flow forwarded(int i, String node, int dport) {
        return new Flow(T0.plusMillis(i), "f-" + node + "-" + i, Flow.Verdict.FORWARDED, 0, "",
                new Flow.Ip("10.0.1.5", "10.0.2.6", "IPv4"), new Flow.Udp(5000, dport), pod("fl", "client-1", 300, "client"),
                pod("fl", "server-1", 301, "server"), node, null, null, Flow.TrafficDirection.EGRESS, "TO_STACK", false,
                new Flow.EventType(4, 3), List.of(), List.of(new PolicyRef("allow-dns", "fl", "CiliumNetworkPolicy")), List.of(), List.of(), "",
                new Flow.Extra(0, "", "new", "identity", "fl/client-1", 0, 60, ""));
    }

    private static final Flow.Verdict[] VERDICTS = Flow.Verdict.values();
    private static final String[] POINTS = {"UNKNOWN_POINT", "TO_STACK", "TO_OVERLAY", "FROM_ENDPOINT", "FROM_OVERLAY", "FROM_NETWORK",
            "TO_NETWORK", "TO_ENDPOINT"};
    private static final String[] REASONS = {"", "POLICY_DENIED", "POLICY_DENY", "INVALID_SOURCE_IP",
            "SERVICE_BACKEND_NOT_FOUND", "CT_MAP_INSERTION_FAILED"};
    private static final String[] KINDS = {"NetworkPolicy", "CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy"};

    static Flow random(SplittableRandom r) {
        int ports = r.nextInt(65536), portd = r.nextInt(65536);
        Flow.L4 l4 = switch (r.nextInt(5)) {
            case 0 -> new Flow.Tcp(ports, portd, Flow.TcpFlags.of(r.nextInt(256)));
            case 1 -> new Flow.Udp(ports, portd);
            case 2 -> new Flow.Sctp(ports, portd);
            case 3 -> r.nextInt(4) == 0 ? new Flow.Icmpv4(ports, portd, -1, -1) : new Flow.Icmpv4(ports, portd, r.nextInt(256), r.nextInt(256));
            default -> new Flow.Other(r.nextInt(256));
        };
        Flow.Endpoint src = r.nextBoolean() ? pod("ns" + r.nextInt(3), "pod-" + r.nextInt(100), r.nextLong(1L << 32), "a" + r.nextInt(3))
                : new Flow.Endpoint(0, 2, "", List.of("reserved:world"), "", List.of());
        Flow.Endpoint dst = pod("ns" + r.nextInt(3), "pod-" + r.nextInt(100), 256 + r.nextInt(1000), "b");
        return new Flow(T0.plusNanos(r.nextLong(1_000_000_000_000L)), "u" + r.nextLong(), VERDICTS[r.nextInt(VERDICTS.length)], r.nextInt(200),
                REASONS[r.nextInt(REASONS.length)], new Flow.Ip(ip(r), ip(r), "IPv4"), l4, src, dst, "node-" + r.nextInt(3),
                r.nextBoolean() ? new Flow.Service("svc" + r.nextInt(3), "ns") : null, r.nextBoolean() ? new Flow.Service("svc", "ns" + r.nextInt(3)) : null,
                Flow.TrafficDirection.values()[r.nextInt(3)], POINTS[r.nextInt(POINTS.length)], switch (r.nextInt(3)) { case 0 -> null; case 1 -> true; default -> false; },
                new Flow.EventType(r.nextInt(10), r.nextInt(200)), policies(r), policies(r), policies(r), policies(r), r.nextBoolean() ? "" : "TCP Flags: ACK",
                new Flow.Extra(r.nextInt(200), r.nextBoolean() ? "" : "policy denied", r.nextBoolean() ? "" : "established",
                        r.nextBoolean() ? "" : "cidr", r.nextBoolean() ? "" : "ns/pod", r.nextInt(100), r.nextInt(9000),
                        r.nextBoolean() ? "" : "10.96.0.10:53"), r.nextInt(3) == 0 ? layer7(r) : null);
    }

    static Flow.Layer7 layer7(SplittableRandom r) {
        Flow.L7Type type = Flow.L7Type.values()[r.nextInt(3)];
        Flow.L7Record record = switch (r.nextInt(3)) {
            case 0 -> {
                List<Flow.HttpHeader> hs = new ArrayList<>();
                for (int i = r.nextInt(3); i > 0; i--) hs.add(new Flow.HttpHeader("X-H" + r.nextInt(5), r.nextBoolean() ? "" : "v" + r.nextInt(9)));
                yield new Flow.Http(r.nextBoolean() ? 0 : 100 + r.nextInt(500), r.nextBoolean() ? "GET" : "POST",
                        r.nextBoolean() ? "" : "http://svc/p" + r.nextInt(9), r.nextBoolean() ? "HTTP/1.1" : "HTTP/2", hs);
            }
            case 1 -> new Flow.Dns("q" + r.nextInt(9) + ".example.", r.nextBoolean() ? List.of() : List.of(ip(r), ip(r)),
                    r.nextBoolean() ? 0 : r.nextInt(Integer.MAX_VALUE), r.nextBoolean() ? List.of() : List.of("c.example."),
                    r.nextBoolean() ? "" : "proxy", r.nextInt(6), List.of("A"), r.nextBoolean() ? List.of() : List.of("A", "CNAME"));
            default -> null;
        };
        return new Flow.Layer7(type, r.nextBoolean() ? 0 : r.nextLong(Long.MAX_VALUE), record);
    }

    /** GET http://backend/api/v1/data from x/frontend, as the HTTP proxy's egress reports the response: 200 after 2.3 ms. */
    static Flow httpResponse(int i) {
        return new Flow(T0.plusMillis(i), "l7-" + i, Flow.Verdict.FORWARDED, 0, "", new Flow.Ip("10.96.0.20", "10.0.0.5", "IPv4"),
                new Flow.Tcp(80, 40000 + i, Flow.TcpFlags.of(0)), pod("x", "backend", 301, "backend"), pod("x", "frontend", 300, "frontend"),
                "node-1", new Flow.Service("backend", "x"), null, Flow.TrafficDirection.EGRESS, "UNKNOWN_POINT", true,
                new Flow.EventType(129, 0), List.of(), List.of(), List.of(), List.of(), "HTTP/1.1 200 2ms (GET http://backend/api/v1/data)",
                new Flow.Extra(0, "", "", "", "x/frontend", 0, 0, ""),
                new Flow.Layer7(Flow.L7Type.RESPONSE, 2_345_678, new Flow.Http(200, "GET", "http://backend/api/v1/data", "HTTP/1.1",
                        List.of(new Flow.HttpHeader("Accept", "*/*")))));
    }

    /** The DNS proxy's refusal of evil.example.com. from x/frontend. */
    static Flow dnsDenied(int i) {
        return new Flow(T0.plusMillis(i), "dns-" + i, Flow.Verdict.DROPPED, 0, "", new Flow.Ip("10.0.0.5", "10.96.0.10", "IPv4"),
                new Flow.Udp(51000, 53), pod("x", "frontend", 300, "frontend"), new Flow.Endpoint(0, 2, "", List.of("reserved:world"), "", List.of()),
                "node-1", null, null, Flow.TrafficDirection.EGRESS, "UNKNOWN_POINT", false, new Flow.EventType(129, 0), List.of(), List.of(),
                List.of(), List.of(), "DNS Query evil.example.com. A", new Flow.Extra(0, "no rules.dns matches", "", "", "x/frontend", 0, 0, ""),
                new Flow.Layer7(Flow.L7Type.REQUEST, 0, new Flow.Dns("evil.example.com.", List.of(), 0, List.of(), "proxy", 0, List.of("A"), List.of())));
    }

    private static String ip(SplittableRandom r) { return "10." + r.nextInt(256) + "." + r.nextInt(256) + "." + r.nextInt(256); }

    private static List<PolicyRef> policies(SplittableRandom r) {
        List<PolicyRef> out = new ArrayList<>();
        for (int i = r.nextInt(3); i > 0; i--)
            out.add(new PolicyRef("p" + r.nextInt(10), r.nextBoolean() ? "" : "ns" + r.nextInt(3), KINDS[r.nextInt(KINDS.length)]));
        return out;
    }
}
