package dev.sluice.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** {@link PolicyEngine.Entries} gives what {@link PolicyEngine#merge} applied pairwise, in order, gives: the same values, lists in the same order. */
class PolicyEntriesTest {
    @Test
    void sameAsPairwiseMerge() {
        long seed = Long.getLong("sluice.seed", System.nanoTime());
        System.out.println("PolicyEntriesTest seed=" + seed);
        var r = new SplittableRandom(seed);
        List<HttpRule> rules = List.of(new HttpRule("GET", "/a", "", List.of()), new HttpRule("POST", "/b", "", List.of()),
                new HttpRule("", "/c", "", List.of()), HttpRule.ANY);
        List<DnsRule> dnsRules = List.of(DnsRule.name("a.example.com"), DnsRule.pattern("*.example.com"), DnsRule.ANY);
        for (int round = 0; round < 2000; round++) {
            // a pool of values, some with unsorted or repeated lists, used several times (the same instance put again)
            List<PolicyValue> pool = new ArrayList<>();
            int n = 1 + r.nextInt(6);
            for (int i = 0; i < n; i++) {
                Verdict v = Verdict.values()[r.nextInt(3)];
                List<String> origins = new ArrayList<>();
                for (int j = r.nextInt(2); j >= 0; j--) origins.add("o" + r.nextInt(5));
                if (v == Verdict.REDIRECT && r.nextInt(3) == 0) {
                    // a redirect to the DNS proxy: with an HTTP redirect on the same key it must deny (two proxies)
                    List<DnsRule> dns = new ArrayList<>();
                    for (int j = r.nextInt(3); j >= 0; j--) dns.add(dnsRules.get(r.nextInt(dnsRules.size())));
                    pool.add(PolicyValue.dns(dns, origins));
                    continue;
                }
                List<HttpRule> http = new ArrayList<>();
                if (v == Verdict.REDIRECT) for (int j = r.nextInt(3); j >= 0; j--) http.add(rules.get(r.nextInt(rules.size())));
                pool.add(new PolicyValue(v, http, origins));
            }
            List<PolicyKey> keys = new ArrayList<>();
            for (int i = 0; i < 3; i++) keys.add(new PolicyKey(Direction.INGRESS, 100 + i, null, List.of(), 6, PortRange.of(80)));
            var entries = new PolicyEngine.Entries();
            Map<PolicyKey, PolicyValue> want = new HashMap<>();
            int puts = r.nextInt(12);
            for (int i = 0; i < puts; i++) {
                PolicyKey k = keys.get(r.nextInt(keys.size()));
                PolicyValue v = pool.get(r.nextInt(pool.size()));
                entries.put(k, v);
                PolicyValue old = want.putIfAbsent(k, v);
                if (old != null && old != v) want.put(k, PolicyEngine.merge(old, v));
            }
            assertThat(entries.done()).as("seed " + seed + " round " + round).isEqualTo(want);
        }
    }

    @Test
    void twoProxiesOnOneKeyDenyAndAnL4AllowWildcardsTheProxy() {
        PolicyValue http = new PolicyValue(Verdict.REDIRECT, List.of(new HttpRule("GET", "/", "", List.of())), List.of("h"));
        PolicyValue dns = PolicyValue.dns(List.of(DnsRule.name("a.com")), List.of("d"));
        PolicyValue allow = new PolicyValue(Verdict.ALLOW, List.of(), List.of("a"));
        assertThat(PolicyEngine.merge(http, dns)).isEqualTo(new PolicyValue(Verdict.DENY, List.of(), List.of("d", "h")));
        assertThat(PolicyEngine.merge(dns, http)).isEqualTo(new PolicyValue(Verdict.DENY, List.of(), List.of("d", "h")));
        assertThat(PolicyEngine.merge(dns, allow)).isEqualTo(new PolicyValue(Verdict.REDIRECT, L7Kind.DNS, List.of(), List.of(DnsRule.name("a.com"), DnsRule.ANY), List.of("a", "d")));
        assertThat(PolicyEngine.merge(allow, http).l7()).isEqualTo(L7Kind.HTTP);
        assertThat(PolicyEngine.merge(allow, http).http()).contains(HttpRule.ANY);
    }
}
