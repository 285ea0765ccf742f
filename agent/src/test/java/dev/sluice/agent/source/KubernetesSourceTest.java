package dev.sluice.agent.source;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.agent.store.Recorder;
import dev.sluice.agent.store.ResourceStore;
import dev.sluice.k8s.KubeObject;
import dev.sluice.k8s.Kinds;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** KubernetesSource against fabric8's mock API server in CRUD mode. Every wait has a deadline. */
class KubernetesSourceTest {
    static final Duration DEADLINE = Duration.ofSeconds(45); // a watch reconnects with backoff: 10 s and more on a loaded host
    static final KubernetesSource.Config FAST = new KubernetesSource.Config(Duration.ofMillis(200));

    final MockApi api = new MockApi();
    final KubernetesClient client = api.client();
    final KubeApi kubeApi = api.kubeApi();
    final ResourceStore store = new ResourceStore();
    final Recorder deltas = new Recorder();
    KubernetesSource source;

    KubernetesSourceTest() throws Exception {
        store.subscribe(Set.copyOf(ResourceStore.KINDS), deltas);
    }

    @AfterEach void stop() {
        if (source != null) source.close();
        client.close();
        kubeApi.close();
        api.close();
    }

    static String pod(String ns, String name, String app) {
        return "{apiVersion: v1, kind: Pod, metadata: {name: " + name + ", namespace: " + ns + ", labels: {app: \"" + app + "\"}},"
                + " spec: {containers: [{name: c, ports: [{containerPort: 80}]}]}}";
    }

    static final String NAMESPACE_X = "{apiVersion: v1, kind: Namespace, metadata: {name: x, labels: {team: a}}}";
    static final String SERVICE = "{apiVersion: v1, kind: Service, metadata: {name: web, namespace: x},"
            + " spec: {selector: {app: web}, ports: [{port: 80}]}}";
    static final String CNP = "{apiVersion: cilium.io/v2, kind: CiliumNetworkPolicy, metadata: {name: allow, namespace: x},"
            + " spec: {endpointSelector: {matchLabels: {app: web}}, ingress: [{fromEndpoints: [{}]}]}}";
    static final String POOL = "{apiVersion: cilium.io/v2, kind: CiliumLoadBalancerIPPool, metadata: {name: blue},"
            + " spec: {blocks: [{cidr: 10.0.10.0/24}]}}";
    /** The pool as a Cilium before 1.18 serves it. */
    static final String POOL_V2ALPHA1 = POOL.replace("cilium.io/v2", "cilium.io/v2alpha1");
    static final String NODE = "{apiVersion: v1, kind: Node, metadata: {name: n1}, spec: {podCIDRs: [10.1.0.0/24]},"
            + " status: {addresses: [{type: InternalIP, address: 192.168.0.1}], conditions: [{type: Ready, status: \"True\","
            + " lastHeartbeatTime: \"%s\"}]}}";

    // ---------------------------------------------------------------- writing through the API

    GenericKubernetesResource parse(String yaml) {
        // flow-style YAML starts with "{", which fabric8 would take for JSON; a document marker says YAML
        return client.getKubernetesSerialization().unmarshal("---\n" + yaml, GenericKubernetesResource.class);
    }

    io.fabric8.kubernetes.client.dsl.Resource<GenericKubernetesResource> at(GenericKubernetesResource r) {
        var res = KubernetesSource.RESOURCES.stream().filter(x -> x.kind().equals(r.getKind())).findFirst().orElseThrow();
        String[] gv = r.getApiVersion().contains("/") ? r.getApiVersion().split("/") : new String[] {"", r.getApiVersion()};
        var ctx = new ResourceDefinitionContext.Builder().withGroup(gv[0]).withVersion(gv[1]).withKind(res.kind())
                .withPlural(res.plural()).withNamespaced(res.namespaced()).build();
        var op = client.genericKubernetesResources(ctx);
        return res.namespaced() ? op.inNamespace(r.getMetadata().getNamespace()).resource(r) : op.resource(r);
    }

    void create(String yaml) { at(parse(yaml)).create(); }

    void update(String yaml) { at(parse(yaml)).update(); }

    void delete(String yaml) { at(parse(yaml)).delete(); }

    // ---------------------------------------------------------------- waiting

