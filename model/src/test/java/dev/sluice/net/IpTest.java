package dev.sluice.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import java.util.regex.Pattern;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

class IpTest {
    /** The grammar the hand-written reader implements, as the regular expression it replaced. */
    static final Pattern V4 = Pattern.compile("(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}");

    @Test void readsAndFormatsDottedQuads() {
        assertThat(Ip.parse("10.0.0.1")).isEqualTo(0x0a000001);
        assertThat(Ip.parse("255.255.255.255")).isEqualTo(-1);
        assertThat(Ip.parse("0.0.0.0")).isZero();
        assertThat(Ip.format(Ip.parse("192.168.77.254"))).isEqualTo("192.168.77.254");
        for (String bad : new String[] {"", "1.2.3", "1.2.3.4.", "1.2.3.4.5", "01.2.3.4", "1.2.3.256", "1..3.4", " 1.2.3.4", "1.2.3.4 ",
                "1.2.3.-4", "1.2.3.1000", "１.2.3.4", "a.b.c.d", "1.2.3.0004"})
            assertThat(Ip.isIpv4(bad)).as(bad).isFalse();
        assertThatThrownBy(() -> Ip.parse("10.0.0")).hasMessage("10.0.0 (expected: an IPv4 address a.b.c.d)");
        assertThatThrownBy(() -> Ip.parse(null)).hasMessage("null (expected: an IPv4 address a.b.c.d)");
    }

    /** Random near-addresses (digits, dots, a few other characters): the reader agrees with the grammar. */
    @RepeatedTest(5) void agreesWithTheGrammarOnRandomStrings() {
        long seed = new SplittableRandom().nextLong();
        System.out.println("IpTest seed=" + seed);
        var r = new SplittableRandom(seed);
        String alphabet = "0123456789.....0125-x ";
        for (int k = 0; k < 20_000; k++) {
            var b = new StringBuilder();
            int len = r.nextInt(1, 18);
            for (int i = 0; i < len; i++) b.append(alphabet.charAt(r.nextInt(alphabet.length())));
            String s = r.nextInt(4) == 0 ? r.nextInt(300) + "." + r.nextInt(300) + "." + r.nextInt(300) + "." + r.nextInt(300) : b.toString();
            boolean want = V4.matcher(s).matches();
            assertThat(Ip.isIpv4(s)).as("'%s' (seed %d)", s, seed).isEqualTo(want);
            if (want) {
                String[] p = s.split("\\.");
                int v = (Integer.parseInt(p[0]) << 24) | (Integer.parseInt(p[1]) << 16) | (Integer.parseInt(p[2]) << 8) | Integer.parseInt(p[3]);
                assertThat(Ip.parse(s)).as(s).isEqualTo(v);
            }
        }
    }
}
