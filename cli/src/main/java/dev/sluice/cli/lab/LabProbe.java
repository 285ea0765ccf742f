package dev.sluice.cli.lab;

import dev.sluice.BadInputException;
import dev.sluice.cli.Output;
import dev.sluice.k8s.Protocol;
import dev.sluice.lab.LabEnv;
import dev.sluice.lab.Prober;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "probe", mixinStandardHelpOptions = true,
        description = "Real connections from every pod to every pod: the live reachability matrix.")
final class LabProbe implements Callable<Integer> {
    @Mixin LabOptions lab;
    @Option(names = "--port", defaultValue = "80", description = "Destination port (default: ${DEFAULT-VALUE}).") int port;
    @Option(names = "--protocol", defaultValue = "TCP", description = "TCP or UDP (default: ${DEFAULT-VALUE}).") String protocol;
    @Option(names = "--via", defaultValue = "pod", description = "pod (pod IPs) or service (the ClusterIP of a Service selecting only the destination).") String via;
    @Option(names = "--timeout", defaultValue = "1s", description = "Per connection, e.g. 1s, 500ms (default: ${DEFAULT-VALUE}).") String timeout;
    @Option(names = {"-o", "--output"}, defaultValue = "table", description = "json or table.") String output;

    @Override public Integer call() {
        String fmt = LabOptions.format(output);
        if (port < 1 || port > 65535) throw new BadInputException("--port: " + port + " (expected: 1-65535)");
        Protocol proto = switch (protocol.toUpperCase()) {
            case "TCP" -> Protocol.TCP;
            case "UDP" -> Protocol.UDP;
            default -> throw new BadInputException("--protocol: " + protocol + " (expected one of: TCP, UDP)");
        };
        if (!via.equals("pod") && !via.equals("service")) throw new BadInputException("--via: " + via + " (expected one of: pod, service)");
        long ms = LabOptions.durationMs("--timeout", timeout);
        var m = new Prober(LabEnv.detect()).run(lab.lab(), port, proto, via.equals("service"), ms);
        if (fmt.equals("json")) Output.json(System.out, m);
        else Output.table(System.out, Prober.table(m));
        return 0;
    }
}
