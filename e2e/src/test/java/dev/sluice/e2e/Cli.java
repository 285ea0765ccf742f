package dev.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.lab.Lab;
import dev.sluice.lab.LabEnv;
import dev.sluice.lab.Procs;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
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

    /**
     * Kills a lab node's agent with SIGKILL and starts it again exactly as the lab did (its command
     * line, in the node's namespace, appending to its log); returns once it answers {@code status}.
     */
    public static void restartAgent(String lab, String node) throws IOException, InterruptedException {
        startAgent(lab, node, killAgent(lab, node));
    }

    /** Kills a lab node's agent JVM with SIGKILL and waits until it is gone; returns its command line for {@link #startAgent}. */
    public static List<String> killAgent(String lab, String node) throws IOException, InterruptedException {
        String sock = "/run/sluice/labs/" + lab + "/nodes/" + node + "/agent.sock";
        var found = Procs.run(List.of("pgrep", "-f", "--", "--socket " + sock));
        long pid = Long.parseLong(found.stdout().strip().lines().findFirst().orElseThrow(() -> new AssertionError("no agent for " + sock)));
        List<String> cmdline = List.of(new String(Files.readAllBytes(Path.of("/proc/" + pid + "/cmdline")), StandardCharsets.UTF_8).split("\0"));
        Procs.check(List.of("kill", "-9", Long.toString(pid)));
        while (Files.exists(Path.of("/proc/" + pid))) TimeUnit.MILLISECONDS.sleep(50);
        return cmdline;
    }

    /** Starts a killed agent again exactly as the lab did (its command line, in the node's namespace, appending to its log). */
    public static void startAgent(String lab, String node, List<String> cmdline) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("setsid", "nsenter", "--net=/var/run/netns/sl-" + lab + "-" + node, "--"));
        cmd.addAll(cmdline);
        new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.appendTo(Path.of("/run/sluice/labs", lab, "logs", node + ".log").toFile()))
                .redirectErrorStream(true).start();
        long deadline = System.currentTimeMillis() + 60_000;
        while (!watching(sluice("status", "--name", lab, "--node", node, "-o", "json"))) {
            assertThat(System.currentTimeMillis()).as("agent of %s back and watching every kind within 60 s", node).isLessThan(deadline);
            TimeUnit.MILLISECONDS.sleep(300);
        }
    }

    /**
     * The agent answered and its Kubernetes source watches every kind: an object written before a
     * kind's watch is up was seen to be missed by a restarted agent (its {@code wait} then times out).
     */
    private static boolean watching(Run status) {
        if (status.exit() != 0) return false;
        JsonNode source = status.json().path("nodes").path(0).path("source");
        if (!source.path("kind").asString().equals("kubernetes")) return true;
        if (!source.path("synced").asBoolean() || source.path("kinds").isEmpty()) return false;
        for (JsonNode k : source.path("kinds")) if (!k.path("synced").asBoolean() || !k.path("watching").asBoolean()) return false;
        return true;
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
