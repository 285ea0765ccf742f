package dev.sluice.cli.audit;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Properties of the threshold checks over seeded random fills (the seed is printed to replay a failure). */
class ChecksPropertiesTest {
    static final int RUNS = 500;

    static String expected(double worst) {
        return worst >= Checks.FAIL_AT ? "fail" : worst >= Checks.WARN_AT ? "warn" : "pass";
    }

    @Test
    void conntrackAndIpamStatusIsTheFullestTablesThreshold() {
        long seed = System.nanoTime();
        System.out.println("ChecksPropertiesTest seed " + seed);
        var r = new SplittableRandom(seed);
        for (int run = 0; run < RUNS; run++) {
            int n = 1 + r.nextInt(4);
            List<AuditInput.NodeFacts> nodes = new ArrayList<>();
            double worstCt = 0, worstIpam = 0;
            for (int i = 0; i < n; i++) {
                int cap = 2 + r.nextInt(300), used = r.nextInt(cap + 1);
                long tcp = r.nextInt(1001), any = r.nextInt(1001);
                nodes.add(new AuditInput.NodeFacts("node" + (i + 1), "10.0." + i + ".0/24", 1500, 1450, used, cap, tcp, 1000, any, 1000, 0, true,
                        List.of(), List.of()));
                worstCt = Math.max(worstCt, Math.max(tcp / 1000.0, any / 1000.0));
                worstIpam = Math.max(worstIpam, (double) used / cap);
            }
            var in = ChecksTest.live(ChecksTest.CLEAN, "", nodes, ChecksTest.GOOD);
            assertThat(ChecksTest.find(in, "conntrack").status()).as("seed %d run %d", seed, run).isEqualTo(expected(worstCt));
            assertThat(ChecksTest.find(in, "ipam").status()).as("seed %d run %d", seed, run).isEqualTo(expected(worstIpam));
            var all = Checks.run(in);
            String overall = Checks.overall(all);
            assertThat(overall).as("seed %d run %d: the worst status", seed, run)
                    .isEqualTo(all.stream().anyMatch(f -> f.status().equals("fail")) ? "fail"
                            : all.stream().anyMatch(f -> f.status().equals("warn")) ? "warn" : "pass");
        }
    }
}
