package dev.sluice.cli.bpf;

import dev.sluice.cli.AgentOptions;
import dev.sluice.cli.AgentQuery;
import dev.sluice.BadInputException;
import dev.sluice.cli.Output;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import tools.jackson.databind.JsonNode;

/**
 * {@code sluice bpf lb list | lb maglev get SERVICE | ct list | nat list}: the service, conntrack and
 * NAT maps of each node, read by its agent (as {@code cilium bpf ...} shows them).
 */
public final class BpfLbCommands {
    private BpfLbCommands() {}

    /** Calls {@code method} on every target agent; JSON is {"nodes":[{"node":N,"result":R}]}. */
    @Command(name = "lb", description = "Service load-balancing maps.", subcommands = {Lb.List_.class, Lb.Maglev.class})
    public static final class Lb {
        @Command(name = "list", description = "Frontends -> backends (slot, backend id, address, pod).")
        public static final class List_ implements Callable<Integer> {
            @Mixin AgentOptions agents;
            @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table or json")
            String output;

            @Override public Integer call() {
                return AgentQuery.printPerNode(agents, output, "lb", Map.of(), (node, list) -> {
                    System.out.println("# node " + node);
                    List<List<String>> rows = new ArrayList<>();
                    rows.add(Output.row("SERVICE ADDRESS", "BACKEND ADDRESS (REVNAT_ID) (SLOT)", "TYPE/FLAGS", "SERVICE/POD"));
                    for (JsonNode f : list) {
                        List<String> flags = new ArrayList<>();
                        f.path("flags").forEach(x -> flags.add(x.asString()));
                        String fl = f.path("type").asString() + " " + String.join(" ", flags);
                        rows.add(Output.row(f.path("frontend").asString(), "0.0.0.0:0 (" + f.path("id").asInt() + ") (0)", fl, f.path("service").asString()));
                        for (JsonNode b : f.path("backends"))
                            rows.add(Output.row("", b.path("backend").asString() + " (" + f.path("id").asInt() + ") (" + b.path("slot").asInt() + ")",
                                    "id " + b.path("id").asInt(), b.path("pod").asString()));
                    }
                    Output.table(System.out, rows);
                });
            }
        }

        @Command(name = "maglev", description = "Maglev lookup tables.", subcommands = Maglev.Get.class)
        public static final class Maglev {
            private static final String LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

            @Command(name = "get", description = "The Maglev table of a Service's frontends, read from the kernel's inner maps.")
            public static final class Get implements Callable<Integer> {
                @Mixin AgentOptions agents;
                @Parameters(index = "0", paramLabel = "SERVICE", description = "namespace/name")
                String service;
                @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table or json")
                String output;

                @Override public Integer call() {
                    Output.format(output, "table", "json"); // a bad -o is named before a bad SERVICE
                    if (!service.matches("[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-a-z0-9]*[a-z0-9])?"))
                        throw new BadInputException("SERVICE: " + service + " (expected: namespace/name)");
                    return AgentQuery.printPerNode(agents, output, "maglev", Map.of("service", service), (node, res) -> {
                        for (JsonNode t : res.path("frontends")) {
                            System.out.printf("%s %s @%s id %d M=%d%n", service, t.path("frontend").asString(), node, t.path("id").asInt(),
                                    t.path("size").asInt());
                            Map<Integer, Character> letter = new LinkedHashMap<>();
                            int i = 0;
                            for (JsonNode b : t.path("backends")) {
                                char c = i < LETTERS.length() ? LETTERS.charAt(i) : '?';
                                letter.put(b.path("id").asInt(), c);
                                System.out.printf("  %c = id %d %s slots %d%n", c, b.path("id").asInt(), b.path("backend").asString(), b.path("slots").asInt());
                                i++;
                            }
                            JsonNode table = t.path("table");
                            if (table.isEmpty()) System.out.println("  (no table: the frontend has no backends or the algorithm is random)");
                            var sb = new StringBuilder();
                            for (int k = 0; k < table.size(); k++) {
                                if (k % 64 == 0) sb.append(k == 0 ? "  " : "\n  ");
                                sb.append(letter.getOrDefault(table.get(k).asInt(), '?'));
                            }
                            if (!sb.isEmpty()) System.out.println(sb);
                        }
                    });
                }
            }
        }
    }

    @Command(name = "ct", description = "Connection tracking.", subcommands = Ct.List_.class)
    public static final class Ct {
        @Command(name = "list", description = "Conntrack entries: protocol, tuple, hook, expiry, translation, flags.")
        public static final class List_ implements Callable<Integer> {
            @Mixin AgentOptions agents;
            @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table or json")
            String output;

            @Override public Integer call() {
                return AgentQuery.print(agents, output, "ct",
                        List.of("PROTO", "SOURCE", "DESTINATION", "DIR", "EXPIRES", "REVNAT", "BACKEND", "FLAGS", "PACKETS"),
                        e -> Output.row(e.path("proto").asString(), e.path("src").asString(), e.path("dst").asString(), e.path("dir").asString(),
                                e.path("expiresIn").asLong() + "s", e.path("revNatId").asInt(),
                                e.has("backend") ? e.path("backendId").asInt() + " " + e.path("backend").asString() : "-",
                                e.path("flags").asString().isEmpty() ? "-" : e.path("flags").asString(), e.path("packets").asLong()));
            }
        }
    }

    @Command(name = "nat", description = "Source NAT (masquerade, NodePort to another node).", subcommands = Nat.List_.class)
    public static final class Nat {
        @Command(name = "list", description = "NAT entries: out = leaving with the node's address, in = replies translated back.")
        public static final class List_ implements Callable<Integer> {
            @Mixin AgentOptions agents;
            @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table or json")
            String output;

            @Override public Integer call() {
                return AgentQuery.print(agents, output, "nat", List.of("PROTO", "DIR", "SOURCE", "DESTINATION", "TRANSLATED", "REVNAT", "EXPIRES"),
                        e -> Output.row(e.path("proto").asString(), e.path("dir").asString(), e.path("src").asString(), e.path("dst").asString(),
                                (e.path("dir").asString().equals("out") ? "src " : "dst ") + e.path("to").asString(), e.path("revNatId").asInt(),
                                e.path("expiresIn").asLong() + "s"));
            }
        }
    }
}
