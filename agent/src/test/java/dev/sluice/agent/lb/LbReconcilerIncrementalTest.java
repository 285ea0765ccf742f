package dev.sluice.agent.lb;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.bpf.BpfMap;
import dev.sluice.config.Values;
import dev.sluice.datapath.maps.LbBackend;
import dev.sluice.datapath.maps.LbMaps;
import dev.sluice.datapath.maps.LbReverseNat;
import dev.sluice.datapath.maps.LbService;
import dev.sluice.datapath.maps.LbServiceKey;
import dev.sluice.datapath.maps.LbSlotKey;
import dev.sluice.k8s.ClusterNode;
import dev.sluice.k8s.Pod;
import dev.sluice.k8s.Protocol;
import dev.sluice.k8s.Service;
import dev.sluice.lb.ServiceModel;
import dev.sluice.net.Cidr;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.stream.LongStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The reconciler looks only at the Services whose result changed (by identity, or as the model
 * reports them); after any sequence of changes the kernel maps hold what a new reconciler writes
 * from scratch into empty maps for the final state (frontend ids aside: they depend on history).
 * Real BPF hash maps, created for the test (root).
 */
class LbReconcilerIncrementalTest {
    static LongStream seeds() { return new SplittableRandom(0x1b5ec).longs(20); }

    static final List<ClusterNode> NODES = List.of(
            new ClusterNode("n1", Map.of(), "192.168.0.1", List.of(Cidr.parse("10.0.1.0/24"))),
            new ClusterNode("n2", Map.of(), "192.168.0.2", List.of(Cidr.parse("10.0.2.0/24"))));

    /** Hash maps shaped as the data path's (the Maglev map only ever sees deletes with the random algorithm). */
    static final class Maps implements AutoCloseable {
        final Map<String, BpfMap> m = new HashMap<>();

        Maps() {
            m.put(LbMaps.SERVICES, BpfMap.create(BpfMap.TYPE_HASH, "t_services", size(LbServiceKey.CODEC), size(LbService.CODEC), 2048, 0));
            m.put(LbMaps.BACKENDS, BpfMap.create(BpfMap.TYPE_HASH, "t_backends", 4, size(LbBackend.CODEC), 2048, 0));
            m.put(LbMaps.SLOTS, BpfMap.create(BpfMap.TYPE_HASH, "t_slots", size(LbSlotKey.CODEC), 4, 32768, 0));
            m.put(LbMaps.REVERSE_NAT, BpfMap.create(BpfMap.TYPE_HASH, "t_revnat", 4, size(LbReverseNat.CODEC), 2048, 0));
            m.put(LbMaps.MAGLEV, BpfMap.create(BpfMap.TYPE_HASH, "t_maglev", 4, 4, 2048, 0));
        }

        static int size(dev.sluice.bpf.Codec<?> c) { return (int) c.layout().byteSize(); }

        LbMaps lb() { return new LbMaps(m::get); }

        @Override public void close() { m.values().forEach(BpfMap::close); }
    }

    /** The maps' contents with frontend ids replaced by what they point to. */
    static String dump(LbMaps lb) {
        var slots = lb.slots().all();
        var rn = lb.reverseNat().all();
        Map<String, String> fe = new TreeMap<>();
        lb.services().all().forEach((k, v) -> {
            List<Integer> s = new ArrayList<>();
            for (int i = 1; i <= v.count(); i++) s.add(slots.get(new LbSlotKey(v.id(), i)));
            fe.put(k.toString(), "count=" + v.count() + " flags=" + v.flags() + " type=" + v.type() + " affinity=" + v.affinityTimeout()
                    + " slots=" + s + " revnat=" + rn.get(v.id()));
        });
        int slotTotal = lb.services().all().values().stream().mapToInt(LbService::count).sum();
        return fe + "\nbackends=" + new TreeMap<>(lb.backends().all()) + "\nslots=" + slots.size() + "/" + slotTotal + " revnat=" + rn.size();
    }

    /** Each frontend: its id, then its entry and slots. */
    static Map<LbServiceKey, String> frontends(LbMaps lb) {
        var slots = lb.slots().all();
        Map<LbServiceKey, String> out = new HashMap<>();
        lb.services().all().forEach((k, v) -> {
            List<Integer> s = new ArrayList<>();
            for (int i = 1; i <= v.count(); i++) s.add(slots.get(new LbSlotKey(v.id(), i)));
            out.put(k, v.id() + " " + v + " " + s);
        });
        return out;
    }

