package dev.sluice.cli;

import dev.sluice.agent.api.AgentClient;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import tools.jackson.databind.JsonNode;

/**
 * Runs one agent method on every targeted node and prints the rows: as JSON
 * ({@code {"nodes":{"node1":[...]}}}) or as one table with a NODE column.
 */
public final class AgentQuery {
    private AgentQuery() {}

    public static int print(AgentOptions agents, String output, String method, List<String> header, Function<JsonNode, List<String>> row) {
        String fmt = Output.format(output, "table", "json");
        Map<String, JsonNode> results = new LinkedHashMap<>();
        for (var t : agents.targets()) results.put(t.node(), AgentClient.call(t.socket(), method, Map.of()));
        if (fmt.equals("json")) {
            Output.json(System.out, Map.of("nodes", results));
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
