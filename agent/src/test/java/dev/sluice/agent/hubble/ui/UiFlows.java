package dev.sluice.agent.hubble.ui;

import dev.sluice.agent.flow.Flow;
import dev.sluice.agent.flow.PolicyRef;
import java.time.Instant;
import java.util.List;

/** Flows of a small demo namespace for the UI's tests: pods of Deployments, a bare pod, the world. */
final class UiFlows {
    private UiFlows() {}

    static final Instant T0 = Instant.parse("2026-12-02T16:00:00.000Z");
    static final Flow.Endpoint WORLD = new Flow.Endpoint(0, 2, "", List.of("reserved:world"), "", List.of());
    static final Flow.Endpoint HOST = new Flow.Endpoint(0, 1, "", List.of("reserved:host"), "", List.of());

    static Flow.Endpoint pod(String ns, String name) {
        return new Flow.Endpoint(0, 300, ns, List.of("k8s:io.kubernetes.pod.namespace=" + ns), name, List.of());
    }

    static Flow flow(int ms, Flow.Verdict v, Flow.Endpoint src, Flow.Endpoint dst, int dport, Boolean reply, List<PolicyRef> deniedBy) {
        boolean drop = v == Flow.Verdict.DROPPED;
        return new Flow(T0.plusMillis(ms), "u" + ms, v, drop ? 133 : 0, drop ? "POLICY_DENIED" : "", new Flow.Ip("10.0.1.5", "10.0.2.6", "IPv4"),
                new Flow.Tcp(40000, dport, Flow.TcpFlags.of(0x02)), src, dst, ms % 2 == 0 ? "node1" : "node2", null, null,
                Flow.TrafficDirection.INGRESS, "TO_ENDPOINT", reply, new Flow.EventType(drop ? 1 : 4, drop ? 133 : 0), List.of(), List.of(),
                deniedBy, List.of(), "TCP Flags: SYN", new Flow.Extra(drop ? 2 : 0, drop ? "policy denied" : "", "new", "", "", 0, 74, ""));
    }

    static final List<PolicyRef> DENY = List.of(new PolicyRef("server-in", "demo", "NetworkPolicy"));

    /** web (a Deployment's pod) to api: forwarded, once dropped by demo/server-in; tool (a bare pod) to api forwarded; the world to web. */
    static List<Flow> demo() {
        var web = pod("demo", "web-7d4b9c8f6d-x2k9p");
        var api = pod("demo", "api-5f6c7b8d9-q8w2z");
        var tool = pod("demo", "tool");
        return List.of(
                flow(1, Flow.Verdict.FORWARDED, web, api, 8080, false, List.of()),
                flow(2, Flow.Verdict.FORWARDED, api, web, 40000, true, List.of()), // the reply: no edge api -> web
                flow(3, Flow.Verdict.DROPPED, web, api, 9090, null, DENY),
                flow(4, Flow.Verdict.FORWARDED, tool, pod("demo", "api-5f6c7b8d9-zx4pq"), 8080, false, List.of()),
                flow(5, Flow.Verdict.FORWARDED, WORLD, web, 80, false, List.of()),
                flow(6, Flow.Verdict.AUDIT, HOST, tool, 22, false, List.of()),
                flow(7, Flow.Verdict.FORWARDED, pod("other", "db-0"), pod("other", "db-1"), 5432, false, List.of()),
                flow(8, Flow.Verdict.TRANSLATED, tool, web, 80, false, List.of()));
    }
}
