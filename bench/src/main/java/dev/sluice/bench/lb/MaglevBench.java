package dev.sluice.bench.lb;

import dev.sluice.config.Values;
import dev.sluice.maglev.Maglev;
import dev.sluice.maglev.MaglevTable;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/** One Maglev table of {@code backends} backends. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(1)
public class MaglevBench {
    @Param({"1021", "16381"})
    public int m;

    @Param({"10", "100"})
    public int backends;

    List<String> names;
    final Maglev.Seed seed = Maglev.Seed.of(Values.DEFAULT_MAGLEV_SEED);

    @Setup
    public void setup() {
        names = new ArrayList<>();
        for (int i = 0; i < backends; i++) names.add("10.0." + (i >> 8) + "." + (i & 0xff) + ":8080");
    }

    @Benchmark
    public MaglevTable build() { return Maglev.build(names, m, seed); }
}
