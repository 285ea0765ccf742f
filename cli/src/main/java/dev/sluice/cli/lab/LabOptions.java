package dev.sluice.cli.lab;

import dev.sluice.BadInputException;
import dev.sluice.cli.Output;
import dev.sluice.lab.Lab;
import dev.sluice.lab.LabEnv;
import dev.sluice.lab.LabNames;
import picocli.CommandLine.Option;

/** Options every lab command takes. */
public final class LabOptions {
    @Option(names = "--name", defaultValue = LabNames.DEFAULT_LAB, paramLabel = "N",
            description = "Lab name: 1-8 characters a-z, 0-9 (default: ${DEFAULT-VALUE}).")
    String name;

    /** The lab, after validating its name; progress lines go to stderr. */
    Lab lab() {
        return new Lab(LabNames.validateLab(name), LabEnv.detect(), line -> System.err.println(line));
    }

    static String format(String o) { return Output.format(o, "json", "table"); }

    /** Parses 1s, 500ms, 1.5s, 2m into milliseconds. */
    static long durationMs(String option, String d) {
        var m = java.util.regex.Pattern.compile("(\\d+(?:\\.\\d+)?)(ms|s|m)").matcher(d.strip());
        if (!m.matches()) throw new BadInputException(option + ": " + d + " (expected: a duration such as 1s, 500ms, 1.5s)");
        double v = Double.parseDouble(m.group(1));
        long ms = Math.round(switch (m.group(2)) { case "ms" -> v; case "s" -> v * 1000; default -> v * 60_000; });
        if (ms < 1 || ms > 600_000) throw new BadInputException(option + ": " + d + " (expected: 1ms-10m)");
        return ms;
    }
}
