package dev.sluice.lab;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where the programs a lab runs come from: the repository ({@code sluice.home}), the CLI jar the
 * agents run (the one this code was loaded from, so a build in another target folder starts agents
 * of the same build), the JDK running this CLI, and the C tools in build/bin.
 */
public record LabEnv(Path home, Path jar, Path java) {

    public static LabEnv detect() {
        String h = System.getProperty("sluice.home");
        Path home = (h == null || h.isBlank() ? Path.of("") : Path.of(h)).toAbsolutePath().normalize();
        return new LabEnv(home, jar(home), Path.of(System.getProperty("java.home"), "bin", "java"));
    }

    /**
     * The system property {@code sluice.jar}; else the CLI jar this class was loaded beside (this
     * module's jar is in the CLI jar's {@code lib/}); else {@code <home>/cli/target/sluice.jar}.
     */
    static Path jar(Path home) {
        String p = System.getProperty("sluice.jar");
        if (p != null && !p.isBlank()) return Path.of(p).toAbsolutePath();
        try {
            var src = LabEnv.class.getProtectionDomain().getCodeSource();
            if (src != null) {
                Path loc = Path.of(src.getLocation().toURI());
                // the CLI's jar keeps this module's jar in lib/ beside it
                if (Files.isRegularFile(loc) && loc.getParent() != null && loc.getParent().getFileName().toString().equals("lib")) {
                    Path cli = loc.getParent().resolveSibling("sluice.jar");
                    if (Files.isRegularFile(cli)) return cli;
                }
                if (Files.isRegularFile(loc) && loc.getFileName().toString().equals("sluice.jar")) return loc;
            }
        } catch (URISyntaxException | SecurityException | IllegalArgumentException ignored) {
            // fall through to the default location
        }
        return home.resolve("cli/target/sluice.jar");
    }

    public Path bin(String name) { return home.resolve("build/bin").resolve(name); }
    public Path cni() { return bin("sluice-cni"); }
    public Path podTool() { return bin("sluice-pod"); }

    /** What is missing to run a lab (the CNI plugin only when pods are to be made), or null when everything is there. */
    public String missing(boolean needCni) {
        for (Path p : needCni ? new Path[] {cni(), podTool()} : new Path[] {podTool()})
            if (!Files.isExecutable(p)) return p + " is missing (expected: built by `make build`)";
        if (!Files.isRegularFile(jar)) return jar + " is missing (expected: built by `make build`)";
        if (!Files.isExecutable(java)) return java + " is missing (expected: a JDK 25)";
        return null;
    }
}
