package dev.sluice.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.Values;
import dev.sluice.k8s.ManifestReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Golden tests: policy/golden/CASE/input.yaml (and optional values.yaml) in, the policy map state
 * rendered by {@link PolicyMapText} out, compared with expected.txt. Regenerate after a deliberate
 * change with {@code -Dsluice.golden.update=true} and review the diff.
 */
class GoldenTest {
    static Path root() {
        return Path.of(System.getProperty("sluice.home", "..")).resolve("model/src/test/resources/policy/golden");
    }

    static Stream<String> cases() throws IOException {
        try (Stream<Path> s = Files.list(root())) {
            return s.filter(Files::isDirectory).map(p -> p.getFileName().toString()).sorted().toList().stream();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesExpected(String name) throws IOException {
        Path dir = root().resolve(name);
        Path valuesFile = dir.resolve("values.yaml");
        Values values = Files.exists(valuesFile) ? Values.parse("values.yaml", Files.readString(valuesFile), Map.of()) : Values.defaults();
        var engine = new PolicyEngine(EngineConfig.from(values));
        engine.load(PolicyInputs.decodeStrict(ManifestReader.parse("input.yaml", Files.readString(dir.resolve("input.yaml")))));
        String got = PolicyMapText.render(engine.result());
        Path expected = dir.resolve("expected.txt");
        if (Boolean.getBoolean("sluice.golden.update") || !Files.exists(expected)) Files.writeString(expected, got);
        assertThat(got).isEqualTo(Files.readString(expected));
    }
}
