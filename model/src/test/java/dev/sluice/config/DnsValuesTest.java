package dev.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.k8s.ManifestException;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DnsValuesTest {
    @Test void defaultsAreTheKubeletsAndCiliums() {
        assertThat(DnsValues.parse("v.yaml", "")).isEqualTo(DnsValues.DEFAULT);
        assertThat(DnsValues.DEFAULT.ndots()).isEqualTo(5);
        assertThat(DnsValues.DEFAULT.proxyResponseMaxDelay()).isEqualTo(Duration.ofMillis(100));
    }

    @Test void keysAreRead() {
        var v = DnsValues.parse("v.yaml", """
                dns: {ndots: 2}
                dnsProxy: {minTtl: 3600, idleConnectionGracePeriod: 1m, proxyResponseMaxDelay: 250ms}
                """);
        assertThat(v).isEqualTo(new DnsValues(2, Duration.ofHours(1), Duration.ofMinutes(1), Duration.ofMillis(250)));
        assertThat(DnsValues.parse("v.yaml", "dnsProxy: {minTtl: 30s}").minTtl()).isEqualTo(Duration.ofSeconds(30));
        // and Values itself accepts them
        Values.parse("v.yaml", "dns: {ndots: 2}\ndnsProxy: {minTtl: 0}", Map.of());
    }

    @Test void badValuesNameTheKey() {
        assertThatThrownBy(() -> DnsValues.parse("v.yaml", "dns: {ndots: 0}")).isInstanceOf(ManifestException.class)
                .hasMessageContaining("dns.ndots").hasMessageContaining("expected: an integer 1-15");
        assertThatThrownBy(() -> DnsValues.parse("v.yaml", "dnsProxy: {minTtl: -5}")).isInstanceOf(ManifestException.class)
                .hasMessageContaining("dnsProxy.minTtl");
        assertThatThrownBy(() -> DnsValues.parse("v.yaml", "dnsProxy: {proxyResponseMaxDelay: 0ms}")).isInstanceOf(ManifestException.class)
                .hasMessageContaining("dnsProxy.proxyResponseMaxDelay");
        assertThatThrownBy(() -> DnsValues.parse("v.yaml", "dnsProxy: {minTtls: 5}")).isInstanceOf(ManifestException.class)
                .hasMessageContaining("did you mean dnsProxy.minTtl?");
    }
}
