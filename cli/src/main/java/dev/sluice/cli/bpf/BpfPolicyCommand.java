package dev.sluice.cli.bpf;

import dev.sluice.agent.api.AgentClient;
import dev.sluice.cli.AgentOptions;
import dev.sluice.BadInputException;
import dev.sluice.cli.Output;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import tools.jackson.databind.JsonNode;

/** {@code sluice bpf policy get ns/pod}: the pod's policy map as the kernel holds it. */
@Command(name = "policy", description = "Per-endpoint policy maps.", subcommands = BpfPolicyCommand.Get.class)
public final class BpfPolicyCommand {
    @Command(name = "get", description = "Show a pod's policy map entries, with the rules behind each.")
    static final class Get implements Callable<Integer> {
        @Mixin AgentOptions agents;
        @Parameters(paramLabel = "ns/pod") String pod;
        @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table or json") String output;

        @Override public Integer call() {
            String fmt = Output.format(output, "table", "json");
            if (!pod.matches("[a-z0-9-]+/[a-z0-9.-]+")) throw new BadInputException("pod: " + pod + " (expected: namespace/name)");
            for (var t : agents.targets()) {
                JsonNode r = AgentClient.call(t.socket(), "policy", Map.of("pod", pod));
                if (r == null || r.isNull()) continue;
                if (fmt.equals("json")) {
                    Output.json(System.out, r);
                    return 0;
                }
                System.out.printf("%s on %s (endpoint %d, identity %d): ingress %s, egress %s%s%s%n", pod, r.path("node").asString(),
                        r.path("endpoint").asInt(), r.path("identity").asLong(), r.path("ingressEnforced").asBoolean() ? "enforced" : "open",
                        r.path("egressEnforced").asBoolean() ? "enforced" : "open", r.path("audit").asBoolean() ? ", audit mode" : "",
                        r.path("pending").asBoolean() ? ", POLICY PENDING (drops all)" : r.path("overflow").asBoolean() ? ", POLICY MAP FULL (drops all)" : "");
                List<List<String>> rows = new ArrayList<>();
                rows.add(Output.row("DIRECTION", "IDENTITY", "PEER", "L4", "VERDICT", "RULES"));
                for (JsonNode e : r.path("entries"))
                    rows.add(Output.row(e.path("direction").asString(), e.path("identity").asLong(), e.path("peer").asString(),
                            e.path("l4").asString(), e.path("verdict").asString(),
                            String.join("; ", e.path("rules").valueStream().map(x -> x.asString()).toList())));
                Output.table(System.out, rows);
                if (!r.path("cidrs").isEmpty()) {
                    List<List<String>> c = new ArrayList<>();
                    c.add(Output.row("DIRECTION", "CIDR", "CIDR-SET-IDENTITY"));
                    for (JsonNode e : r.path("cidrs")) c.add(Output.row(e.path("direction").asString(), e.path("cidr").asString(), e.path("identity").asLong()));
                    System.out.println();
                    Output.table(System.out, c);
                }
                return 0;
            }
            throw new BadInputException("pod: " + pod + " (expected: a pod with an endpoint on one of the nodes)");
        }
    }
}
