package dev.sluice.lab.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.net.Cidr;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/** The lab API server's semantics, as a real API server has them. */
class ApiStoreTest {
    static final ApiTypes.Type NS = ApiTypes.ofKind("v1", "Namespace").orElseThrow();
    static final ApiTypes.Type POD = ApiTypes.ofKind("v1", "Pod").orElseThrow();
    static final ApiTypes.Type SVC = ApiTypes.ofKind("v1", "Service").orElseThrow();
    static final ApiTypes.Type POOL_V2 = ApiTypes.find("cilium.io", "v2", "ciliumloadbalancerippools").orElseThrow();
    static final ApiTypes.Type POOL_V2A1 = ApiTypes.find("cilium.io", "v2alpha1", "ciliumloadbalancerippools").orElseThrow();

    final ApiStore store = new ApiStore(Cidr.parse("10.96.0.0/28"), Duration.ofMillis(50), 5);

    static ObjectNode obj(String json) { return (ObjectNode) ApiTypes.JSON.readTree(json); }

    static int code(Runnable r) {
        try {
            r.run();
            return 0;
        } catch (ApiError e) {
            return e.code;
        }
    }

    @Test void namespacedObjectsNeedTheirNamespaceAndNamesAreUnique() {
        assertThat(code(() -> store.create(POD, "a", obj("{\"metadata\":{\"name\":\"p\"}}")))).isEqualTo(404);
        store.create(NS, "", obj("{\"metadata\":{\"name\":\"a\"}}"));
        var p = store.create(POD, "a", obj("{\"metadata\":{\"name\":\"p\"}}"));
        assertThat(p.path("metadata").path("namespace").asString()).isEqualTo("a");
        assertThat(p.path("metadata").path("uid").asString()).isNotEmpty();
        assertThat(code(() -> store.create(POD, "a", obj("{\"metadata\":{\"name\":\"p\"}}")))).isEqualTo(409);
        assertThat(code(() -> store.create(POD, "a", obj("{\"metadata\":{\"name\":\"q\",\"namespace\":\"b\"}}")))).isEqualTo(400);
        assertThat(code(() -> store.create(POD, "a", obj("{\"kind\":\"Service\",\"metadata\":{\"name\":\"q\"}}")))).isEqualTo(400);
    }

    @Test void updatesCheckTheVersionKeepStatusAndChangeNothingWhenEqual() {
        store.create(NS, "", obj("{\"metadata\":{\"name\":\"a\"}}"));
        var p = store.create(POD, "a", obj("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"nodeName\":\"n1\"}}"));
        String rv = p.path("metadata").path("resourceVersion").asString();
        var st = store.update(POD, "a", "p", obj("{\"metadata\":{\"name\":\"p\"},\"status\":{\"podIP\":\"10.0.0.1\"}}"), true);
        assertThat(st.path("status").path("podIP").asString()).isEqualTo("10.0.0.1");
        assertThat(st.path("spec").path("nodeName").asString()).isEqualTo("n1");
        // a write of the object keeps the status (status subresource), and a stale version conflicts
        assertThat(code(() -> store.update(POD, "a", "p", obj("{\"metadata\":{\"name\":\"p\",\"resourceVersion\":\"" + rv + "\"}}"), false))).isEqualTo(409);
        var same = store.update(POD, "a", "p", obj("{\"metadata\":{\"name\":\"p\",\"labels\":{\"x\":\"y\"}},\"spec\":{\"nodeName\":\"n1\"}}"), false);
        assertThat(same.path("status").path("podIP").asString()).isEqualTo("10.0.0.1");
        long before = store.resourceVersion();
        var again = store.update(POD, "a", "p", obj("{\"metadata\":{\"name\":\"p\",\"labels\":{\"x\":\"y\"}},\"spec\":{\"nodeName\":\"n1\"}}"), false);
        assertThat(store.resourceVersion()).as("a write that changes nothing makes no version").isEqualTo(before);
        assertThat(again.path("metadata").path("resourceVersion").asString()).isEqualTo(same.path("metadata").path("resourceVersion").asString());
    }

    @Test void clusterIpsAreAllocatedCheckedImmutableAndReleased() {
        store.create(NS, "", obj("{\"metadata\":{\"name\":\"a\"}}"));
        String svc = "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"ports\":[{\"port\":80}]%s}}";
        var s1 = store.create(SVC, "a", obj(svc.formatted("s1", "")));
        assertThat(s1.path("spec").path("clusterIP").asString()).isEqualTo("10.96.0.10");
        assertThat(s1.path("spec").path("clusterIPs").get(0).asString()).isEqualTo("10.96.0.10");
        assertThat(code(() -> store.create(SVC, "a", obj(svc.formatted("s2", ",\"clusterIP\":\"10.96.0.10\""))))).isEqualTo(422);
        assertThat(code(() -> store.create(SVC, "a", obj(svc.formatted("s2", ",\"clusterIP\":\"10.97.0.1\""))))).isEqualTo(422);
        assertThat(code(() -> store.update(SVC, "a", "s1", obj(svc.formatted("s1", ",\"clusterIP\":\"10.96.0.11\"")), false))).isEqualTo(422);
        var kept = store.update(SVC, "a", "s1", obj(svc.formatted("s1", "")), false);
        assertThat(kept.path("spec").path("clusterIP").asString()).isEqualTo("10.96.0.10");
        store.delete(SVC, "a", "s1");
        assertThat(store.create(SVC, "a", obj(svc.formatted("s2", ",\"clusterIP\":\"10.96.0.10\""))).path("spec").path("clusterIP").asString()).isEqualTo("10.96.0.10");
        var headless = store.create(SVC, "a", obj(svc.formatted("h", ",\"clusterIP\":\"None\"")));
        assertThat(headless.path("spec").path("clusterIP").asString()).isEqualTo("None");
    }

