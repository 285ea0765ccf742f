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
     * The system property {@code sluice.jar}; else the jar this class came from; else, when running
     * from a classes folder ({@code cli/<target>/classes}), the {@code sluice.jar} beside it; else
     * {@code <home>/cli/target/sluice.jar}.
     */
    static Path jar(Path home) {
        String p = System.getProperty("sluice.jar");
        if (p != null && !p.isBlank()) return Path.of(p).toAbsolutePath();
        try {
            var src = LabEnv.class.getProtectionDomain().getCodeSource();
            if (src != null) {
                Path loc = Path.of(src.getLocation().toURI());
                if (Files.isRegularFile(loc) && loc.toString().endsWith(".jar")) return loc;
                Path beside = loc.resolveSibling("sluice.jar");
                if (Files.isRegularFile(beside)) return beside;
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
