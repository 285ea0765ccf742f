package dev.sluice.lab;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.cli.Main;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Argument validation of the lab commands: all of it fails before anything is made (no root needed). */
class LabCommandTest {
    @TempDir Path root;
    final ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream oldErr;

    @BeforeEach void setUp() {
        System.setProperty("sluice.lab.root", root.toString());
        oldErr = System.err;
        System.setErr(new PrintStream(err, true));
    }

    @AfterEach void tearDown() {
        System.setErr(oldErr);
        System.clearProperty("sluice.lab.root");
    }

    int run(String... args) { return Main.run(args); }

    @Test void badLabNameIsExit2() {
        assertThat(run("lab", "up", "--name", "Bad-Name")).isEqualTo(2);
        assertThat(err.toString()).contains("--name: \"Bad-Name\" (expected: 1-8 characters a-z, 0-9");
        assertThat(run("lab", "down", "--name", "waytoolong")).isEqualTo(2);
        assertThat(run("lab", "get", "pods", "--name", "a_b")).isEqualTo(2);
    }

    @Test void badNodesRoutingValuesAndManifestsAreExit2BeforeAnythingIsMade() throws Exception {
        assertThat(run("lab", "up", "--name", "zq1", "--nodes", "0")).isEqualTo(2);
        assertThat(run("lab", "up", "--name", "zq1", "--nodes", "17")).isEqualTo(2);
        assertThat(run("lab", "up", "--name", "zq1", "--routing", "bgp")).isEqualTo(2);
        assertThat(err.toString()).contains("--routing: bgp (expected one of: native, tunnel)");
        Path values = root.resolve("v.yaml");
        java.nio.file.Files.writeString(values, "routingMode: carrier-pigeon\n");
        assertThat(run("lab", "up", "--name", "zq1", "--values", values.toString())).isEqualTo(2);
        assertThat(err.toString()).contains("routingMode");
        Path bad = root.resolve("bad.yaml");
        java.nio.file.Files.writeString(bad, "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: c, ports: [{containerPort: 0}]}]}\n");
        assertThat(run("lab", "up", "--name", "zq1", "-f", bad.toString())).isEqualTo(2);
        assertThat(err.toString()).contains("containerPort: 0 (expected: 1-65535)");
        assertThat(run("lab", "up", "--name", "zq1", "-f", root.resolve("missing.yaml").toString())).isEqualTo(2);
        assertThat(root.resolve("zq1")).doesNotExist();
    }

    @Test void commandsOnAMissingLabAreExit2() {
        assertThat(run("lab", "get", "pods", "--name", "zq2")).isEqualTo(2);
        assertThat(err.toString()).contains("lab zq2 does not exist (expected: `sluice lab up --name zq2` first)");
        assertThat(run("lab", "exec", "--name", "zq2", "world", "--", "true")).isEqualTo(2);
        assertThat(run("lab", "label", "--name", "zq2", "pod", "x/a", "a=b")).isEqualTo(2);
        assertThat(root.resolve("zq2")).doesNotExist();
    }

    @Test void badOutputProbeAndGetArgumentsAreExit2() {
        assertThat(run("lab", "get", "pods", "--name", "zq3", "-o", "yaml")).isEqualTo(2);
        assertThat(run("lab", "get", "deployments", "--name", "zq3")).isEqualTo(2);
        assertThat(run("lab", "probe", "--name", "zq3", "--port", "0")).isEqualTo(2);
        assertThat(run("lab", "probe", "--name", "zq3", "--protocol", "SCTP")).isEqualTo(2);
        assertThat(run("lab", "probe", "--name", "zq3", "--via", "node")).isEqualTo(2);
        assertThat(run("lab", "probe", "--name", "zq3", "--timeout", "soon")).isEqualTo(2);
        assertThat(err.toString()).contains("--timeout: soon (expected: a duration such as 1s, 500ms, 1.5s)");
        assertThat(run("lab", "label", "--name", "zq3", "service", "x/a", "a=b")).isEqualTo(2);
    }

    @Test void downOfNothingSaysSoAndSucceeds() {
        assertThat(run("lab", "down", "--name", "zq4")).isZero();
        assertThat(err.toString()).contains("lab zq4: nothing to remove");
    }
}
