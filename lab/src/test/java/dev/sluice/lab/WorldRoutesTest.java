package dev.sluice.lab;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.net.Cidr;
import dev.sluice.net.Ip;
import java.util.SplittableRandom;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

/** The world's on-link routes to a pool's start-stop blocks: the fewest CIDRs covering exactly the range. */
class WorldRoutesTest {
    @Test
    void rangesBecomeTheFewestCidrs() {
        assertThat(Lab.rangeCidrs(Ip.parse("10.200.0.1"), Ip.parse("10.200.0.1"))).extracting(Cidr::toString).containsExactly("10.200.0.1/32");
        assertThat(Lab.rangeCidrs(Ip.parse("10.200.0.0"), Ip.parse("10.200.0.255"))).extracting(Cidr::toString).containsExactly("10.200.0.0/24");
        assertThat(Lab.rangeCidrs(Ip.parse("10.200.0.1"), Ip.parse("10.200.0.6"))).extracting(Cidr::toString)
                .containsExactly("10.200.0.1/32", "10.200.0.2/31", "10.200.0.4/31", "10.200.0.6/32");
        assertThat(Lab.rangeCidrs(0, -1)).extracting(Cidr::toString).containsExactly("0.0.0.0/0");
    }

    @RepeatedTest(10)
    void everyAddressOfTheRangeAndNoOtherIsCovered() {
        long seed = System.nanoTime();
        System.out.println("WorldRoutesTest seed " + seed);
        var rnd = new SplittableRandom(seed);
        long a = rnd.nextLong(1L << 32), z = Math.min((1L << 32) - 1, a + rnd.nextInt(5000));
        var cidrs = Lab.rangeCidrs((int) a, (int) z);
        long covered = 0;
        for (Cidr c : cidrs) {
            covered += c.size();
            assertThat(Integer.toUnsignedLong(c.network())).as("seed %d", seed).isGreaterThanOrEqualTo(a);
            assertThat(Integer.toUnsignedLong(c.broadcast())).as("seed %d", seed).isLessThanOrEqualTo(z);
        }
        assertThat(covered).as("seed %d", seed).isEqualTo(z - a + 1);
        assertThat(cidrs.size()).as("seed %d: at most two CIDRs per prefix length", seed).isLessThanOrEqualTo(64);
    }
}
