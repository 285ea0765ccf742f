package dev.sluice.agent.l2;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.agent.reconcile.SnapshotDiff;
import dev.sluice.bpf.BpfObject;
import dev.sluice.bpf.TypedMap;
import dev.sluice.config.Values;
import dev.sluice.datapath.maps.L2ResponderKey;
import dev.sluice.datapath.maps.L2ResponderValue;
import dev.sluice.k8s.ClusterNode;
import dev.sluice.k8s.Kinds;
import dev.sluice.k8s.KubeObject;
import dev.sluice.k8s.ManifestReader;
import dev.sluice.k8s.Pod;
import dev.sluice.k8s.Service;
import dev.sluice.lb.LbState;
import dev.sluice.lb.ServiceModel;
import dev.sluice.net.Ip;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The announcer between leases and the kernel's sl_l2_responder (the real map of bpf_netdev.o, one
 * per node): exactly the addresses of the leases held, with the renewal's expiry; one gratuitous
 * ARP when an address starts being announced; entries removed when the lease is another's (a
 * restarted agent) or released (the policy went).
 */
@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: BPF")
class L2AnnouncerTest {
    static final String LB = "10.200.0.1";
    static final String INPUT = """
            apiVersion: v1
            kind: Node
            metadata: {name: node1}
            spec: {podCIDRs: [10.0.1.0/24]}
            status: {addresses: [{type: InternalIP, address: 192.168.1.1}]}
            ---
            apiVersion: v1
            kind: Node
            metadata: {name: node2}
            spec: {podCIDRs: [10.0.2.0/24]}
            status: {addresses: [{type: InternalIP, address: 192.168.1.2}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {namespace: shop, name: web}
            spec: {type: LoadBalancer, clusterIP: 10.96.0.80, selector: {app: web}, ports: [{port: 80, targetPort: 8080, nodePort: 30800}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {namespace: shop, name: web-a, labels: {app: web}}
            spec: {nodeName: node1, containers: [{name: c, image: echo, ports: [{containerPort: 8080}]}]}
            status: {podIP: 10.0.1.10}
            """;
    static final String POLICY = """
            apiVersion: cilium.io/v2alpha1
            kind: CiliumL2AnnouncementPolicy
            metadata: {name: lan}
            spec: {loadBalancerIPs: true}
            """;
    static final Values.L2Announcements CONFIG = new Values.L2Announcements(true, Duration.ofSeconds(15), Duration.ofSeconds(5),
            Duration.ofSeconds(2));

    record Sent(int ifindex, byte[] frame) {}

    final AtomicLong clock = new AtomicLong(1_000_000_000_000L);
    final LeaseElectorTest.MemStore leases = new LeaseElectorTest.MemStore();
    final List<BpfObject> objects = new ArrayList<>();
    LbState services;
    List<ClusterNode> nodes = new ArrayList<>();
    KubeObject policy;

    @BeforeEach
    void model() {
        List<Service> svc = new ArrayList<>();
        List<Pod> pods = new ArrayList<>();
        for (KubeObject o : ManifestReader.parse("input.yaml", INPUT)) {
            switch (o.kind()) {
                case Kinds.SERVICE -> svc.add(Service.decode(o));
                case Kinds.POD -> pods.add(Pod.decode(o));
                case Kinds.NODE -> nodes.add(ClusterNode.decode(o));
                default -> throw new IllegalArgumentException(o.kind());
            }
        }
        services = ServiceModel.compute(svc, pods, nodes, List.of(), Values.parse("v.yaml", "lbExternalIPPool:\n  cidr: " + LB + "/32\n", Map.of()));
        policy = ManifestReader.parse("policy.yaml", POLICY).getFirst();
    }

    @AfterEach
    void close() { objects.forEach(BpfObject::close); }

    TypedMap<L2ResponderKey, L2ResponderValue> map() {
        BpfObject o = BpfObject.open(Path.of(System.getProperty("sluice.home"), "build/bpf/bpf_netdev.o"), BpfObject.OpenOptions.defaults());
        o.load();
        objects.add(o);
        return o.map("sl_l2_responder").typed(L2ResponderKey.CODEC, L2ResponderValue.CODEC);
    }

    L2Announcer node(int i, TypedMap<L2ResponderKey, L2ResponderValue> map, List<Sent> sent) {
        var elector = new LeaseElector(leases, "node" + i, CONFIG.leaseDuration(), CONFIG.renewDeadline(), clock::get,
                () -> Instant.ofEpochSecond(1_700_000_000L).plusNanos(clock.get()));
        var a = new L2Announcer(CONFIG, "node" + i, List.of(new L2Announcer.Iface("eth0", 10 + i, "02:00:00:00:00:1" + i)), map,
                () -> new long[L2ResponderValue.OUTCOMES.size()], elector, (ifindex, frame) -> sent.add(new Sent(ifindex, frame)), clock::get);
        a.apply(new SnapshotDiff.Changes(List.of(policy), List.of()), services, nodes.get(i - 1));
        return a;
    }

    void advance(Duration d) { clock.addAndGet(d.toNanos()); }

