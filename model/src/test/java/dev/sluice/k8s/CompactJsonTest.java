package dev.sluice.k8s;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/** The store's compact trees read, compare, hash and serialise as the parsed ones. */
class CompactJsonTest {
    static final JsonMapper JSON = JsonMapper.builder().build();

    static JsonNode random(SplittableRandom r, int depth) {
        int k = depth > 3 ? 2 + r.nextInt(4) : r.nextInt(6);
        return switch (k) {
            case 0 -> {
                ObjectNode o = JSON.createObjectNode();
                int n = r.nextInt(6);
                for (int i = 0; i < n; i++) o.set("f" + r.nextInt(8), random(r, depth + 1));
                yield o;
            }
            case 1 -> {
                var a = JSON.createArrayNode();
                int n = r.nextInt(4);
                for (int i = 0; i < n; i++) a.add(random(r, depth + 1));
                yield a;
            }
            case 2 -> JSON.getNodeFactory().stringNode(r.nextBoolean() ? "" : "v" + r.nextInt(5));
            case 3 -> JSON.getNodeFactory().numberNode(r.nextInt(100) - 10);
            case 4 -> JSON.getNodeFactory().booleanNode(r.nextBoolean());
            default -> JSON.getNodeFactory().nullNode();
        };
    }

    @Test
    void sameTreeAsParsed() {
        long seed = Long.getLong("sluice.seed", System.nanoTime());
        System.out.println("CompactJsonTest seed=" + seed);
        var r = new SplittableRandom(seed);
        for (int i = 0; i < 500; i++) {
            JsonNode t = random(r, 0), c = CompactJson.of(t);
            assertThat(c).as("seed " + seed).isEqualTo(t);
            assertThat(t).as("seed " + seed).isEqualTo(c);
            assertThat(c.hashCode()).as("seed " + seed).isEqualTo(t.hashCode());
            assertThat(JSON.writeValueAsString(c)).as("seed " + seed).isEqualTo(JSON.writeValueAsString(t));
            assertThat(c.deepCopy()).as("seed " + seed).isEqualTo(t);
            JsonNode u = random(r, 0);
            assertThat(CompactJson.of(u).equals(c)).as("seed " + seed + " " + u + " vs " + t).isEqualTo(u.equals(t));
            if (t.isObject()) {
                List<String> names = new ArrayList<>(t.propertyNames()), compactNames = new ArrayList<>(c.propertyNames());
                assertThat(compactNames).as("document order").isEqualTo(names);
                for (String f : List.of("f0", "f1", "f7", "x")) {
                    assertThat(c.has(f)).isEqualTo(t.has(f));
                    assertThat(c.get(f)).isEqualTo(t.get(f));
                }
            }
        }
    }

    @Test
    void readOnlyButCopiesAreNot() {
        JsonNode c = CompactJson.of(ManifestReader.documents("t", "{a: {b: [1, x]}, c: d}").get(0));
        assertThatThrownBy(() -> ((ObjectNode) c).put("e", "f")).isInstanceOf(UnsupportedOperationException.class);
        ObjectNode copy = (ObjectNode) c.deepCopy();
        copy.put("e", "f");
        ((ObjectNode) copy.get("a")).withArray("b").add(2);
        assertThat(copy.toString()).isEqualTo("{\"a\":{\"b\":[1,\"x\",2]},\"c\":\"d\",\"e\":\"f\"}");
        assertThat(c.toString()).isEqualTo("{\"a\":{\"b\":[1,\"x\"]},\"c\":\"d\"}");
    }

    @Test
    void storedObjectsShareWords() {
        var objs = ManifestReader.parse("t", "{apiVersion: v1, kind: Pod, metadata: {name: a, namespace: n}}\n---\n"
                + "{apiVersion: v1, kind: Pod, metadata: {name: b, namespace: n}}");
        var a = objs.get(0).body().json(); var b = objs.get(1).body().json();
        assertThat(a.get("metadata").get("namespace").asString()).isSameAs(b.get("metadata").get("namespace").asString());
        assertThat(a.propertyNames().iterator().next()).isSameAs(b.propertyNames().iterator().next());
    }

    @Test
    void equalSubtreesAreOneObjectButRootsAndMetadataAreNot() {
        String slice = "{apiVersion: discovery.k8s.io/v1, kind: EndpointSlice, metadata: {name: %s, namespace: n, labels: {l: v}},"
                + " addressType: IPv4, endpoints: [{addresses: [10.0.0.1], conditions: {ready: true}, targetRef: {kind: Pod, name: p}}],"
                + " ports: [{port: 80, protocol: TCP}]}";
        JsonNode a = CompactJson.of(ManifestReader.documents("t", slice.formatted("a")).get(0));
        JsonNode b = CompactJson.of(ManifestReader.documents("t", slice.formatted("b")).get(0));
        assertThat(b.get("endpoints")).isSameAs(a.get("endpoints"));
        assertThat(b.get("ports")).isSameAs(a.get("ports"));
        assertThat(b.get("addressType")).isSameAs(a.get("addressType"));
        assertThat(b).isNotSameAs(a).isNotEqualTo(a);
        JsonNode a2 = CompactJson.of(ManifestReader.documents("t", slice.formatted("a")).get(0));
        assertThat(a2).isEqualTo(a).isNotSameAs(a);
        assertThat(a2.get("metadata")).isEqualTo(a.get("metadata")).isNotSameAs(a.get("metadata"));
        assertThat(a2.hashCode()).isEqualTo(a.hashCode());
        // field order differs, the maps are equal: equal, as parsed trees are
        JsonNode x = CompactJson.of(ManifestReader.documents("t", "{k: {p: 1, q: [2]}}").get(0));
        JsonNode y = CompactJson.of(ManifestReader.documents("t", "{k: {q: [2], p: 1}}").get(0));
        assertThat(x.get("k")).isEqualTo(y.get("k"));
        assertThat(x.get("k").hashCode()).isEqualTo(y.get("k").hashCode());
        assertThat(y.get("k").toString()).isEqualTo("{\"q\":[2],\"p\":1}"); // each keeps its document order
    }
}
