package dev.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class HubbleMetricTest {
    @Test
    void hubblesSyntaxWithOptionsAndAlternatives() {
        var all = HubbleMetric.parseAll("v.yaml", "hubble.metrics.enabled",
                List.of("flow", "drop:sourceContext=pod|identity;destinationContext=namespace", "flows-to-world:port;any-drop",
                        "tcp:labelsContext=source_namespace,destination_pod", "dns:query;ignoreAAAA", "httpV2:exemplars=true;sourceContext=dns|ip"));
        assertThat(all).extracting(HubbleMetric::name).containsExactly("flow", "drop", "flows-to-world", "tcp", "dns", "httpV2");
        assertThat(all).extracting(HubbleMetric::l7).containsExactly(false, false, false, false, true, true);
        assertThat(all.get(1).context("sourceContext")).containsExactly("pod", "identity");
        assertThat(all.get(2).options()).isEqualTo(Map.of("port", "", "any-drop", ""));
        assertThat(all.get(3).labelsContext()).containsExactly("source_namespace", "destination_pod");
    }

    @Test
    void offByDefaultAsInCiliumOnWhenListedAndTurnedOffAgain() {
        var d = Values.defaults().metrics();
        assertThat(d.prometheusEnabled()).isFalse();
        assertThat(d.prometheusPort()).isEqualTo(9962);
        assertThat(d.hubblePort()).isEqualTo(9965);
        assertThat(d.hubble()).isEmpty();
        var lab = Values.parse("v.yaml", Values.withObservability("v.yaml", "hubble:\n  eventBufferCapacity: 8191\n"), Map.of());
        assertThat(lab.metrics().prometheusEnabled()).isTrue();
        assertThat(lab.metrics().hubble()).extracting(HubbleMetric::name).containsExactlyElementsOf(HubbleMetric.NAMES);
        assertThat(lab.hubbleEventBufferCapacity()).isEqualTo(8191);
        assertThat(lab.hubbleEnabled()).isTrue();
        assertThat(lab.hubbleRelayEnabled()).isFalse();
        // what the file says wins
        var own = Values.parse("v.yaml", Values.withObservability("v.yaml", "prometheus: {enabled: false}\nhubble: {enabled: false, metrics: {enabled: [drop]}}\n"), Map.of());
        assertThat(own.metrics().prometheusEnabled()).isFalse();
        assertThat(own.metrics().hubble()).extracting(HubbleMetric::name).containsExactly("drop");
        assertThat(own.hubbleEnabled()).isFalse();
        var off = Values.parse("v.yaml", "prometheus: {enabled: false}\nhubble: {metrics: {enabled: []}}\n", Map.of()).metrics();
        assertThat(off.prometheusEnabled()).isFalse();
        assertThat(off.hubble()).isEmpty();
        var some = Values.parse("v.yaml", "prometheus: {port: 19962}\nhubble: {metrics: {port: 19965, enabled: [\"drop:sourceContext=pod\"]}}\n", Map.of());
        assertThat(some.metrics().prometheusPort()).isEqualTo(19962);
        assertThat(some.metrics().hubblePort()).isEqualTo(19965);
        assertThat(some.metrics().hubble()).extracting(HubbleMetric::name).containsExactly("drop");
    }

    @ParameterizedTest
    @CsvSource(delimiterString = " => ", quoteCharacter = '\'', textBlock = """
            'hubble: {metrics: {enabled: [flows]}}' => v.yaml: hubble.metrics.enabled: "flows" (expected: one of flow, drop, tcp, port-distribution, icmp, policy, flows-to-world, dns, http, httpV2, kafka (optionally NAME:OPTION=VALUE;...))
            'hubble: {metrics: {enabled: ["dns:query=yes"]}}' => v.yaml: hubble.metrics.enabled: "dns:query=yes" (expected: query without a value)
            'hubble: {metrics: {enabled: ["drop:sourceContext=pods"]}}' => v.yaml: hubble.metrics.enabled: "drop:sourceContext=pods" (expected: sourceContext of identity|namespace|pod|pod-name|ip|reserved-identity|workload|workload-name|app|dns; not "pods")
            'hubble: {metrics: {enabled: ["drop:sourceContext=ip|"]}}' => v.yaml: hubble.metrics.enabled: "drop:sourceContext=ip|" (expected: sourceContext of identity|namespace|pod|pod-name|ip|reserved-identity|workload|workload-name|app|dns; not "")
            'hubble: {metrics: {enabled: ["tcp:srcContext=pod"]}}' => v.yaml: hubble.metrics.enabled: "tcp:srcContext=pod" (expected: options of tcp: sourceContext, sourceEgressContext, sourceIngressContext, destinationContext, destinationEgressContext, destinationIngressContext, labelsContext; not srcContext)
            'hubble: {metrics: {enabled: ["tcp:port"]}}' => v.yaml: hubble.metrics.enabled: "tcp:port" (expected: options of tcp: sourceContext, sourceEgressContext, sourceIngressContext, destinationContext, destinationEgressContext, destinationIngressContext, labelsContext; not port)
            'hubble: {metrics: {enabled: ["flow:labelsContext=source_ip,pod"]}}' => v.yaml: hubble.metrics.enabled: "flow:labelsContext=source_ip,pod" (expected: labelsContext of source_ip, source_namespace, source_pod, source_workload, source_workload_kind, source_app, destination_ip, destination_namespace, destination_pod, destination_workload, destination_workload_kind, destination_app, traffic_direction; not "pod")
            'hubble: {metrics: {enabled: ["flow:sourceContext"]}}' => v.yaml: hubble.metrics.enabled: "flow:sourceContext" (expected: sourceContext=VALUE)
            'hubble: {metrics: {enabled: ["flows-to-world:port=80"]}}' => v.yaml: hubble.metrics.enabled: "flows-to-world:port=80" (expected: port without a value)
            'hubble: {metrics: {enabled: [drop, drop]}}' => v.yaml: hubble.metrics.enabled: "drop" (expected: each metric once (drop is listed twice))
            'prometheus: {port: 70000}' => v.yaml: prometheus.port: 70000 (expected: an integer 1-65535)
            'prometheus: {port: http}' => v.yaml: prometheus.port: http (expected: an integer 1-65535)
            'prometheus: {enabled: yes}' => v.yaml: prometheus.enabled: yes (expected: true or false)
            '{prometheus: {enabled: true}, hubble: {metrics: {port: 9962, enabled: [drop]}}}' => v.yaml: hubble.metrics.port: 9962 (expected: a port other than prometheus.port's)
            'prometheus: {prot: 1}' => v.yaml: prometheus.prot: unknown key (expected a key listed in docs/configuration.md; did you mean prometheus.port?)
            """)
    void badConfigurationIsOneLineNamingTheKey(String yaml, String message) {
        assertThatThrownBy(() -> Values.parse("v.yaml", yaml, Map.of())).hasMessage(message);
    }
}