    @Test
    void theHolderWritesItsAddressWithTheRenewalsExpiryAndAnnouncesItOnce() {
        var m1 = map();
        var m2 = map();
        List<Sent> s1 = new ArrayList<>(), s2 = new ArrayList<>();
        var a = node(1, m1, s1);
        var b = node(2, m2, s2);
        a.tick();
        b.tick();
        var key = new L2ResponderKey(Ip.parse(LB), 11);
        assertThat(m1.all()).containsOnlyKeys(key);
        assertThat(m1.get(key).orElseThrow().expires()).isEqualTo(clock.get() + CONFIG.leaseDuration().toNanos());
        assertThat(m1.get(key).orElseThrow().mac()).isEqualTo("02:00:00:00:00:11");
        assertThat(m2.all()).as("the standby writes nothing").isEmpty();
        assertThat(s2).isEmpty();
        assertThat(s1).singleElement().satisfies(s -> {
            assertThat(s.ifindex()).isEqualTo(11);
            ByteBuffer f = ByteBuffer.wrap(s.frame());
            assertThat(f.getShort(12)).as("ARP").isEqualTo((short) 0x0806);
            assertThat(f.getShort(20)).as("request").isEqualTo((short) 1);
            assertThat(f.getInt(28)).as("sender address").isEqualTo(Ip.parse(LB));
            assertThat(f.getInt(38)).as("target address = sender address: gratuitous").isEqualTo(Ip.parse(LB));
        });
        assertThat(a.view().announcements()).singleElement().satisfies(v -> {
            assertThat(v.state()).isEqualTo("announcing");
            assertThat(v.holder()).isEqualTo("node1");
            assertThat(v.lease()).isEqualTo("cilium-l2announce-shop-web");
        });
        assertThat(b.view().announcements()).singleElement().satisfies(v -> assertThat(v.state()).isEqualTo("standby"));

        advance(Duration.ofSeconds(2));
        a.tick();
        assertThat(m1.get(key).orElseThrow().expires()).as("renewed").isEqualTo(clock.get() + CONFIG.leaseDuration().toNanos());
        assertThat(s1).as("no second gratuitous ARP while announcing").hasSize(1);
        assertThat(a.status()).isEqualTo(new L2Announcer.StatusView(true, 1, 1, 1, List.of()));
    }

    @Test
    void aDeadHoldersAddressMovesAndItsRestartedAgentRemovesItsEntry() {
        var m1 = map();
        var m2 = map();
        List<Sent> s1 = new ArrayList<>(), s2 = new ArrayList<>();
        var a = node(1, m1, s1);
        var b = node(2, m2, s2);
        a.tick();
        b.tick();
        // node1's agent dies: its entry stays in the kernel until its expiry; node2 takes over after the lease
        long deadline = m1.all().values().iterator().next().expires();
        while (m2.all().isEmpty()) {
            advance(Duration.ofSeconds(2));
            b.tick();
        }
        assertThat(clock.get()).as("not before node1's entry expired").isGreaterThanOrEqualTo(deadline);
        assertThat(s2).as("node2 announced the move").hasSize(1);
        assertThat(leases.leases.get("cilium-l2announce-shop-web").holder()).isEqualTo("node2");
        // node1's agent starts again on the same pinned map
        List<Sent> s1b = new ArrayList<>();
        var again = node(1, m1, s1b);
        again.tick();
        assertThat(m1.all()).as("the restarted standby removed its stale entry").isEmpty();
        assertThat(s1b).isEmpty();
    }

    @Test
    void aRestartedHolderKeepsAnnouncingWithoutAGap() {
        var m1 = map();
        List<Sent> s1 = new ArrayList<>();
        node(1, m1, s1).tick();
        advance(Duration.ofSeconds(3));
        List<Sent> s1b = new ArrayList<>();
        var again = node(1, m1, s1b);
        again.tick();
        assertThat(m1.all()).hasSize(1);
        assertThat(m1.all().values().iterator().next().expires()).isEqualTo(clock.get() + CONFIG.leaseDuration().toNanos());
        assertThat(s1b).as("its entry never expired: nothing to announce again").isEmpty();
        assertThat(leases.leases.get("cilium-l2announce-shop-web").transitions()).isZero();
    }

    @Test
    void aSnapshotThatChangedNeitherServicesNorPoliciesNorTheNodeKeepsTheSelection() {
        var m1 = map();
        var a = node(1, m1, new ArrayList<>());
        a.tick();
        // unchanged: nothing recomputed, even given no Services at all
        a.apply(new SnapshotDiff.Changes(List.of(), List.of()), null, nodes.getFirst(), false);
        assertThat(a.view().announcements()).hasSize(1);
        // this node's labels changed: recomputed (here against no Services: nothing to announce)
        var relabelled = new ClusterNode("node1", Map.of("zone", "b"), "192.168.1.1", nodes.getFirst().podCIDRs());
        a.apply(new SnapshotDiff.Changes(List.of(), List.of()), null, relabelled, false);
        assertThat(a.view().announcements()).isEmpty();
        a.resync();
        a.apply(new SnapshotDiff.Changes(List.of(policy), List.of()), services, relabelled, false);
        assertThat(a.view().announcements()).as("after a resync the whole snapshot is taken again").hasSize(1);
    }

    @Test
    void whenThePolicyGoesTheHolderReleasesTheLeaseAndStopsAnswering() {
        var m1 = map();
        var a = node(1, m1, new ArrayList<>());
        a.tick();
        assertThat(m1.all()).hasSize(1);
        a.apply(new SnapshotDiff.Changes(List.of(), List.of(policy)), services, nodes.getFirst());
        a.tick();
        assertThat(m1.all()).isEmpty();
        assertThat(leases.leases.get("cilium-l2announce-shop-web").holder()).as("released for another node to take at once").isEmpty();
        assertThat(a.view().announcements()).isEmpty();
    }
}