    static Service service(SplittableRandom r, int i) {
        Service.Type type = r.nextInt(4) == 0 ? Service.Type.NodePort : Service.Type.ClusterIP;
        List<Service.ServicePort> ports = new ArrayList<>();
        for (int p = 0; p < r.nextInt(1, 3); p++)
            ports.add(new Service.ServicePort(p, "p" + p, 80 + p + r.nextInt(2) * 10, 8080 + r.nextInt(2), "", Protocol.TCP, 0));
        // a few shared ClusterIPs: the loser has no ClusterIP frontend (ClusterIPInUse)
        String cip = "10.96." + (i / 200) + "." + (r.nextInt(6) == 0 ? 1 : 10 + i % 200);
        return new Service("svc.yaml", "x", "s" + i, Map.of(), type, Map.of("app", "a" + r.nextInt(3)), cip, ports, List.of(),
                r.nextInt(5) == 0, 10800, r.nextInt(4) == 0, r.nextInt(4) == 0, false, "", "", List.of());
    }

    static Pod pod(SplittableRandom r, int i) {
        boolean ready = r.nextInt(5) != 0;
        return new Pod("x", "p" + i, Map.of("app", "a" + r.nextInt(3)), ready ? "n" + r.nextInt(1, 3) : "",
                ready ? "10.0." + r.nextInt(1, 3) + "." + (2 + i) : "", List.of());
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void incrementalEqualsFromScratch(long seed) {
        System.out.println("LbReconcilerIncrementalTest seed=" + seed);
        var r = new SplittableRandom(seed);
        Values v = Values.parse("values.yaml", "nodePort: {range: \"30000,30009\"}\nserviceNoBackendResponse: " + (r.nextBoolean() ? "reject" : "drop") + "\n", Map.of());
        var model = new ServiceModel(v);
        model.setNodes(NODES);
        try (Maps a = new Maps()) {
            var rec = new LbReconciler(a.lb(), "n1");
            boolean hint = r.nextBoolean();
            // sometimes enough Services that whole passes go through the batched writes (LbReconciler.BULK)
            int services = r.nextBoolean() ? 8 : 150;
            if (services > 8) for (int i = 0; i < services; i++) model.upsertService(service(r, i));
            for (int step = 0; step < 40; step++) {
                if (services > 8 && step == 20) model.setNodes(NODES.subList(0, 1)); // every Service recomputed
                for (int n = r.nextInt(1, 4); n > 0; n--) {
                    switch (r.nextInt(6)) {
                        case 0, 1 -> model.upsertService(service(r, r.nextInt(services)));
                        case 2 -> model.removeService("x/s" + r.nextInt(services));
                        case 3, 4 -> model.upsertPod(pod(r, r.nextInt(10)));
                        default -> model.removePod("x/p" + r.nextInt(10));
                    }
                }
                var state = model.state();
                if (r.nextInt(10) == 0) rec.resync(); // as after a failed apply: a full pass against the maps
                var before = frontends(a.lb());
                var result = hint ? rec.reconcile(state, model.lastChanged()) : rec.reconcile(state);
                assertThat(rec.errors()).isEmpty();
                // what the reconciler says it changed (Hubble's service events) is what changed in the maps
                var after = frontends(a.lb());
                for (var e : after.entrySet())
                    if (!e.getValue().equals(before.get(e.getKey())))
                        assertThat(rec.written()).as("seed %d step %d: %s changed", seed, step, e.getKey()).contains(e.getKey());
                assertThat(after.keySet()).as("seed %d step %d", seed, step).containsAll(rec.written());
                List<Integer> gone = new ArrayList<>();
                for (var e : before.entrySet())
                    if (!after.containsKey(e.getKey())) gone.add(Integer.parseInt(e.getValue().substring(0, e.getValue().indexOf(' '))));
                assertThat(rec.removedIds()).as("seed %d step %d", seed, step).containsExactlyInAnyOrderElementsOf(gone);
                if (step % 10 == 9) {
                    try (Maps b = new Maps()) {
                        new LbReconciler(b.lb(), "n1").reconcile(state);
                        assertThat(dump(a.lb())).as("seed %d step %d (%s)", seed, step, result).isEqualTo(dump(b.lb()));
                    }
                }
            }
            // a restarted agent reads back what is there and, given the same state, writes nothing
            var again = new LbReconciler(a.lb(), "n1").reconcile(model.state());
            assertThat(again.frontendsWritten() + again.frontendsRemoved() + again.backendsWritten() + again.backendsRemoved()).isZero();
        }
    }
}
