package dev.sluice.bench.lb;

import dev.sluice.k8s.Pod;
import dev.sluice.k8s.Service;
import dev.sluice.lb.LbState;
import dev.sluice.lb.ServiceModel;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * LB state for 10,000 Services x 10 backends: a full computation, and one change fed to a
 * long-lived model (what the agent does per event). Run:
 * {@code java -cp ... org.openjdk.jmh.Main 'dev.sluice.bench.lb.*' -wi 2 -i 3 -f 1}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@Fork(value = 1, jvmArgs = {"-Xmx6g"})
public class LbBench {
    @Param({"random", "maglev-1021", "maglev-16381"})
    public String mode;

    @Param({"10000"})
    public int services;

    Cluster cluster;
    ServiceModel model;
    Service a, b;
    Pod ready, gone;
    int flip;

    @Setup(Level.Trial)
    public void setup() {
        cluster = Cluster.of(services, 10);
        model = new ServiceModel(Cluster.values(mode));
        cluster.services().forEach(model::upsertService);
        cluster.pods().forEach(model::upsertPod);
        model.setNodes(cluster.nodes());
        model.state();
        // One Service alternating between two target ports: all its backends change.
        a = cluster.services().get(services / 2);
        b = Cluster.service(a.namespace(), services / 2, 9090);
        ready = cluster.pods().get(cluster.pods().size() / 2);
        gone = ready.withPodIP("");
    }

    @Benchmark
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public LbState fullCompute() {
        return ServiceModel.compute(cluster.services(), cluster.pods(), cluster.nodes(), java.util.List.of(), Cluster.values(mode));
    }

    @Benchmark
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public LbState oneServiceChange() {
        model.upsertService((flip++ & 1) == 0 ? b : a);
        return model.state();
    }

    @Benchmark
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public LbState onePodChange() {
        model.upsertPod((flip++ & 1) == 0 ? gone : ready);
        return model.state();
    }
}
