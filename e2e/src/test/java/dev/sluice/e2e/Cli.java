package dev.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.lab.Lab;
import dev.sluice.lab.LabEnv;
import dev.sluice.lab.Procs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** Runs {@code sluice} as a user does: a separate JVM from the packaged jar. For the lab tests. */
public final class Cli {
    public static final JsonMapper JSON = JsonMapper.builder().build();

    public record Run(int exit, String out, String err) {
        public JsonNode json() { return JSON.readTree(out); }

        public Run ok() {
            assertThat(exit).as("exit code; stderr: %s", err).isZero();
            return this;
        }
    }

    private Cli() {}

    public static Path home() { return Path.of(System.getProperty("sluice.home", "")).toAbsolutePath(); }

    public static void requireRoot() {
        if (!"root".equals(System.getProperty("user.name")))
            throw new IllegalStateException("the lab tests need root (run 'make test' as root)");
    }

    public static Run sluice(String... args) {
        Path jar = LabEnv.detect().jar();
        if (!Files.isRegularFile(jar)) throw new IllegalStateException(jar + " is missing (expected: the packaged jar; run 'make test')");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-XX:TieredStopAtLevel=1", "-Dsluice.home=" + home(), "-jar", jar.toString()));
        cmd.addAll(List.of(args));
        try {
            Path out = Files.createTempFile("sluice-it", ".out"), err = Files.createTempFile("sluice-it", ".err");
            try {
                Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
                if (!p.waitFor(300, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    throw new AssertionError("sluice " + String.join(" ", args) + " did not finish in 300 s");
                }
                return new Run(p.exitValue(), Files.readString(out), Files.readString(err));
            } finally {
                Files.deleteIfExists(out);
                Files.deleteIfExists(err);
            }
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Links, addresses, routes and forwarding of the root namespace: nothing a test does may change them. */
    public static String rootNamespace() {
        return Procs.check(List.of("ip", "-o", "link", "show")).stdout().replaceAll("\\s+", " ").replaceAll("link/\\S+ \\S+ brd \\S+", "")
                .lines().map(l -> l.replaceAll("^\\d+: ", "").split(":")[0]).sorted().toList()
                + Procs.check(List.of("ip", "-o", "addr", "show")).stdout()
                + Procs.check(List.of("ip", "route", "show", "table", "all")).stdout()
                + Procs.check(List.of("sysctl", "net.ipv4.ip_forward", "net.ipv4.conf.all.rp_filter")).stdout();
    }

    /** Runs a command inside a lab target (ns/pod, node or world). */
    public static Run exec(String lab, String target, String... cmd) {
        List<String> a = new ArrayList<>(List.of("lab", "exec", "--name", lab, target, "--"));
        a.addAll(List.of(cmd));
        return sluice(a.toArray(String[]::new));
    }

    /** Removes a lab whatever state it is in; for @AfterAll. */
    public static void down(String lab) {
        try {
            new Lab(lab, LabEnv.detect(), s -> { }).down();
        } catch (RuntimeException e) {
            System.err.println("teardown of lab " + lab + ": " + e.getMessage());
        }
    }
}
