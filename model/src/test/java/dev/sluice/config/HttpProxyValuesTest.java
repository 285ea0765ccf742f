package dev.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class HttpProxyValuesTest {
    @Test
    void defaultsAreEnvoysLimits() {
        var p = Values.defaults().httpProxy();
        assertThat(p).isEqualTo(HttpProxyValues.DEFAULT);
        assertThat(p.maxHeaderBytes()).isEqualTo(60 * 1024);
        assertThat(p.maxHeaders()).isEqualTo(100);
        assertThat(p.http2MaxConcurrentStreams()).isEqualTo(100);
        assertThat(p.listenAddress()).isEqualTo("127.0.0.1");
    }

    @Test
    void keysAreRead() {
        var p = Values.parse("v.yaml", """
                proxy:
                  http:
                    listenAddress: 10.0.0.1
                    maxHeaderBytes: 8192
                    maxHeaders: 50
                    requestHeadersTimeout: 1500ms
                    idleTimeout: 2m
                    http2MaxConcurrentStreams: 10
                    http2MaxResetsPerWindow: 20
                    http2ResetWindow: 10s
                """, Map.of()).httpProxy();
        assertThat(p.listenAddress()).isEqualTo("10.0.0.1");
        assertThat(p.maxHeaderBytes()).isEqualTo(8192);
        assertThat(p.maxHeaders()).isEqualTo(50);
        assertThat(p.requestHeadersTimeout()).isEqualTo(Duration.ofMillis(1500));
        assertThat(p.idleTimeout()).isEqualTo(Duration.ofMinutes(2));
        assertThat(p.http2MaxConcurrentStreams()).isEqualTo(10);
        assertThat(p.http2MaxResetsPerWindow()).isEqualTo(20);
        assertThat(p.http2ResetWindow()).isEqualTo(Duration.ofSeconds(10));
    }

    @Test
    void badValuesNameTheKeyAndWhatWasExpected() {
        assertThatThrownBy(() -> Values.parse("v.yaml", "proxy: {http: {maxHeaders: 0}}\n", Map.of()))
                .hasMessage("v.yaml: proxy.http.maxHeaders: 0 (expected: an integer 1-10000)");
        assertThatThrownBy(() -> Values.parse("v.yaml", "proxy: {http: {listenAddress: localhost}}\n", Map.of()))
                .hasMessage("v.yaml: proxy.http.listenAddress: \"localhost\" (expected: an IPv4 address such as 127.0.0.1)");
        assertThatThrownBy(() -> Values.parse("v.yaml", "proxy: {http: {requestHeadersTimeout: 10}}\n", Map.of()))
                .hasMessageStartingWith("v.yaml: proxy.http.requestHeadersTimeout: \"10\" (expected: a duration from 100ms to");
        assertThatThrownBy(() -> Values.parse("v.yaml", "proxy: {http: {maxHeader: 1}}\n", Map.of()))
                .hasMessageContaining("did you mean proxy.http.maxHeaders?");
    }
}
