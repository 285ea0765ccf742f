package dev.sluice.ipam;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.net.Cidr;
import dev.sluice.net.Ip;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

class PodCidrPoolTest {
    @Test
    void skipsNetworkAndBroadcastAndContinuesAfterLast() {
        var pool = new PodCidrPool(Cidr.parse("10.0.1.0/24"));
        assertThat(pool.capacity()).isEqualTo(254);
        assertThat(pool.next(Set.of(), Optional.empty()).map(Ip::format)).contains("10.0.1.1");
        assertThat(pool.next(Set.of(), Optional.of(Ip.parse("10.0.1.7"))).map(Ip::format)).contains("10.0.1.8");
        // wraps past the broadcast address back to .1
        assertThat(pool.next(Set.of(), Optional.of(Ip.parse("10.0.1.254"))).map(Ip::format)).contains("10.0.1.1");
    }

    @Test
    void exhaustedPoolIsEmptyWithAClearMessage() {
        var pool = new PodCidrPool(Cidr.parse("10.0.1.0/30"));
        Set<Integer> all = Set.of(Ip.parse("10.0.1.1"), Ip.parse("10.0.1.2"));
        assertThat(pool.next(all, Optional.empty())).isEmpty();
        assertThat(pool.exhausted()).isEqualTo("pod CIDR 10.0.1.0/30 is exhausted: all 2 addresses are in use "
                + "(expected: a free address; delete pods, or give nodes larger pod CIDRs with a smaller ipam.operator.clusterPoolIPv4MaskSize)");
    }

    @Test
    void nodeCidrsSplitTheClusterPoolInOrder() {
        List<Cidr> pool = List.of(Cidr.parse("10.0.0.0/23"), Cidr.parse("10.9.0.0/24"));
        assertThat(PodCidrPool.nodeCidr(pool, 24, 0)).hasToString("10.0.0.0/24");
        assertThat(PodCidrPool.nodeCidr(pool, 24, 1)).hasToString("10.0.1.0/24");
        assertThat(PodCidrPool.nodeCidr(pool, 24, 2)).hasToString("10.9.0.0/24");
        assertThatThrownBy(() -> PodCidrPool.nodeCidr(pool, 24, 3)).hasMessageContaining("node 4").hasMessageContaining("no /24 left");
    }

    /** Allocating until exhaustion never repeats an address and never leaves the CIDR, whatever was taken before. */
    @RepeatedTest(20)
    void neverHandsOutATakenOrForeignAddress() {
        long seed = System.nanoTime();
        System.out.println("PodCidrPoolTest seed=" + seed);
        var rnd = new SplittableRandom(seed);
        int len = 24 + rnd.nextInt(6);
        var pool = new PodCidrPool(new Cidr(Ip.parse("10.0.0.0") + (rnd.nextInt(256) << 8), len));
        Set<Integer> taken = new HashSet<>();
        for (int i = 0; i < pool.capacity() / 3; i++) taken.add(pool.cidr().address(1 + rnd.nextLong(pool.capacity())));
        Optional<Integer> last = Optional.empty();
        int handedOut = 0;
        while (true) {
            var next = pool.next(taken, last);
            if (next.isEmpty()) break;
            assertThat(pool.usable(next.get())).as("seed %d", seed).isTrue();
            assertThat(taken.add(next.get())).as("seed %d: %s handed out twice", seed, Ip.format(next.get())).isTrue();
            last = next;
            handedOut++;
        }
        assertThat(taken).hasSize((int) pool.capacity());
        assertThat(handedOut).isPositive();
    }
}
