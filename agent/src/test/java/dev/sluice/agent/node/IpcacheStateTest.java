package dev.sluice.agent.node;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.Values;
import dev.sluice.ipcache.IpcacheModel;
import dev.sluice.k8s.ClusterNode;
import dev.sluice.k8s.Pod;
import dev.sluice.net.Cidr;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.function.ToIntFunction;
import java.util.stream.LongStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Patching the ipcache pod by pod gives what a from-scratch computation of the same pods gives. */
class IpcacheStateTest {
    static LongStream seeds() { return new SplittableRandom(0x1bcac4e).longs(30); }

    static final List<ClusterNode> NODES = List.of(
            new ClusterNode("n1", Map.of(), "192.168.0.1", List.of(Cidr.parse("10.0.1.0/24"))),
            new ClusterNode("n2", Map.of(), "192.168.0.2", List.of(Cidr.parse("10.0.2.0/24"))));

    /** Few addresses, so pods collide; some pods have none, one sits on a node's address. */
    static Pod pod(SplittableRandom r, String ns, String name) {
        String ip = switch (r.nextInt(6)) {
            case 0 -> "";
            case 1 -> "192.168.0.2";
            default -> "10.0." + r.nextInt(1, 3) + "." + r.nextInt(2, 6);
        };
        return new Pod(ns, name, Map.of("app", "a" + r.nextInt(3)), r.nextInt(5) == 0 ? "" : "n" + r.nextInt(1, 4), ip, List.of());
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void patchesEqualFromScratch(long seed) {
        System.out.println("IpcacheStateTest seed=" + seed);
        var r = new SplittableRandom(seed);
        var mode = r.nextBoolean() ? Values.RoutingMode.TUNNEL : Values.RoutingMode.NATIVE;
        ToIntFunction<Pod> identity = p -> 1000 + p.labels().get("app").hashCode() % 7;
        Map<String, Pod> pods = new TreeMap<>();
        var state = new IpcacheState("n1", mode);
        state.compute(NODES, pods.values(), identity);
        for (int step = 0; step < 80; step++) {
            List<String> keys = new ArrayList<>();
            for (int i = r.nextInt(1, 4); i > 0; i--) {
                String key = (r.nextBoolean() ? "x" : "y") + "/p" + r.nextInt(8);
                keys.add(key);
                if (r.nextInt(4) == 0) pods.remove(key);
                else pods.put(key, pod(r, key.substring(0, 1), key.substring(2)));
            }
            state.patch(keys, pods::get, identity);
            Map<Cidr, IpcacheModel.Entry> scratch = IpcacheModel.compute("n1", NODES, List.copyOf(pods.values()), identity, mode);
            assertThat(new TreeMap<>(state.desired())).as("seed %d step %d", seed, step).isEqualTo(scratch);
        }
    }
}