    @Test void aDeletedNamespaceTerminatesThenTakesItsContents() throws InterruptedException {
        store.create(NS, "", obj("{\"metadata\":{\"name\":\"a\"}}"));
        store.create(POD, "a", obj("{\"metadata\":{\"name\":\"p\"}}"));
        var t = store.delete(NS, "", "a");
        assertThat(t.path("status").path("phase").asString()).isEqualTo("Terminating");
        assertThat(code(() -> store.create(POD, "a", obj("{\"metadata\":{\"name\":\"q\"}}")))).isEqualTo(403);
        var relabeled = store.update(NS, "", "a", obj("{\"metadata\":{\"name\":\"a\",\"labels\":{\"x\":\"y\"}}}"), false);
        assertThat(relabeled.path("metadata").has("deletionTimestamp")).as("an update does not undo a deletion").isTrue();
        assertThat(store.list(POD, "a", o -> true)).hasSize(1);
        long deadline = System.currentTimeMillis() + 5000;
        while (store.get(NS, "", "a").isPresent() && System.currentTimeMillis() < deadline) Thread.sleep(10);
        assertThat(store.get(NS, "", "a")).isEmpty();
        assertThat(store.list(POD, null, o -> true)).isEmpty();
    }

    @Test void watchesResumeInOrderAndTooOldVersionsAreGone() {
        store.create(NS, "", obj("{\"metadata\":{\"name\":\"a\"}}"));
        long from = store.resourceVersion();
        store.create(POD, "a", obj("{\"metadata\":{\"name\":\"p1\",\"labels\":{\"app\":\"x\"}}}"));
        store.create(POD, "a", obj("{\"metadata\":{\"name\":\"p2\"}}"));
        List<JsonNode> seen = new ArrayList<>();
        store.watch(POD, null, Selectors.labels("app=x"), Long.toString(from), t -> seen.add(ApiTypes.JSON.readTree(t)));
        store.delete(POD, "a", "p1");
        store.delete(POD, "a", "p2");
        assertThat(seen).extracting(e -> e.path("type").asString() + " " + e.path("object").path("metadata").path("name").asString())
                .containsExactly("ADDED p1", "DELETED p1");
        assertThat(Long.parseLong(seen.get(1).path("object").path("metadata").path("resourceVersion").asString())).isGreaterThan(from + 2);
        for (int i = 0; i < 3; i++) store.create(POD, "a", obj("{\"metadata\":{\"name\":\"q" + i + "\"}}"));
        // the log holds 5 events: a watch from the first version can no longer be served
        List<JsonNode> gone = new ArrayList<>();
        store.watch(POD, null, o -> true, "1", t -> gone.add(ApiTypes.JSON.readTree(t)));
        assertThat(gone).singleElement().satisfies(e -> {
            assertThat(e.path("type").asString()).isEqualTo("ERROR");
            assertThat(e.path("object").path("code").asInt()).isEqualTo(410);
        });
    }

    static final ApiTypes.Type SLICE = ApiTypes.ofKind("discovery.k8s.io/v1", "EndpointSlice").orElseThrow();

    List<String> endpoints(String ns) {
        List<String> out = new ArrayList<>();
        for (var sl : store.list(SLICE, ns, o -> true)) {
            String ports = sl.path("ports").valueStream().map(p -> p.path("name").asString() + ":" + p.path("port").asInt()).toList().toString();
            sl.path("endpoints").forEach(e -> out.add(sl.path("metadata").path("labels").path("kubernetes.io/service-name").asString() + " "
                    + e.path("addresses").get(0).asString() + " " + e.path("nodeName").asString() + " " + ports));
        }
        return out;
    }

