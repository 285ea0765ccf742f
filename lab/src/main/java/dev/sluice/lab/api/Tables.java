package dev.sluice.lab.api;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/** The {@code Table} form of a list, which {@code kubectl get} asks for and prints as it is. */
final class Tables {
    private Tables() {}

    private record Column(String name, int priority, Function<JsonNode, String> cell) {}

    static ObjectNode table(ApiTypes.Type t, List<ObjectNode> objects, long rv, String includeObject) {
        List<Column> cols = columns(t.kind());
        ObjectNode table = ApiTypes.JSON.createObjectNode().put("kind", "Table").put("apiVersion", "meta.k8s.io/v1");
        table.putObject("metadata").put("resourceVersion", Long.toString(rv));
        ArrayNode defs = table.putArray("columnDefinitions");
        for (Column c : cols)
            defs.addObject().put("name", c.name()).put("type", "string").put("format", c.name().equals("Name") ? "name" : "")
                    .put("description", "").put("priority", c.priority());
        ArrayNode rows = table.putArray("rows");
        for (ObjectNode o : objects) {
            ObjectNode row = rows.addObject();
            ArrayNode cells = row.putArray("cells");
            for (Column c : cols) cells.add(c.cell().apply(o));
            switch (includeObject == null ? "" : includeObject) {
                case "None" -> { }
                case "Object" -> row.set("object", o);
                default -> {
                    ObjectNode partial = row.putObject("object").put("kind", "PartialObjectMetadata").put("apiVersion", "meta.k8s.io/v1");
                    partial.set("metadata", o.path("metadata").deepCopy());
                }
            }
        }
        return table;
    }

    private static List<Column> columns(String kind) {
        List<Column> c = new ArrayList<>();
        c.add(new Column("Name", 0, o -> o.path("metadata").path("name").asString("")));
        switch (kind) {
            case "Pod" -> {
                c.add(new Column("Ready", 0, o -> "Running".equals(phase(o)) ? "1/1" : "0/1"));
                c.add(new Column("Status", 0, Tables::phase));
                c.add(new Column("Restarts", 0, o -> "0"));
                c.add(age());
                c.add(new Column("IP", 1, o -> or(o.path("status").path("podIP").asString(""), "<none>")));
                c.add(new Column("Node", 1, o -> or(o.path("spec").path("nodeName").asString(""), "<none>")));
            }
            case "Service" -> {
                c.add(new Column("Type", 0, o -> o.path("spec").path("type").asString("ClusterIP")));
                c.add(new Column("Cluster-IP", 0, o -> or(o.path("spec").path("clusterIP").asString(""), "<none>")));
                c.add(new Column("External-IP", 0, Tables::externalIps));
                c.add(new Column("Port(s)", 0, Tables::ports));
                c.add(age());
                c.add(new Column("Selector", 1, o -> selector(o.path("spec").path("selector"))));
            }
            case "Namespace" -> {
                c.add(new Column("Status", 0, o -> o.path("status").path("phase").asString("Active")));
                c.add(age());
            }
            case "Node" -> {
                c.add(new Column("Status", 0, o -> "Ready"));
                c.add(new Column("Roles", 0, o -> "<none>"));
                c.add(age());
                c.add(new Column("Version", 0, o -> "v1.32.0-sluice-lab"));
                c.add(new Column("Internal-IP", 1, o -> {
                    for (JsonNode a : o.path("status").path("addresses"))
                        if ("InternalIP".equals(a.path("type").asString())) return a.path("address").asString("");
                    return "<none>";
                }));
            }
            case "NetworkPolicy" -> {
                c.add(new Column("Pod-Selector", 0, o -> selector(o.path("spec").path("podSelector").path("matchLabels"))));
                c.add(age());
            }
            case "EndpointSlice" -> {
                c.add(new Column("AddressType", 0, o -> o.path("addressType").asString("")));
                c.add(new Column("Ports", 0, o -> {
                    List<String> ps = new ArrayList<>();
                    o.path("ports").forEach(p -> ps.add(p.path("port").asString("")));
                    return ps.isEmpty() ? "<unset>" : String.join(",", ps);
                }));
                c.add(new Column("Endpoints", 0, o -> {
                    List<String> as = new ArrayList<>();
                    o.path("endpoints").forEach(e -> e.path("addresses").forEach(a -> as.add(a.asString())));
                    return as.isEmpty() ? "<unset>" : String.join(",", as);
                }));
                c.add(age());
            }
            default -> c.add(age());
        }
        return c;
    }

    private static Column age() { return new Column("Age", 0, o -> age(o.path("metadata").path("creationTimestamp").asString(""))); }

    private static String phase(JsonNode o) { return o.path("status").path("phase").asString("Pending"); }

    private static String or(String s, String dflt) { return s.isEmpty() ? dflt : s; }

    private static String externalIps(JsonNode o) {
        List<String> ips = new ArrayList<>();
        o.path("status").path("loadBalancer").path("ingress").forEach(i -> ips.add(i.path("ip").asString("")));
        o.path("spec").path("externalIPs").forEach(i -> ips.add(i.asString()));
        if (!ips.isEmpty()) return String.join(",", ips);
        return "LoadBalancer".equals(o.path("spec").path("type").asString()) ? "<pending>" : "<none>";
    }

    private static String ports(JsonNode o) {
        List<String> ps = new ArrayList<>();
        for (JsonNode p : o.path("spec").path("ports")) {
            String s = p.path("port").asString("");
            if (p.has("nodePort")) s += ":" + p.path("nodePort").asString();
            ps.add(s + "/" + p.path("protocol").asString("TCP"));
        }
        return ps.isEmpty() ? "<none>" : String.join(",", ps);
    }

    private static String selector(JsonNode m) {
        List<String> kv = new ArrayList<>();
        m.properties().forEach(e -> kv.add(e.getKey() + "=" + e.getValue().asString()));
        return kv.isEmpty() ? "<none>" : String.join(",", kv);
    }

    /** kubectl's short age: 42s, 5m, 3h, 2d. */
    static String age(String created) {
        if (created.isEmpty()) return "<unknown>";
        long s;
        try {
            s = Math.max(0, Duration.between(Instant.parse(created), Instant.now()).toSeconds());
        } catch (java.time.format.DateTimeParseException e) {
            return "<unknown>";
        }
        if (s < 120) return s + "s";
        if (s < 7200) return s / 60 + "m";
        if (s < 172800) return s / 3600 + "h";
        return s / 86400 + "d";
    }
}
