package dev.sluice.cli.connectivity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.BadInputException;
import dev.sluice.k8s.ManifestReader;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class ScenarioTest {
    static final List<Scenario> ALL = Scenario.all(Scenario.Lab.ANY);

    @Test
    void theScenariosAreCiliumsNamesAndL7OnesAreSkippedWithTheReason() {
        assertThat(ALL).extracting(Scenario::name).containsExactly("pod-to-pod-same-node", "pod-to-pod-other-node", "pod-to-service",
                "pod-to-world", "host-to-pod", "nodeport-from-world", "lb-from-world", "client-ingress", "all-ingress-deny", "all-egress-deny",
                "echo-ingress-l7", "to-fqdns");
        assertThat(ALL).filteredOn(s -> !s.skip().isEmpty()).extracting(Scenario::name).containsExactly("echo-ingress-l7", "to-fqdns");
    }

    @Test
    void whatALabLacksSkipsItsScenarios() {
        var small = Scenario.all(new Scenario.Lab(1, false, false));
        assertThat(small).filteredOn(s -> !s.skip().isEmpty()).extracting(Scenario::name)
                .containsExactly("pod-to-pod-other-node", "pod-to-world", "lb-from-world", "echo-ingress-l7", "to-fqdns");
    }

    @Test
    void eachScenarioStaysInItsOwnNamespaceWithValidManifests() {
        for (Scenario s : ALL) {
            if (!s.skip().isEmpty()) continue;
            var objects = ManifestReader.parse(s.name(), s.manifests());
            assertThat(objects.getFirst().kind()).isEqualTo("Namespace");
            assertThat(objects.getFirst().name()).isEqualTo("sluice-ct-" + s.name());
            assertThat(objects.subList(1, objects.size())).allSatisfy(o -> assertThat(o.namespace()).isEqualTo(s.namespace()));
            assertThat(s.expects()).isNotEmpty();
        }
    }

    @Test
    void testFilterTakesNamesAndRegularExpressions() {
        assertThat(Scenario.select(ALL, List.of("pod-to-service"))).extracting(Scenario::name).containsExactly("pod-to-service");
        assertThat(Scenario.select(ALL, List.of("all-.*", "pod-to-pod-same-node"))).extracting(Scenario::name)
                .containsExactly("pod-to-pod-same-node", "all-ingress-deny", "all-egress-deny");
        assertThat(Scenario.select(ALL, null)).hasSize(12);
        assertThatThrownBy(() -> Scenario.select(ALL, List.of("pod-to-mars"))).isInstanceOf(BadInputException.class)
                .hasMessageStartingWith("--test: pod-to-mars (expected one of: pod-to-pod-same-node, ");
        assertThatThrownBy(() -> Scenario.select(ALL, List.of("(("))).isInstanceOf(BadInputException.class).hasMessageStartingWith("--test: ((");
    }

    @Test
    void theSummaryTable() {
        var rs = List.of(new Runner.Result("pod-to-service", "pass", "", List.of("ok  pod:client -> service:echo:80 allowed (10.96.0.10:80 answered)"), 7),
                new Runner.Result("all-ingress-deny", "fail", "pod:client -> pod:echo-other:80 denied but it was allowed",
                        List.of("FAIL pod:client -> pod:echo-other:80 denied (10.0.1.7:80 answered)"), 12),
                new Runner.Result("to-fqdns", "skip", "L7 (DNS) policy is not implemented yet", List.of(), 0));
        var out = new ByteArrayOutputStream();
        ConnectivityCommand.table(new PrintStream(out, true, StandardCharsets.UTF_8), rs);
        assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("""
                [pass] pod-to-service
                  ok  pod:client -> service:echo:80 allowed (10.96.0.10:80 answered)
                [fail] all-ingress-deny
                  FAIL pod:client -> pod:echo-other:80 denied (10.0.1.7:80 answered)
                [skip] to-fqdns: L7 (DNS) policy is not implemented yet

                SCENARIO          RESULT  TIME  REASON
                pod-to-service    PASS    7ms
                all-ingress-deny  FAIL    12ms  pod:client -> pod:echo-other:80 denied but it was allowed
                to-fqdns          SKIP    -     L7 (DNS) policy is not implemented yet

                result: fail (1 passed, 1 failed, 1 skipped)
                """);
        assertThat(ConnectivityCommand.overall(rs)).isEqualTo("fail");
    }
}
