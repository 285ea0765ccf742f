package dev.sluice.cli;

import dev.sluice.BadInputException;
import dev.sluice.k8s.ManifestException;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code sluice} command. Exit codes: 0 success, 1 failure, 2 bad input (usage, manifests,
 * values); every error is one line on stderr naming the file, field or value and what was expected.
 */
@Command(name = "sluice", mixinStandardHelpOptions = true, version = "sluice 0.1.0",
        description = "Sluice: a Kubernetes network data plane (eBPF), its agent, offline tools and lab.")
public final class Main {
    /** The subcommands, in the order the usage lists them. */
    static final List<Class<?>> SUBCOMMANDS = List.of(
            AgentCommand.class,
            StatusCommand.class,
            EndpointCommand.class,
            IdentityCommand.class,
            MonitorCommand.class,
            ObserveCommand.class,
            ProxyCommand.class,
            FqdnCommand.class,
            HubbleRelayCommand.class,
            dev.sluice.cli.bpf.BpfCommand.class,
            dev.sluice.cli.lab.LabCommand.class,
            dev.sluice.cli.policy.PolicyCommand.class,
            dev.sluice.cli.service.ServiceCommand.class,
            dev.sluice.cli.audit.AuditCommand.class,
            dev.sluice.cli.connectivity.ConnectivityCommand.class,
            dev.sluice.cli.bench.BenchCommand.class);

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /**
     * Every command gets -h/--help; a command group run without a subcommand shows its usage
     * and exits 2, since a subcommand is missing.
     */
    private static void withHelp(CommandLine cl) {
        cl.getCommandSpec().mixinStandardHelpOptions(true);
        for (CommandLine sub : cl.getSubcommands().values()) withHelp(sub);
    }

    /**
     * The command tree for {@code args}: only the named subcommand's when the first argument names
     * one (picocli's model of every command is a few MiB that a long-running agent or relay would
     * keep for its lifetime), every subcommand otherwise (usage, version, an unknown name).
     */
    static CommandLine tree(String... args) {
        var cl = new CommandLine(new Main());
        String first = args.length == 0 ? "" : args[0];
        List<Class<?>> named = SUBCOMMANDS.stream().filter(c -> c.getAnnotation(Command.class).name().equals(first)).toList();
        for (Class<?> c : named.isEmpty() ? SUBCOMMANDS : named) cl.addSubcommand(c);
        return cl;
    }

    /** Runs the command line and returns the exit code (tests call this). */
    public static int run(String... args) {
        var cl = tree(args);
        withHelp(cl);
        cl.setExecutionStrategy(parsed -> {
            CommandLine last = parsed.asCommandLineList().getLast();
            Object user = last.getCommandSpec().userObject();
            if (!(user instanceof Runnable) && !(user instanceof java.util.concurrent.Callable<?>) && !last.getSubcommands().isEmpty()
                    && !parsed.isUsageHelpRequested() && !parsed.isVersionHelpRequested() && !last.isUsageHelpRequested()) {
                System.err.println(last.getCommandSpec().qualifiedName() + ": missing subcommand (expected one of: "
                        + String.join(", ", last.getSubcommands().keySet()) + ")");
                last.usage(System.err);
                return 2;
            }
            return new CommandLine.RunLast().execute(parsed);
        });
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            Throwable t = ex;
            while ((t instanceof java.util.concurrent.CompletionException || t instanceof java.util.concurrent.ExecutionException) && t.getCause() != null)
                t = t.getCause();
            if (t instanceof ManifestException || t instanceof BadInputException) {
                System.err.println("sluice: " + t.getMessage());
                return 2;
            }
            String msg = t.getMessage() == null ? t.toString() : t.getMessage();
            System.err.println("sluice: " + msg.lines().findFirst().orElse(msg));
            if (System.getenv("SLUICE_DEBUG") != null) t.printStackTrace();
            return 1;
        });
        cl.setParameterExceptionHandler((ex, a) -> {
            System.err.println("sluice: " + ex.getMessage().lines().findFirst().orElse("") + " (see: " + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help)");
            return 2;
        });
        return cl.execute(args);
    }
}
