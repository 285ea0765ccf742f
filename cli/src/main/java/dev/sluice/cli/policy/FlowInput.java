package dev.sluice.cli.policy;

import dev.sluice.BadInputException;
import dev.sluice.agent.api.AgentClient;
import dev.sluice.agent.flow.FlowJson;
import dev.sluice.agent.hubble.ProtoFlows;
import dev.sluice.cli.AgentOptions;
import dev.sluice.cli.HubbleFlowStream;
import dev.sluice.cli.Output;
import dev.sluice.policy.flows.HubbleFlows;
import dev.sluice.policy.flows.RecordedFlow;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import tools.jackson.databind.JsonNode;

/**
 * Where {@code policy replay} and {@code policy suggest} take flows from: files of Hubble JSON
 * ({@code sluice observe -o json}, {@code hubble observe -o json}; {@code -} is stdin), a Hubble
 * Observer over gRPC ({@code --server}: an agent's or the relay's), or the agents' flow API (the
 * default: every node of the lab or the local agent), then or as they come ({@code --follow}).
 */
public final class FlowInput {
    @Option(names = "--flows", paramLabel = "FILE", description = "A file of Hubble JSON flows, one a line ('-': stdin); repeatable. Default: the agents' flows.")
    List<String> files = new ArrayList<>();
    @Mixin AgentOptions agents;
    @Option(names = "--server", description = "Read flows from a Hubble Observer over gRPC (an agent's or the relay's): unix:///path or HOST:PORT.")
    String server;
    @Option(names = "--since", description = "From the flow API: only flows since this time (RFC 3339, or 30s, 5m, 1h back).")
    String since;

    void check(boolean follow) {
        if (!files.isEmpty() && (server != null || since != null || follow))
            throw new BadInputException("--flows: given with " + (server != null ? "--server" : since != null ? "--since" : "--follow")
                    + " (expected: flows from files, or from the flow API)");
        if (since != null) dev.sluice.agent.flow.FlowFilter.since(since);
    }

    /** Every flow now recorded, in time order (files: in their order). */
    List<RecordedFlow> read() {
        check(false);
        List<RecordedFlow> out = new ArrayList<>();
        if (!files.isEmpty()) {
            for (String f : files) out.addAll(file(f));
            return out;
        }
        List<JsonNode> lines = new ArrayList<>();
        stream(false, lines::add);
        lines.sort(Comparator.comparing(l -> Instant.parse(l.path("time").asString(l.path("flow").path("time").asString()))));
        for (JsonNode l : lines) {
            RecordedFlow f = HubbleFlows.parse(l, where(l));
            if (f != null) out.add(f);
        }
        return out;
    }

    /** Flows as they come, until the source ends. */
    void follow(Consumer<RecordedFlow> sink) {
        check(true);
        stream(true, l -> {
            RecordedFlow f = HubbleFlows.parse(l, where(l));
            if (f != null) sink.accept(f);
        });
    }

    private static String where(JsonNode l) {
        JsonNode f = l.path("flow");
        return "flow " + f.path("node_name").asString(l.path("node_name").asString("?")) + "/" + f.path("uuid").asString("?");
    }

    static List<RecordedFlow> file(String name) {
        try {
            if (name.equals("-")) return HubbleFlows.read("stdin", new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)));
            try (BufferedReader r = Files.newBufferedReader(Path.of(name), StandardCharsets.UTF_8)) {
                return HubbleFlows.read(name, r);
            }
        } catch (NoSuchFileException e) {
            throw new BadInputException("--flows: " + name + ": no such file (expected: a file of Hubble JSON flows)");
        } catch (IOException | java.io.UncheckedIOException e) {
            throw new BadInputException("--flows: " + name + ": " + e.getMessage() + " (expected: a readable file of Hubble JSON flows)");
        }
    }

    private void stream(boolean follow, Consumer<JsonNode> sink) {
        Map<String, Object> params = new LinkedHashMap<>();
        if (since != null) params.put("since", since);
        params.put("follow", follow);
        params.put("number", 0);
        if (server != null) {
            grpc(params, sink);
            return;
        }
        List<Thread> threads = new ArrayList<>();
        Object lock = new Object();
        for (var t : agents.targets()) {
            Runnable r = () -> AgentClient.stream(t.socket(), "flows", params, line -> {
                if (line.has("heartbeat")) return true;
                if (line.has("status")) return false;
                synchronized (lock) {
                    sink.accept(line);
                }
                return true;
            });
            if (follow) threads.add(Thread.ofPlatform().daemon().start(r));
            else r.run();
        }
        for (Thread th : threads) {
            try {
                th.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private void grpc(Map<String, Object> params, Consumer<JsonNode> sink) {
        HubbleFlowStream.getFlows(server, params, r -> {
            if (r.hasFlow()) sink.accept(Output.JSON.valueToTree(FlowJson.response(ProtoFlows.fromProto(r.getFlow()))));
        });
    }
}
