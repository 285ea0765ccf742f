package dev.sluice.cli.connectivity;

import dev.sluice.agent.api.AgentClient;
import dev.sluice.lab.Lab;
import dev.sluice.lab.LabEnv;
import dev.sluice.lab.LabNet;
import dev.sluice.lab.LabState;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Runs scenarios on a lab: applies every selected scenario's namespace, workloads and policies in
 * one {@code lab apply} (which returns once every agent programmed them), makes each expected
 * connection for real with {@code sluice-pod probe} from the source's namespace, reads the drop of
 * each refused one back from the agents' flows, and deletes what it applied at the end, also when
 * something failed.
 */
final class Runner {
    static final JsonMapper JSON = JsonMapper.builder().build();
    static final long PROBE_MS = 1000, FLOW_WAIT_MS = 5000, UNEXPECTED_DROP_WAIT_MS = 2000;

    /** A scenario's outcome: pass, fail or skip, with one line per connection checked. */
    record Result(String scenario, String status, String reason, List<String> checks, long millis) {
        Result {
            checks = List.copyOf(checks);
        }
    }

    private final Lab lab;
    private final LabEnv env;
    private final List<String> worldRoutes = new ArrayList<>();

    Runner(Lab lab, LabEnv env) {
        this.lab = lab;
        this.env = env;
    }

    List<Result> run(List<Scenario> selected) throws IOException {
        List<Scenario> runnable = selected.stream().filter(s -> s.skip().isEmpty()).toList();
        Path dir = Files.createTempDirectory("sluice-connectivity");
        List<Result> out = new ArrayList<>();
        try {
            List<Path> files = new ArrayList<>();
            StringBuilder contents = new StringBuilder();
            for (Scenario s : runnable) {
                Path f = dir.resolve(s.name() + ".yaml");
                Files.writeString(f, s.manifests());
                files.add(f);
                contents.append(s.contents());
            }
            Files.writeString(dir.resolve("contents.yaml"), contents.toString());
            try {
                if (!files.isEmpty()) lab.apply(files);
                for (Scenario s : selected) out.add(s.skip().isEmpty() ? runOne(s) : new Result(s.name(), "skip", s.skip(), List.of(), 0));
            } finally {
                if (!files.isEmpty()) cleanUp(dir.resolve("contents.yaml"));
            }
        } finally {
            try (var l = Files.list(dir)) {
                for (Path p : l.toList()) Files.deleteIfExists(p);
            }
            Files.deleteIfExists(dir);
        }
        return out;
    }

    /**
     * Deletes what the scenarios made through {@code lab delete} (pods torn down, every agent
     * programmed). The test namespaces themselves stay, empty, for the next run: deleting a
     * Namespace in the lab's API server was seen to stall its watch (a WebSocket write timing out
     * while the namespace is finalized), after which no agent saw another Namespace change.
     */
    private void cleanUp(Path contents) {
        String world = lab.state().world().netns();
        for (String r : worldRoutes) LabNet.exec(world, List.of("ip", "route", "del", r), 5_000);
        lab.delete(List.of(contents));
    }

    private Result runOne(Scenario s) {
        long t0 = System.nanoTime();
        List<String> lines = new ArrayList<>();
        String failed = "";
        LabState st = lab.state();
        for (Scenario.Expect e : s.expects()) {
            String line;
            try {
                String ns = e.from().startsWith("pod:") ? st.pods().get(s.namespace() + "/" + e.from().substring(4)).netns() : netnsOf(st, e.from());
                String target = target(st, s, e.to(), e.port());
                boolean ok = probe(ns, target);
                line = (ok == e.allow() ? "ok  " : "FAIL ") + e.describe() + " (" + target + (ok ? " answered" : " no answer") + ")";
                if (ok != e.allow()) {
                    if (failed.isEmpty()) failed = e.describe() + " but it was " + (ok ? "allowed" : "denied");
                    // an unexpected denial: what the agents recorded says which policy
                    if (!ok) {
                        Optional<String> drop = awaitDrop(st, s.namespace(), "", UNEXPECTED_DROP_WAIT_MS);
                        if (drop.isPresent()) line += "; flow: " + drop.get();
                    }
                } else if (!e.allow() && !e.policy().isEmpty()) {
                    Optional<String> drop = awaitDrop(st, s.namespace(), e.policy(), FLOW_WAIT_MS);
                    if (drop.isPresent()) line += "; flow: " + drop.get();
                    else {
                        line = "FAIL " + e.describe() + ": no DROPPED flow with POLICY_DENIED naming " + s.namespace() + "/" + e.policy();
                        if (failed.isEmpty()) failed = "no recorded drop (POLICY_DENIED) naming policy " + e.policy();
                    }
                }
            } catch (RuntimeException ex) {
                line = "FAIL " + e.describe() + ": " + ex.getMessage();
                if (failed.isEmpty()) failed = e.describe() + ": " + ex.getMessage();
            }
            lines.add(line);
        }
        long ms = (System.nanoTime() - t0) / 1_000_000;
        return new Result(s.name(), failed.isEmpty() ? "pass" : "fail", failed, lines, ms);
    }

    private static String netnsOf(LabState st, String target) {
        if (target.equals("world")) return st.world().netns();
        return st.node(target).orElseThrow(() -> new IllegalStateException("no node " + target + " in lab " + st.name())).netns();
    }

