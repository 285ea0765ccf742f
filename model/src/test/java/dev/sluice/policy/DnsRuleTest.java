package dev.sluice.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import java.util.regex.Pattern;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * DNS names in rules.dns and toFQDNs, with Cilium's semantics: lower case, trailing dot, '*' within
 * one label, '*' alone for every name; and names an attacker would send to slip past a rule.
 */
class DnsRuleTest {
    @ParameterizedTest(name = "{0} ~ {1} = {2}")
    @CsvSource(delimiter = '|', textBlock = """
            example.com      | example.com          | true
            example.com      | EXAMPLE.com.         | true
            example.com.     | example.com          | true
            example.com      | www.example.com      | false
            example.com      | example.com.evil.io  | false
            example.com      | example.co           | false
            _srv._tcp.a.com  | _SRV._tcp.a.com      | true
            example.com      | exampl\u212a.com     | false
            """)
    void matchName(String rule, String query, boolean want) {
        assertThat(DnsRule.name(rule).matches(query)).isEqualTo(want);
        assertThat(FqdnSelector.name(rule).matches(query)).isEqualTo(want);
    }

    @ParameterizedTest(name = "{0} ~ {1} = {2}")
    @CsvSource(delimiter = '|', textBlock = """
            *.example.com    | www.example.com      | true
            *.example.com    | WWW.Example.Com.     | true
            *.example.com    | example.com          | false
            *.example.com    | a.b.example.com      | false
            *.example.com    | wwwexample.com       | false
            *.example.com    | www.example.com.evil | false
            *.example.com    | .example.com         | false
            *.example.com    | a..example.com       | false
            *.example.com    | a b.example.com      | false
            api-*.svc.local  | api-v1.svc.local     | true
            api-*.svc.local  | api-.svc.local       | true
            api-*.svc.local  | api.svc.local        | false
            api-*.svc.local  | api-v1.x.svc.local   | false
            *                | anything.at.all      | true
            *                | .                    | true
            *                | a_b-c.d              | true
            *                | a b.com              | false
            *                | a/b.com              | false
            *                | k\u212aube.io        | false
            *                | a..b                 | false
            *.*.com          | a.b.com              | true
            *.*.com          | a.com                | false
            a*b*c.io         | abc.io               | true
            a*b*c.io         | axxbyyc.io           | true
            a*b*c.io         | axxbyy.io            | false
            """)
    void matchPattern(String rule, String query, boolean want) {
        assertThat(DnsRule.pattern(rule).matches(query)).isEqualTo(want);
        assertThat(FqdnSelector.pattern(rule).matches(query)).isEqualTo(want);
    }

    @Test
    void canonicalForms() {
        assertThat(DnsRule.name("Example.COM")).isEqualTo(DnsRule.name("example.com."));
        assertThat(DnsRule.pattern("*.Example.com").toString()).isEqualTo("dns{matchPattern=*.example.com.}");
        assertThat(FqdnSelector.pattern("*").toString()).isEqualTo("matchPattern=*");
        assertThat(FqdnSelector.name("a.io").toString()).isEqualTo("matchName=a.io.");
        assertThatThrownBy(() -> DnsRule.name("a*.io")).hasMessageContaining("matchName: character '*'");
        assertThatThrownBy(() -> DnsRule.name("k\u212aube.io")).hasMessageContaining("character");
        assertThatThrownBy(() -> new DnsRule("a.io", "*")).hasMessageContaining("expected: exactly one");
        assertThatThrownBy(() -> new DnsRule("", "")).hasMessageContaining("expected: exactly one");
        String tooLong = ("a".repeat(60) + ".").repeat(5) + "io";
        assertThatThrownBy(() -> DnsRule.name(tooLong)).hasMessageContaining("longer than 253");
    }

    /** A hostile pattern and name stay linear (no regular expression backtracking): a 253-character name against many stars. */
    @Test
    void hostileInputIsFast() {
        DnsRule r = DnsRule.pattern("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b.io");
        String name = "a".repeat(63) + "." + "io";
        long t = System.nanoTime();
        for (int i = 0; i < 10_000; i++) assertThat(r.matches(name)).isFalse();
        assertThat((System.nanoTime() - t) / 1_000_000).as("ms for 10k matches").isLessThan(2_000);
    }

    /** The matcher agrees with Cilium's definition written as a regular expression, on random names and patterns (seeded). */
    @RepeatedTest(20)
    void agreesWithTheRegexDefinition() {
        long seed = System.nanoTime();
        System.out.println("DnsRuleTest seed=" + seed);
        var r = new SplittableRandom(seed);
        String alphabet = "ab-_.";
        for (int i = 0; i < 500; i++) {
            StringBuilder p = new StringBuilder(), n = new StringBuilder();
            for (int j = 1 + r.nextInt(8); j > 0; j--) p.append((alphabet + "**").charAt(r.nextInt(alphabet.length() + 2)));
            for (int j = 1 + r.nextInt(10); j > 0; j--) n.append(alphabet.charAt(r.nextInt(alphabet.length())));
            String pattern = p.toString().replace("**", "*");
            if (DnsNames.problem(pattern, true) != null || pattern.equals("*")) continue;
            String canon = DnsNames.canonical(pattern);
            String regex = "^" + canon.replace(".", "[.]").replace("*", "[-a-z0-9_]*") + "$";
            String name = DnsNames.normalise(n.toString());
            boolean want = name != null && Pattern.matches(regex, name);
            assertThat(DnsRule.pattern(pattern).matches(n.toString())).as("seed %d: %s ~ %s", seed, pattern, n).isEqualTo(want);
        }
    }
}
