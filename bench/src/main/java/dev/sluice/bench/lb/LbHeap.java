package dev.sluice.bench.lb;

import dev.sluice.lb.LbState;
import dev.sluice.lb.ServiceModel;
import java.lang.management.ManagementFactory;

/**
 * Retained heap of a long-lived model and its state for 10,000 Services x 10 backends, per mode
 * (used heap after full GCs, before and after). Run: {@code java -cp ... dev.sluice.bench.lb.LbHeap}.
 */
public final class LbHeap {
    public static void main(String[] args) {
        int services = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
        for (String mode : new String[] {"random", "maglev-1021", "maglev-16381"}) {
            Cluster c = Cluster.of(services, 10);
            long before = used();
            long t0 = System.nanoTime();
            var model = new ServiceModel(Cluster.values(mode));
            c.services().forEach(model::upsertService);
            c.pods().forEach(model::upsertPod);
            model.setNodes(c.nodes());
            LbState s = model.state();
            long ms = (System.nanoTime() - t0) / 1_000_000;
            long after = used();
            System.out.printf("%-13s services=%d frontends(node1)=%d backends=%d first state %d ms, retained %.1f MB (model + state)%n",
                    mode, services, s.frontends("node1").size(), s.backends().size(), ms, (after - before) / 1e6);
            if (s.services().isEmpty() || model.backendIds().isEmpty()) throw new AssertionError();
        }
    }

    private static long used() {
        for (int i = 0; i < 3; i++) System.gc();
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }
}
