package dev.sluice.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.Values;
import dev.sluice.k8s.ManifestReader;
import dev.sluice.net.Ip;
import dev.sluice.policymap.PolicyMaps;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Golden tests: policy/golden/CASE/input.yaml (and optional values.yaml) in, the policy map state
 * rendered by {@link PolicyMapText} out, compared with expected.txt. Optional fqdn.txt: what the
 * FQDN cache holds, one selector per line ({@code matchName=a.io. 192.0.2.1 ...}). When maps.txt
 * exists, each endpoint's compiled data path entries ({@link PolicyMaps#render}) are compared with
 * it too. Regenerate after a deliberate change with {@code -Dsluice.golden.update=true} and review
 * the diff.
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
        PolicyInputs in = PolicyInputs.decodeStrict(ManifestReader.parse("input.yaml", Files.readString(dir.resolve("input.yaml"))));
        Path fqdnFile = dir.resolve("fqdn.txt");
        if (Files.exists(fqdnFile)) in = in.withFqdns(fqdns(Files.readAllLines(fqdnFile)));
        engine.load(in);
        String got = PolicyMapText.render(engine.result());
        Path expected = dir.resolve("expected.txt");
        if (Boolean.getBoolean("sluice.golden.update") || !Files.exists(expected)) Files.writeString(expected, got);
        assertThat(got).isEqualTo(Files.readString(expected));
        Path maps = dir.resolve("maps.txt");
        if (Files.exists(maps)) {
            StringBuilder sb = new StringBuilder();
            for (EndpointPolicy e : engine.result().endpoints().values())
                sb.append("endpoint ").append(e.endpoint()).append('\n').append(PolicyMaps.render(PolicyMaps.compile(e.state())));
            if (Boolean.getBoolean("sluice.golden.update") || Files.size(maps) == 0) Files.writeString(maps, sb.toString());
            assertThat(sb.toString()).isEqualTo(Files.readString(maps));
        }
    }

    static Map<FqdnSelector, Set<Integer>> fqdns(List<String> lines) {
        Map<FqdnSelector, Set<Integer>> out = new TreeMap<>();
        for (String l : lines) {
            if (l.isBlank() || l.startsWith("#")) continue;
            String[] f = l.trim().split("\\s+");
            String[] kv = f[0].split("=", 2);
            FqdnSelector sel = kv[0].equals("matchName") ? FqdnSelector.name(kv[1]) : FqdnSelector.pattern(kv[1]);
            Set<Integer> ips = new TreeSet<>();
            for (int i = 1; i < f.length; i++) ips.add(Ip.parse(f[i]));
            out.put(sel, ips);
        }
        return out;
    }
}