    /** The address:port a destination stands for, from the lab's state and the first node's agent (Services). */
    private String target(LabState st, Scenario s, String to, int port) {
        if (to.equals("world")) return st.world().ip() + ":" + port;
        if (to.startsWith("pod:")) {
            var p = st.pods().get(s.namespace() + "/" + to.substring(4));
            if (p == null) throw new IllegalStateException("pod " + s.namespace() + "/" + to.substring(4) + " was not started");
            return p.ip() + ":" + port;
        }
        String kind = to.substring(0, to.indexOf(':')), rest = to.substring(to.indexOf(':') + 1);
        String svcName = s.namespace() + "/" + rest.split("@")[0];
        JsonNode svc = null;
        for (JsonNode x : AgentClient.call(Path.of(st.nodes().getFirst().socket()), "services", Map.of()))
            if (x.path("service").asString().equals(svcName)) svc = x;
        if (svc == null) throw new IllegalStateException("Service " + svcName + " is not programmed on " + st.nodes().getFirst().name());
        return switch (kind) {
            case "service" -> svc.path("clusterIP").asString() + ":" + port;
            case "lb" -> {
                if (svc.path("ingressIPs").isEmpty()) throw new IllegalStateException("Service " + svcName + " got no LoadBalancer IP");
                String ip = svc.path("ingressIPs").get(0).asString();
                routeFromWorld(st, ip);
                yield ip + ":" + port;
            }
            case "nodeport" -> {
                String node = rest.split("@")[1];
                int np = svc.path("nodePorts").path(0).asInt();
                if (np == 0) throw new IllegalStateException("Service " + svcName + " has no nodePort");
                yield st.node(node).orElseThrow().ip() + ":" + np;
            }
            default -> throw new IllegalStateException("destination " + to);
        };
    }

    /**
     * The world host reaches a LoadBalancer address when a node announces it (L2 announcements: the
     * lab gives the world an on-link route to the pool, and the lease holder answers its ARP), or
     * through a route via a node someone added. Otherwise (no CiliumL2AnnouncementPolicy selects the
     * Service, or announcements are off), as the upstream router would: a /32 via the first node,
     * added in the world namespace for the run and removed at its end.
     */
    private void routeFromWorld(LabState st, String ip) {
        if (announced(st, ip)) return;
        var get = LabNet.exec(st.world().netns(), List.of("ip", "route", "get", ip), 5_000);
        if (get.ok() && get.stdout().contains(" via ")) return;
        var r = LabNet.exec(st.world().netns(), List.of("ip", "route", "add", ip + "/32", "via", st.nodes().getFirst().ip()), 5_000);
        if (!r.ok()) throw new IllegalStateException("world route to " + ip + ": " + r.describe());
        worldRoutes.add(ip + "/32");
    }

    /** Whether some node answers ARP for {@code ip} now (its agent's {@code l2} view says announcing). */
    private static boolean announced(LabState st, String ip) {
        for (var n : st.nodes()) {
            try {
                for (JsonNode a : AgentClient.call(Path.of(n.socket()), "l2", Map.of()).path("announcements"))
                    if (a.path("address").asString().equals(ip) && a.path("state").asString().equals("announcing")) return true;
            } catch (RuntimeException e) {
                // an agent that does not answer announces nothing we can count on
            }
        }
        return false;
    }

    private boolean probe(String netns, String t) {
        var r = LabNet.exec(netns, List.of(env.podTool().toString(), "probe", "--proto", "tcp", "--timeout-ms", Long.toString(PROBE_MS), t),
                PROBE_MS + 10_000);
        String line = r.stdout().lines().filter(l -> !l.isBlank()).findFirst().orElse("");
        if (line.isEmpty()) throw new IllegalStateException("probe " + t + ": " + r.describe());
        return JSON.readTree(line).path("ok").asBoolean(false);
    }

    /**
     * The first policy drop in the namespace's flows that names the policy (any policy when
     * {@code policy} is empty: then a deny rule's POLICY_DENY counts too), within {@code waitMs}.
     */
    private Optional<String> awaitDrop(LabState st, String ns, String policy, long waitMs) {
        long deadline = System.currentTimeMillis() + waitMs;
        Map<String, Object> params = Map.of("namespace", List.of(ns), "verdict", List.of("DROPPED"), "number", 200, "follow", false);
        while (true) {
            for (var n : st.nodes()) {
                List<String> found = new ArrayList<>();
                AgentClient.stream(Path.of(n.socket()), "flows", params, line -> {
                    JsonNode f = line.has("flow") ? line.get("flow") : line;
                    String reason = f.path("drop_reason_desc").asString("");
                    if (!reason.equals("POLICY_DENIED") && !(policy.isEmpty() && reason.equals("POLICY_DENY"))) return !line.has("status");
                    for (String field : List.of("ingress_denied_by", "egress_denied_by"))
                        for (JsonNode p : f.path(field))
                            if (policy.isEmpty() || p.path("name").asString().equals(policy) && p.path("namespace").asString().equals(ns))
                                found.add("DROPPED " + reason + " on " + n.name() + ", " + field.replace('_', ' ') + " " + p.path("kind").asString()
                                        + " " + (p.path("namespace").asString().isEmpty() ? "" : p.path("namespace").asString() + "/") + p.path("name").asString());
                    return !line.has("status");
                });
                if (!found.isEmpty()) return Optional.of(found.getFirst());
            }
            if (System.currentTimeMillis() > deadline) return Optional.empty();
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return Optional.empty();
            }
        }
    }

}
