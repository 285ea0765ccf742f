package dev.sluice.cli;

import dev.sluice.agent.api.AgentClient;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.Function;
import tools.jackson.databind.JsonNode;

/**
 * Runs one agent method on every targeted node. JSON output is always
 * {@code {"nodes":[{"node":"node1","result":...},...]}}; tables get a NODE column.
 */
public final class AgentQuery {
    private AgentQuery() {}

    /** The method's result per node, in node order. */
    private static Map<String, JsonNode> perNode(AgentOptions agents, String method, Map<String, ?> params) {
        Map<String, JsonNode> out = new LinkedHashMap<>();
        for (var t : agents.targets()) out.put(t.node(), AgentClient.call(t.socket(), method, params));
        return out;
    }

    private static void json(Map<String, JsonNode> results) {
        List<Map<String, Object>> nodes = new ArrayList<>();
        results.forEach((n, v) -> nodes.add(Map.of("node", n, "result", v)));
        Output.json(System.out, Map.of("nodes", nodes));
    }

    /** Prints a method's result per node: JSON, or {@code text} given each node and its result, in node order. */
    public static int printPerNode(AgentOptions agents, String output, String method, Map<String, ?> params, BiConsumer<String, JsonNode> text) {
        String fmt = Output.format(output, "table", "json");
        Map<String, JsonNode> results = perNode(agents, method, params);
        if (fmt.equals("json")) json(results);
        else results.forEach(text);
        return 0;
    }

    /** Prints a list-valued method: JSON, or one table of all nodes' rows. */
    public static int print(AgentOptions agents, String output, String method, List<String> header, Function<JsonNode, List<String>> row) {
        String fmt = Output.format(output, "table", "json");
        Map<String, JsonNode> results = perNode(agents, method, Map.of());
        if (fmt.equals("json")) {
            json(results);
            return 0;
        }
        List<List<String>> rows = new ArrayList<>();
        List<String> h = new ArrayList<>(List.of("NODE"));
        h.addAll(header);
        rows.add(h);
        results.forEach((node, arr) -> {
            for (JsonNode n : arr) {
                List<String> r = new ArrayList<>(List.of(node));
                r.addAll(row.apply(n));
                rows.add(r);
            }
        });
        Output.table(System.out, rows);
        return 0;
    }
}
