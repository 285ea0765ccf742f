package dev.sluice.agent.flow;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Golden files under src/test/resources; -Dgolden.update=true rewrites them (then review the diff). */
final class Golden {
    private Golden() {}

    static void check(String name, String got) throws IOException {
        Path p = Path.of(System.getProperty("sluice.home", "."), "agent/src/test/resources", name);
        if (Boolean.getBoolean("golden.update") || !Files.exists(p)) {
            Files.createDirectories(p.getParent());
            Files.writeString(p, got);
            if (!Boolean.getBoolean("golden.update")) throw new AssertionError(p + " did not exist: written, review it and run again");
        }
        assertThat(got).isEqualTo(Files.readString(p));
    }
}
