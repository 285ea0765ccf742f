package dev.sluice.identity;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.policy.PortRange;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class IdentityTest {
    @Test void reservedNumbersAreCiliums() {
        assertThat(Reserved.HOST.id).isEqualTo(1);
        assertThat(Reserved.WORLD.id).isEqualTo(2);
        assertThat(Reserved.KUBE_APISERVER.id).isEqualTo(7);
        assertThat(Reserved.INGRESS.id).isEqualTo(8);
    }

    @Test void allocationIsDeterministicUniqueAndOrderFree() {
        List<IdentityLabels> sets = new ArrayList<>();
        for (int i = 0; i < 5000; i++) sets.add(IdentityLabels.pod("ns" + i % 50, Map.of("app", "a" + i), Map.of()));
        var a = new IdentityAllocator();
        a.reset(sets, List.of());
        var b = new IdentityAllocator();
        for (IdentityLabels l : sets.reversed()) b.add(l);
        var ids = new HashSet<Integer>();
        for (IdentityLabels l : sets) {
            int id = a.identity(l).id();
            assertThat(id).isBetween(IdentityAllocator.POD_MIN, IdentityAllocator.CIDR_BASE - 1);
            assertThat(b.identity(l).id()).isEqualTo(id);
            assertThat(ids.add(id)).isTrue();
        }
    }

    @Test void collisionsAreResolvedTheSameWayEverywhere() {
        var s = new StableAllocator(256, 4); // tiny space: collisions guaranteed
        var t = new StableAllocator(256, 4);
        for (String k : List.of("a", "b", "c", "d")) s.add(k);
        for (String k : List.of("d", "c", "b", "a")) t.add(k);
        for (String k : List.of("a", "b", "c", "d")) assertThat(s.get(k)).isEqualTo(t.get(k));
        assertThat(new HashSet<>(List.of(s.get("a"), s.get("b"), s.get("c"), s.get("d")))).hasSize(4);
    }

    @Test void labelFilterDropsPodUniqueLabels() {
        var f = LabelFilter.of(List.of("!team"));
        assertThat(f.apply(Map.of("app", "x", "pod-template-hash", "abc", "team", "t"))).containsOnlyKeys("app");
        assertThat(LabelFilter.of(List.of("app")).apply(Map.of("app", "x", "tier", "y"))).containsOnlyKeys("app");
    }

    @Test void portRangePrefixes() {
        assertThat(new PortRange(8000, 8100).prefixes().toString()).isEqualTo("[8000/10, 8064/11, 8096/14, 8100/16]");
        assertThat(PortRange.of(80).prefixes().toString()).isEqualTo("[80/16]");
        assertThat(new PortRange(1, 65535).prefixes().stream().mapToLong(p -> p.last() - p.first() + 1).sum()).isEqualTo(65535);
        assertThat(PortRange.ANY.prefixes().toString()).isEqualTo("[0/0]");
    }
}
