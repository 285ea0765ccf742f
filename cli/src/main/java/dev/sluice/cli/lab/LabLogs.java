package dev.sluice.cli.lab;

import dev.sluice.BadInputException;
import dev.sluice.cli.Output;
import dev.sluice.lab.Lab;
import dev.sluice.lab.LabDir;
import dev.sluice.lab.LabNames;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * A lab process's log, as {@code kubectl logs} shows a container's: a pod's server (one line per
 * HTTP request it received: {@code http CLIENT METHOD PATH host=HOST}), a node's agent, the world's
 * server, the API server or the Hubble relay.
 */
@Command(name = "logs", mixinStandardHelpOptions = true,
        description = "Print the log of a pod's server (ns/name), a node's agent (node1...), world, apiserver or hubble-relay.")
final class LabLogs implements Callable<Integer> {
    @Mixin LabOptions lab;
    @Parameters(index = "0", paramLabel = "TARGET", description = "ns/pod, a node name, world, apiserver or hubble-relay") String target;
    @Option(names = "--tail", paramLabel = "N", description = "only the last N lines (default: all)") Integer tail;
    @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table (the log as it is) or json") String output;

    @Override public Integer call() throws IOException {
        String fmt = LabOptions.format(output);
        if (tail != null && tail < 0) throw new BadInputException("--tail: " + tail + " (expected: 0 or more lines)");
        Lab l = lab.lab();
        Path log = logOf(l, target);
        List<String> lines = Files.isRegularFile(log) ? Files.readAllLines(log, StandardCharsets.UTF_8) : List.of();
        if (tail != null && lines.size() > tail) lines = lines.subList(lines.size() - tail, lines.size());
        if (fmt.equals("json")) {
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("target", target);
            out.put("path", log.toString());
            out.put("lines", lines);
            Output.json(System.out, out);
        } else {
            lines.forEach(System.out::println);
        }
        return 0;
    }

    static Path logOf(Lab l, String target) {
        var st = l.state();
        LabDir dir = l.dir();
        if (target.equals(LabNames.WORLD)) return dir.worldLog();
        if (target.equals("apiserver")) return dir.apiServerLog();
        if (target.equals("hubble-relay")) return dir.relayLog();
        if (st.node(target).isPresent()) return dir.nodeLog(target);
        if (st.pods().containsKey(target)) return Path.of(st.pods().get(target).log());
        List<String> valid = new ArrayList<>();
        st.nodes().forEach(x -> valid.add(x.name()));
        valid.addAll(List.of(LabNames.WORLD, "apiserver", "hubble-relay"));
        valid.addAll(st.pods().keySet());
        throw new BadInputException("logs: " + target + " (expected one of: " + String.join(", ", valid) + ")");
    }
}
