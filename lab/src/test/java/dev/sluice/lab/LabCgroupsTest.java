package dev.sluice.lab;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How a lab process is born in its node's cgroup, without root: the command line only. */
class LabCgroupsTest {
    @Test void aCommandJoinsAnExistingCgroupBeforeItRuns(@TempDir Path cg) throws Exception {
        List<String> c = LabCgroups.joining(Optional.of(cg), List.of("sluice-pod", "probe", "10.96.0.10:80"));
        assertThat(c).containsExactly("sh", "-c", "echo 0 > \"$0\" && exec \"$@\"", cg.resolve("cgroup.procs").toString(),
                "sluice-pod", "probe", "10.96.0.10:80");
        // the shell writes its own pid, then becomes the command: run it against a plain file standing for cgroup.procs
        Files.writeString(cg.resolve("cgroup.procs"), "");
        Process p = new ProcessBuilder(LabCgroups.joining(Optional.of(cg), List.of("echo", "ran"))).start();
        assertThat(new String(p.getInputStream().readAllBytes())).isEqualTo("ran\n");
        assertThat(p.waitFor()).isZero();
        assertThat(Files.readString(cg.resolve("cgroup.procs"))).isEqualTo("0\n");
    }

    @Test void withoutACgroupOrWithAMissingOneTheCommandIsAsItIs() {
        List<String> cmd = List.of("sluice-pod", "serve");
        assertThat(LabCgroups.joining(Optional.empty(), cmd)).isEqualTo(cmd);
        assertThat(LabCgroups.joining(Optional.of(Path.of("/nonexistent/sluice-x-node1")), cmd)).isEqualTo(cmd);
    }

    @Test void aNodesCgroupIsNamedAfterItsLabUnderTheCgroup2Mount() {
        LabCgroups.node("ab", "node1").ifPresent(p -> {
            assertThat(p.getFileName().toString()).isEqualTo("sluice-ab-node1");
            // lab "a"'s prefix never takes lab "ab"'s cgroups: names have no '-'
            assertThat(p.getFileName().toString()).doesNotStartWith("sluice-a-");
        });
    }
}
