package dev.sluice.lab;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Running programs: to completion with captured output, or detached so they outlive the CLI. */
public final class Procs {
    private Procs() {}

    /** The outcome of a finished command. */
    public record Result(List<String> command, int exit, String stdout, String stderr) {
        public boolean ok() { return exit == 0; }

        /** One line: the command and the first line of what it said. */
        public String describe() {
            String said = !stderr.isBlank() ? stderr.strip() : stdout.strip();
            said = said.lines().findFirst().orElse("");
            return "`" + String.join(" ", command) + "` exited " + exit + (said.isEmpty() ? "" : ": " + said);
        }
    }

    /** A command that failed; the message names it and its stderr. */
    public static final class CommandException extends RuntimeException {
        public CommandException(String message) { super(message); }
    }

    /** Runs {@code command} (stdin from {@code stdin} or empty) and waits at most {@code timeoutMs}. */
    public static Result run(List<String> command, Map<String, String> env, String stdin, long timeoutMs) {
        var pb = new ProcessBuilder(command);
        if (env != null) pb.environment().putAll(env);
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new CommandException("cannot run `" + String.join(" ", command) + "`: " + e.getMessage());
        }
        var out = CompletableFuture.supplyAsync(() -> readAll(p.getInputStream()));
        var err = CompletableFuture.supplyAsync(() -> readAll(p.getErrorStream()));
        try (var in = p.getOutputStream()) {
            if (stdin != null) in.write(stdin.getBytes(StandardCharsets.UTF_8));
        } catch (IOException ignored) {
            // the program closed its stdin early; its exit status says what happened
        }
        try {
            if (!p.waitFor(timeoutMs, TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
                throw new CommandException("`" + String.join(" ", command) + "` did not finish within " + timeoutMs + " ms");
            }
            return new Result(List.copyOf(command), p.exitValue(), out.join(), err.join());
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new CommandException("interrupted while running `" + String.join(" ", command) + "`");
        }
    }

    public static Result run(List<String> command) { return run(command, null, null, 30_000); }

    /** Runs and throws {@link CommandException} naming the command and its stderr unless it exits 0. */
    public static Result check(List<String> command) {
        Result r = run(command);
        if (!r.ok()) throw new CommandException(r.describe());
        return r;
    }

    private static String readAll(java.io.InputStream in) {
        try (in) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Starts {@code command} in its own session ({@code setsid}) so it is not killed with the CLI's
     * process group; stdin is /dev/null, stdout and stderr append to {@code log}. Returns its pid
     * (setsid execs, it does not fork, as the child of the JVM is no group leader).
     */
    public static long startDetached(List<String> command, Map<String, String> env, Path log) {
        List<String> cmd = new ArrayList<>();
        cmd.add("setsid");
        cmd.addAll(command);
        var pb = new ProcessBuilder(cmd);
        if (env != null) pb.environment().putAll(env);
        pb.redirectInput(new File("/dev/null"));
        pb.redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.redirectErrorStream(true);
        try {
            Files.createDirectories(log.getParent());
            return pb.start().pid();
        } catch (IOException e) {
            throw new CommandException("cannot start `" + String.join(" ", cmd) + "`: " + e.getMessage());
        }
    }

    public static boolean alive(long pid) {
        return pid > 0 && ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    /** The command line of a live process, or empty. */
    public static Optional<String> cmdline(long pid) {
        try {
            byte[] b = Files.readAllBytes(Path.of("/proc/" + pid + "/cmdline"));
            return Optional.of(new String(b, StandardCharsets.UTF_8).replace('\0', ' ').strip());
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** The network namespace of a live process as {@code net:[inode]}, or empty. */
    public static Optional<String> netns(long pid) {
        try {
            return Optional.of(Files.readSymbolicLink(Path.of("/proc/" + pid + "/ns/net")).toString());
        } catch (IOException | UnsupportedOperationException e) {
            return Optional.empty();
        }
    }

    /** SIGTERM, then SIGKILL for whatever is still alive after {@code graceMs}. */
    public static void kill(List<Long> pids, long graceMs) {
        List<ProcessHandle> live = new ArrayList<>();
        for (long pid : pids) ProcessHandle.of(pid).filter(ProcessHandle::isAlive).ifPresent(h -> { h.destroy(); live.add(h); });
        long deadline = System.currentTimeMillis() + graceMs;
        for (ProcessHandle h : live) {
            long left = deadline - System.currentTimeMillis();
            try {
                if (left > 0) h.onExit().get(left, TimeUnit.MILLISECONDS);
            } catch (Exception ignored) {
                // still alive: killed below
            }
            if (h.isAlive()) h.destroyForcibly();
        }
        for (ProcessHandle h : live) {
            try {
                h.onExit().get(2, TimeUnit.SECONDS);
            } catch (Exception ignored) {
                // a process stuck in the kernel; nothing more to do from here
            }
        }
    }

    /** The last {@code n} lines of a file, or a note that it cannot be read. */
    public static String tail(Path file, int n) {
        try {
            List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            return String.join(" | ", lines.subList(Math.max(0, lines.size() - n), lines.size()));
        } catch (IOException | UncheckedIOException e) {
            return "(no log at " + file + ")";
        }
    }
}