    static void await(String what, BooleanSupplier done) throws InterruptedException {
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError(what + ": not within " + DEADLINE);
            Thread.sleep(20);
        }
    }

    static <T> void awaitEqual(String what, Supplier<T> actual, T expected) throws InterruptedException {
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        while (!actual.get().equals(expected)) {
            if (System.nanoTime() > deadline)
                throw new AssertionError(what + ": not within " + DEADLINE + "\n expected: " + expected + "\n actual:   " + actual.get());
            Thread.sleep(20);
        }
    }

    List<String> names() {
        return store.snapshot().objects().stream().map(KubeObject::displayName).toList();
    }

    KubernetesSource.KindHealth health(String kind) {
        return source.health().stream().filter(h -> h.kind().equals(kind)).findFirst().orElseThrow();
    }

    void startSource() {
        source = new KubernetesSource(kubeApi, store, FAST);
        source.start();
    }

    // ---------------------------------------------------------------- tests

    @Test void syncsExistingObjectsThenFollowsAddUpdateDelete() throws Exception {
        create(NAMESPACE_X);
        create(pod("x", "a", "web"));
        create(SERVICE);
        create(CNP);
        create(POOL);
        startSource();
        await("every kind synced", source::synced);
        assertThat(names()).containsExactly("Namespace x", "Pod x/a", "Service x/web", "CiliumNetworkPolicy x/allow",
                "CiliumLoadBalancerIPPool blue");
        KubeObject a = store.list(Kinds.POD).get(0);
        assertThat(a.file()).isEqualTo(KubernetesSource.ORIGIN);
        assertThat(a.labels()).containsEntry("app", "web");
        assertThat(a.body().get("metadata").has("resourceVersion")).isFalse();
        assertThat(store.list(Kinds.CILIUM_LB_IP_POOL).get(0).apiVersion()).isEqualTo("cilium.io/v2");

        deltas.clear();
        create(pod("x", "b", "db"));
        update(pod("x", "a", "web2"));
        delete(SERVICE);
        awaitEqual("store after add, update, delete", this::names,
                List.of("Namespace x", "Pod x/a", "Pod x/b", "CiliumNetworkPolicy x/allow", "CiliumLoadBalancerIPPool blue"));
        await("a's new label", () -> store.list(Kinds.POD).get(0).labels().get("app").equals("web2"));
        assertThat(deltas.lines()).containsExactlyInAnyOrder("Added Pod x/b", "Updated Pod x/a", "Deleted Service x/web");
        assertThat(source.errors()).isEmpty();
        assertThat(health(Kinds.POD)).satisfies(h -> {
            assertThat(h.synced()).isTrue();
            assertThat(h.watching()).isTrue();
            assertThat(h.lists()).isEqualTo(1);
        });
    }

    @Test void aNodeHeartbeatChangesNothing() throws Exception {
        create(NODE.formatted("2025-01-01T00:00:00Z"));
        startSource();
        await("node listed", () -> store.list(Kinds.NODE).size() == 1);
        deltas.clear();
        update(NODE.formatted("2025-01-01T00:00:10Z"));
        // a real change after it: events of one kind arrive in order, so once this one is in, the
        // heartbeat before it has been handled too
        update(NODE.formatted("2025-01-01T00:00:20Z").replace("192.168.0.1", "192.168.0.2"));
        await("the address change", () -> store.list(Kinds.NODE).get(0).body().json().toString().contains("192.168.0.2"));
        assertThat(deltas.lines()).containsExactly("Updated Node n1");
        assertThat(store.list(Kinds.NODE).get(0).body().get("status").fieldNames()).containsExactly("addresses");
    }

    @Test void afterTheServerRestartsTheStoreConvergesToExactlyItsState() throws Exception {
        create(NAMESPACE_X);
        create(pod("x", "a", "web"));
        create(pod("x", "b", "web"));
        create(SERVICE);
        startSource();
        await("every kind synced", source::synced);
        assertThat(names()).containsExactly("Namespace x", "Pod x/a", "Pod x/b", "Service x/web");

        api.restart(); // a new, empty server on the same port: what was there is gone unless created again
        create(NAMESPACE_X);
        create(pod("x", "b", "db"));
        create(pod("x", "c", "web"));
        awaitEqual("store converged to the new server", this::names, List.of("Namespace x", "Pod x/b", "Pod x/c"));
        assertThat(store.list(Kinds.POD).get(0).labels()).containsEntry("app", "db");
        await("pods relisted", () -> health(Kinds.POD).watchRestarts() >= 1);
        // and the watch works again after the relist
        create(pod("x", "d", "web"));
        awaitEqual("watch after relist", this::names, List.of("Namespace x", "Pod x/b", "Pod x/c", "Pod x/d"));
    }

    @Test void aMissingCrdIsReportedAndRetriedWithoutBlockingTheOtherKinds() throws Exception {
        api.missing.add("/apis/cilium.io/v2/ciliumnetworkpolicies");
        api.missing.add("/apis/cilium.io/v2/ciliumloadbalancerippools"); // an older Cilium: pools at v2alpha1 only
        create(pod("x", "a", "web"));
        create(SERVICE);
        create(POOL_V2ALPHA1);
        startSource();
        await("pods and services synced", () -> health(Kinds.POD).synced() && health(Kinds.SERVICE).synced());
        assertThat(names()).contains("Pod x/a", "Service x/web");
        await("pools synced at v2alpha1", () -> health(Kinds.CILIUM_LB_IP_POOL).synced());
        assertThat(health(Kinds.CILIUM_LB_IP_POOL).apiVersion()).isEqualTo("cilium.io/v2alpha1");
        assertThat(store.list(Kinds.CILIUM_LB_IP_POOL)).extracting(KubeObject::name).containsExactly("blue");
        var cnp = health(Kinds.CILIUM_NETWORK_POLICY);
        assertThat(cnp.synced()).isFalse();
        assertThat(cnp.lastError()).isEqualTo("not served by the API server (HTTP 404; expected: its CRD installed)");
        assertThat(source.errors()).contains("CiliumNetworkPolicy: not served by the API server (HTTP 404; expected: its CRD installed)");
        assertThat(source.synced()).isFalse();

        api.missing.clear(); // the CRD is installed: the next retry lists it
        create(CNP);
        await("policies synced after the CRD appeared", () -> health(Kinds.CILIUM_NETWORK_POLICY).synced());
        awaitEqual("policy in the store", () -> store.list(Kinds.CILIUM_NETWORK_POLICY).size(), 1);
        await("all synced", source::synced);
        assertThat(source.errors()).isEmpty();
    }

    @Test void anObjectThatDoesNotReadIsReportedAndBlocksNoOther() throws Exception {
        create(pod("x", "good", "web"));
        create(pod("x", "bad", "not a label value!"));
        startSource();
        await("synced", source::synced);
        assertThat(store.list(Kinds.POD)).extracting(KubeObject::name).containsExactly("good");
        assertThat(source.errors()).singleElement().asString()
                .startsWith("kubernetes: Pod x/bad: metadata.labels").contains("not a label value!");
        assertThat(health(Kinds.POD).badObjects()).hasSize(1);

        create(pod("x", "later", "web")); // the watch goes on past it
        update(pod("x", "bad", "fixed"));
        awaitEqual("fixed object read", () -> store.list(Kinds.POD).stream().map(KubeObject::name).toList(), List.of("bad", "good", "later"));
        assertThat(source.errors()).isEmpty();

        update(pod("x", "good", "broken now!"));
        awaitEqual("an update that does not read removes the object", () -> store.list(Kinds.POD).stream().map(KubeObject::name).toList(),
                List.of("bad", "later"));
        assertThat(source.errors()).singleElement().asString().startsWith("kubernetes: Pod x/good: metadata.labels");
    }

    /**
     * Writes arrive faster than the handler takes them: a burst of creates, label changes and
     * deletes of a few pods (seeded, printed) ends with the store exactly at the API's last state,
     * through watch events applied one by one.
     */
    @Test void aBurstOfWritesConverges() throws Exception {
        long seed = new java.util.SplittableRandom().nextLong();
        System.out.println("KubernetesSourceTest.aBurst seed=" + seed);
        var r = new java.util.SplittableRandom(seed);
        create(NAMESPACE_X);
        create(pod("x", "p0", "v0"));
        startSource();
        await("synced", source::synced);
        java.util.Map<String, String> want = new java.util.TreeMap<>(java.util.Map.of("p0", "v0"));
        for (int i = 1; i <= 300; i++) {
            String name = "p" + r.nextInt(4), app = "v" + i;
            if (!want.containsKey(name)) {
                create(pod("x", name, app));
                want.put(name, app);
            } else if (r.nextInt(4) == 0) {
                delete(pod("x", name, app));
                want.remove(name);
            } else {
                update(pod("x", name, app));
                want.put(name, app);
            }
        }
        awaitEqual("store at the API's last state (seed " + seed + ")", () -> {
            java.util.Map<String, String> got = new java.util.TreeMap<>();
            store.list(Kinds.POD).forEach(o -> got.put(o.name(), o.labels().get("app")));
            return got;
        }, want);
    }
}
