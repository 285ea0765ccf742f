package dev.sluice.cli;

import dev.sluice.BadInputException;
import dev.sluice.agent.api.AgentClient;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicInteger;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import tools.jackson.databind.JsonNode;

/** {@code sluice monitor}: drops (and audit verdicts) as they happen, from every targeted node. */
@Command(name = "monitor", description = "Stream data path events: drops with source, destination, identity, port, reason and direction.")
public final class MonitorCommand implements Callable<Integer> {
    @Mixin AgentOptions agents;
    @Option(names = "--type", defaultValue = "all", description = "drop, audit or all (default: ${DEFAULT-VALUE})")
    String type;
    @Option(names = {"-o", "--output"}, defaultValue = "text", description = "text or json (one object per line)")
    String output;
    @Option(names = "--count", defaultValue = "0", description = "Stop after this many events (0: until interrupted).")
    int count;

    @Override public Integer call() throws InterruptedException {
        String fmt = Output.format(output, "text", "json");
        if (!List.of("drop", "audit", "all").contains(type)) throw new BadInputException("--type: " + type + " (expected one of: drop, audit, all)");
        AtomicInteger seen = new AtomicInteger();
        List<Thread> threads = new ArrayList<>();
        Object lock = new Object();
        for (var t : agents.targets()) {
            threads.add(Thread.ofPlatform().daemon().start(() -> AgentClient.stream(t.socket(), "monitor", Map.of("type", type), ev -> {
                if (ev.path("type").asString().equals("heartbeat")) return count == 0 || seen.get() < count;
                synchronized (lock) {
                    if (count > 0 && seen.get() >= count) return false;
                    System.out.println(fmt.equals("json") ? ev.toString() : text(ev));
                    System.out.flush();
                    return count == 0 || seen.incrementAndGet() < count;
                }
            })));
        }
        for (Thread th : threads) th.join();
        return 0;
    }

    static String text(JsonNode e) {
        String dir = e.path("direction").asString();
        return String.format("%s %s %s: %s%s %s -> %s %s", e.path("time").asString(), e.path("node").asString(),
                e.path("type").asString().toUpperCase(), e.path("reason").asString(), dir.isEmpty() ? "" : " (" + dir + ")",
                peer(e.path("source")), peer(e.path("destination")), e.path("protocol").asString());
    }

    static String peer(JsonNode p) {
        String pod = p.path("pod").asString();
        return (pod.isEmpty() ? "" : pod + " ") + p.path("ip").asString() + ":" + p.path("port").asInt() + " [identity " + p.path("identity").asLong() + "]";
    }
}