    @Test void endpointSlicesFollowReadyPodsWithTheirNamedPorts() {
        store.create(NS, "", obj("{\"metadata\":{\"name\":\"a\"}}"));
        store.create(SVC, "a", obj("{\"metadata\":{\"name\":\"web\"},\"spec\":{\"selector\":{\"app\":\"web\"},\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":\"http\"}]}}"));
        assertThat(endpoints("a")).isEmpty();
        assertThat(store.list(SLICE, "a", o -> true)).as("an empty slice says: no endpoints").hasSize(1);
        String pod = "{\"metadata\":{\"name\":\"%s\",\"labels\":{\"app\":\"web\"}},\"spec\":{\"nodeName\":\"n1\",\"containers\":[{\"name\":\"c\",\"ports\":[{\"name\":\"http\",\"containerPort\":%d}]}]}}";
        store.create(POD, "a", obj(pod.formatted("p1", 8080)));
        store.create(POD, "a", obj(pod.formatted("p2", 9090)));
        assertThat(endpoints("a")).as("not ready until they have an address").isEmpty();
        store.update(POD, "a", "p1", obj("{\"metadata\":{\"name\":\"p1\"},\"status\":{\"podIP\":\"10.0.0.1\"}}"), true);
        store.written();
        store.update(POD, "a", "p2", obj("{\"metadata\":{\"name\":\"p2\"},\"status\":{\"podIP\":\"10.0.0.2\"}}"), true);
        assertThat(store.written()).as("the write reports the controller's slice write after it").containsOnlyKeys("Pod", "EndpointSlice")
                .satisfies(w -> assertThat(w.get("EndpointSlice")).isGreaterThan(w.get("Pod")));
        assertThat(endpoints("a")).containsExactlyInAnyOrder("web 10.0.0.1 n1 [http:8080]", "web 10.0.0.2 n1 [http:9090]");
        assertThat(store.list(SLICE, "a", o -> true)).as("one slice per port mapping").hasSize(2);
        store.update(POD, "a", "p2", obj(pod.formatted("p2", 9090).replace("\"app\":\"web\"", "\"app\":\"db\"")), false);
        assertThat(endpoints("a")).containsExactly("web 10.0.0.1 n1 [http:8080]");
        store.delete(POD, "a", "p1");
        assertThat(endpoints("a")).isEmpty();
        store.delete(SVC, "a", "web");
        assertThat(store.list(SLICE, "a", o -> true)).isEmpty();
    }

    @Test void oneObjectServedUnderTwoVersions() {
        store.create(POOL_V2A1, "", obj("{\"metadata\":{\"name\":\"pool\"},\"spec\":{\"blocks\":[{\"cidr\":\"10.1.0.0/24\"}]}}"));
        assertThat(store.get(POOL_V2, "", "pool").orElseThrow().path("apiVersion").asString()).isEqualTo("cilium.io/v2");
        assertThat(store.get(POOL_V2A1, "", "pool").orElseThrow().path("apiVersion").asString()).isEqualTo("cilium.io/v2alpha1");
    }

    @Test void selectorsAndPatches() {
        var o = obj("{\"metadata\":{\"labels\":{\"a\":\"1\",\"b\":\"2\"}},\"spec\":{\"nodeName\":\"n1\"}}");
        assertThat(Selectors.labels("a=1,b in (2,3),!c").test(o)).isTrue();
        assertThat(Selectors.labels("a!=1").test(o)).isFalse();
        assertThat(Selectors.labels("b notin (2)").test(o)).isFalse();
        assertThat(Selectors.fields("spec.nodeName=n1").test(o)).isTrue();
        assertThat(Selectors.fields("spec.nodeName!=n1").test(o)).isFalse();
        assertThatThrownBy(() -> Selectors.labels("a b c")).isInstanceOf(ApiError.class);

        var svc = obj("{\"spec\":{\"ports\":[{\"port\":80,\"name\":\"http\"},{\"port\":53,\"protocol\":\"UDP\"}],\"selector\":{\"app\":\"x\"}}}");
        var patched = Patches.apply(Patches.STRATEGIC, svc, obj(
                "{\"spec\":{\"$setElementOrder/ports\":[{\"port\":81},{\"port\":53}],\"ports\":[{\"port\":81,\"name\":\"http\"},{\"$patch\":\"delete\",\"port\":80}],\"selector\":{\"app\":null,\"tier\":\"web\"}}}"));
        assertThat(patched.path("spec").path("ports")).extracting(p -> p.path("port").asInt()).containsExactlyInAnyOrder(81, 53);
        assertThat(patched.path("spec").path("selector").properties()).extracting(java.util.Map.Entry::getKey).containsExactly("tier");
        var merged = Patches.apply(Patches.MERGE, svc, obj("{\"spec\":{\"ports\":[{\"port\":1}]}}"));
        assertThat(merged.path("spec").path("ports")).hasSize(1);
        var jp = Patches.apply(Patches.JSON_PATCH, svc, ApiTypes.JSON.readTree("[{\"op\":\"replace\",\"path\":\"/spec/ports/0/port\",\"value\":8080},{\"op\":\"add\",\"path\":\"/metadata\",\"value\":{}}]"));
        assertThat(jp.path("spec").path("ports").get(0).path("port").asInt()).isEqualTo(8080);
        assertThat(code(() -> Patches.apply("application/apply-patch+yaml", svc, obj("{}")))).isEqualTo(415);
    }
}
