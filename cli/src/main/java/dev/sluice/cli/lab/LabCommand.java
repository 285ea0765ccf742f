package dev.sluice.cli.lab;

import picocli.CommandLine.Command;

/** {@code sluice lab}: a whole cluster network in network namespaces on this host. */
@Command(name = "lab", mixinStandardHelpOptions = true,
        description = "A multi-node cluster network in network namespaces on this host (needs root).",
        subcommands = {LabUp.class, LabDown.class, LabGet.class, LabExec.class, LabApply.class, LabDelete.class,
                LabLabel.class, LabProbe.class, LabKubectl.class, LabApiServerCommand.class, LabUi.class, LabLogs.class, LabDnsCommand.class})
public final class LabCommand {
}
