package dev.sluice.cli;

import dev.sluice.agent.api.AgentClient;
import dev.sluice.agent.api.AgentException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import tools.jackson.databind.JsonNode;

/** {@code sluice status}: health, endpoints, IPAM, routing, MTU, flows, programs and maps per agent. */
@Command(name = "status", description = "Show each agent's health, endpoints, IPAM use, routing, MTU, flows, programs and maps.")
public final class StatusCommand implements Callable<Integer> {
    @Mixin AgentOptions agents;
    @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table or json")
    String output;

    @Override public Integer call() {
        String fmt = Output.format(output, "table", "json");
        List<Object> nodes = new ArrayList<>();
        boolean healthy = true;
        for (var t : agents.targets()) {
            try {
                nodes.add(AgentClient.call(t.socket(), "status", Map.of()));
            } catch (AgentException e) {
                healthy = false;
                nodes.add(Map.of("node", t.node(), "health", "unreachable", "error", e.getMessage()));
            }
        }
        if (fmt.equals("json")) {
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("health", healthy ? "ok" : "degraded");
            out.put("nodes", nodes);
            Output.json(System.out, out);
        } else {
            for (Object o : nodes) printNode(Output.JSON.valueToTree(o), System.out);
        }
        return healthy ? 0 : 1;
    }

    /** "on (cgroup X, node and pods, 2 namespaces; connect 12, sendmsg 3, noBackend 1, ...)" or "off (why)". */
    static String socketLb(JsonNode sl) {
        String state = sl.path("state").asString();
        if (!state.equals("on")) return state + " (" + sl.path("reason").asString() + ")";
        StringBuilder c = new StringBuilder();
        for (var e : sl.path("counters").properties()) c.append(c.isEmpty() ? "" : ", ").append(e.getKey()).append(' ').append(e.getValue().asLong());
        return "on (cgroup " + sl.path("cgroup").asString() + ", " + (sl.path("hostNamespaceOnly").asBoolean() ? "node namespace only" : "node and pods")
                + ", " + sl.path("namespaces").asInt() + " namespaces; " + c + ")";
    }

    static void printNode(JsonNode n, java.io.PrintStream out) {
        out.printf("Node %s: %s%n", n.path("node").asString(), n.path("health").asString());
        if (n.has("error")) {
            out.println("  " + n.path("error").asString());
            return;
        }
        out.printf("  Routing:     %s (node IP %s)%n", n.path("routing").asString(), n.path("nodeIP").asString());
        out.printf("  MTU:         underlay %d, pod %d%n", n.path("mtu").path("underlay").asInt(), n.path("mtu").path("pod").asInt());
        out.printf("  IPAM:        %s, %d/%d used%n", n.path("ipam").path("cidr").asString(), n.path("ipam").path("used").asInt(),
                n.path("ipam").path("capacity").asInt());
        out.printf("  Generation:  %d programmed%n", n.path("programmedGeneration").asLong());
        JsonNode src = n.path("source");
        if (src.isObject()) {
            out.printf("  Source:      %s %s, %s%n", src.path("kind").asString(), src.path("from").asString(),
                    src.path("synced").asBoolean() ? "synced" : "not synced");
            for (JsonNode k : src.path("kinds"))
                out.printf("    %-34s %-22s %-10s %-12s %s%n", k.path("kind").asString(), k.path("apiVersion").asString(),
                        k.path("synced").asBoolean() ? "synced" : "not synced", k.path("watching").asBoolean() ? "watching" : "not watching",
                        k.path("lastError").asString());
        }
        out.printf("  Endpoints:   %d%n", n.path("endpoints").size());
        for (JsonNode e : n.path("endpoints"))
            out.printf("    %-24s %-15s identity %-6d %s%n", e.path("pod").asString(), e.path("ip").asString(), e.path("identity").asInt(),
                    e.path("interface").asString());
        JsonNode fl = n.path("flows");
        if (fl.isObject()) out.println("  Flows:       " + flows(fl));
        JsonNode sl = n.path("socketLB");
        if (sl.isObject()) out.println("  Socket LB:   " + socketLb(sl));
        JsonNode l2 = n.path("l2announcements");
        if (l2.isObject()) out.println("  L2 announce: " + l2(l2));
        out.printf("  Programs:    %d attached%n", n.path("programs").size());
        for (JsonNode p : n.path("programs"))
            out.printf("    %-15s %-8s %s%n", p.path("device").asString(), p.path("direction").asString(), p.path("program").asString());
        out.println("  Maps:");
        for (JsonNode m : n.path("maps"))
            out.printf("    %-14s %d/%d%n", m.path("name").asString(), m.path("entries").asInt(), m.path("max").asInt());
        for (JsonNode e : n.path("errors")) out.println("  Error: " + e.asString());
    }

    /** {@code disabled}, or {@code 1/2 addresses announced here (1 lease held)}, with the first problem. */
    static String l2(JsonNode l) {
        if (!l.path("enabled").asBoolean()) return "disabled";
        String s = l.path("announced").asInt() + "/" + l.path("candidates").asInt() + " candidate addresses announced here ("
                + l.path("leasesHeld").asInt() + " lease" + (l.path("leasesHeld").asInt() == 1 ? "" : "s") + " held; see 'sluice bpf l2 list')";
        if (!l.path("warnings").isEmpty()) s += "; " + l.path("warnings").get(0).asString();
        return s;
    }

    /**
     * The flow ring and what was lost on the way, as hubble status and cilium status's Hubble line
     * show them: {@code 120/4095 (2.93%), 0.52 flows/s, 120 seen, 0 overwritten, 0 lost by the data
     * path} (events its ring buffer had no room for); events not enriched when there are any.
     */
    static String flows(JsonNode f) {
        int cap = f.path("capacity").asInt(), held = f.path("flows").asInt();
        long lost = f.path("lostEvents").asLong(), notEnriched = f.path("notEnriched").asLong();
        StringBuilder sb = new StringBuilder(String.format(java.util.Locale.ROOT, "%d/%d (%.2f%%), %.2f flows/s, %d seen, %d overwritten",
                held, cap, cap == 0 ? 0.0 : 100.0 * held / cap, f.path("flowsPerSecond").asDouble(), f.path("seen").asLong(),
                f.path("overwritten").asLong()));
        sb.append(lost < 0 ? ", lost events unreadable" : ", " + lost + " lost by the data path");
        if (notEnriched != 0) sb.append(", ").append(notEnriched).append(" not enriched");
        return sb.toString();
    }
}
