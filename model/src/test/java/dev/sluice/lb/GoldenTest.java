package dev.sluice.lb;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Services, pods, nodes and pools in (golden/CASE/input.yaml + values.yaml); statuses, each node's
 * frontends and backends, and Maglev tables out (expected.txt). To accept a change on purpose:
 * {@code -Dsluice.golden.update=true}, then review the diff.
 */
class GoldenTest {
    static final Path DIR = Path.of("src/test/resources/lb/golden");

    static Stream<String> cases() throws IOException {
        try (Stream<Path> s = Files.list(DIR)) {
            return s.filter(Files::isDirectory).map(p -> p.getFileName().toString()).sorted().toList().stream();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void golden(String name) throws IOException {
        Path dir = DIR.resolve(name);
        var in = Inputs.parse("input.yaml", Files.readString(dir.resolve("input.yaml")));
        var values = Inputs.values(Files.readString(dir.resolve("values.yaml")));
        LbState state = in.compute(values);
        String actual = LbText.render(state) + "\n# service list\n" + LbText.serviceList(state);
        Path expected = dir.resolve("expected.txt");
        if (Boolean.getBoolean("sluice.golden.update") || !Files.exists(expected)) Files.writeString(expected, actual);
        assertThat(actual).isEqualTo(Files.readString(expected));
    }
}
