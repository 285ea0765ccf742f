package dev.sluice.cli.bpf;

import picocli.CommandLine.Command;

/** {@code sluice bpf ...}: the kernel's view, read from each agent's maps. */
@Command(name = "bpf", description = "Show what is programmed in the kernel's maps, per node.",
        subcommands = {
                BpfMetricsCommand.class,
                BpfIpcacheCommand.class,
                BpfPolicyCommand.class,
                BpfLbCommands.Lb.class,
                BpfLbCommands.Ct.class,
                BpfLbCommands.Nat.class,
                BpfL2Command.class,
        })
public final class BpfCommand {}
