package dev.sluice.lab;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.SerializationFeature;
import tools.jackson.databind.json.JsonMapper;

/**
 * What a lab is made of, as saved in {@code lab.json}: enough for {@code lab down} to remove it and
 * for the other commands to find namespaces, sockets and processes. Pids are 0 until started.
 *
 * @param pods pod key ({@code ns/name}) to its sandbox, sorted by key
 */
public record LabState(String name, String routing, String valuesFile, String manifestsDir,
                       List<NodeState> nodes, WorldState world, Map<String, PodState> pods) {

    public record NodeState(String name, String netns, String ip, String podCIDR, String socket, String stateDir,
                            String bpffs, String log, long agentPid) {
        public NodeState withAgentPid(long pid) {
            return new NodeState(name, netns, ip, podCIDR, socket, stateDir, bpffs, log, pid);
        }
    }

    /**
     * The world namespace: its echo server and, unless the lab keeps its state in a manifest
     * directory, the lab's API server ({@code apiServer} its URL, empty otherwise).
     */
    public record WorldState(String netns, String ip, long serverPid, String apiServer, long apiServerPid) {
        public WorldState {
            if (apiServer == null) apiServer = "";
        }

        public WorldState withServer(long pid) { return new WorldState(netns, ip, pid, apiServer, apiServerPid); }

        public WorldState withApiServer(String url, long pid) { return new WorldState(netns, ip, serverPid, url, pid); }
    }

    /** A pod's sandbox: its namespace, node, address and server. */
    public record PodState(String pod, String netns, String node, String ip, String containerId, String log,
                           long serverPid) {}

    static final JsonMapper JSON = JsonMapper.builder()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();

    public LabState {
        nodes = List.copyOf(nodes);
        pods = java.util.Collections.unmodifiableMap(new TreeMap<>(pods));
    }

    public Optional<NodeState> node(String nodeName) {
        return nodes.stream().filter(n -> n.name().equals(nodeName)).findFirst();
    }

    public LabState withNode(NodeState n) {
        List<NodeState> l = new ArrayList<>(nodes);
        l.replaceAll(x -> x.name().equals(n.name()) ? n : x);
        return new LabState(name, routing, valuesFile, manifestsDir, l, world, pods);
    }

    public LabState withWorld(WorldState w) {
        return new LabState(name, routing, valuesFile, manifestsDir, nodes, w, pods);
    }

    public LabState withPod(PodState p) {
        var m = new TreeMap<>(pods);
        m.put(p.pod(), p);
        return new LabState(name, routing, valuesFile, manifestsDir, nodes, world, m);
    }

    public LabState withoutPod(String podKey) {
        var m = new TreeMap<>(pods);
        m.remove(podKey);
        return new LabState(name, routing, valuesFile, manifestsDir, nodes, world, m);
    }

    /** Every pid this lab started that is recorded here. */
    public List<Long> pids() {
        List<Long> out = new ArrayList<>();
        nodes.forEach(n -> { if (n.agentPid() > 0) out.add(n.agentPid()); });
        if (world != null && world.serverPid() > 0) out.add(world.serverPid());
        if (world != null && world.apiServerPid() > 0) out.add(world.apiServerPid());
        pods.values().forEach(p -> { if (p.serverPid() > 0) out.add(p.serverPid()); });
        return out;
    }

    public String toJson() { return JSON.writeValueAsString(this); }

    public static LabState fromJson(String text) { return JSON.readValue(text, LabState.class); }

    /** Writes atomically (temp file + rename), so a reader never sees half a file. */
    public void save(Path file) {
        try {
            Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
            Files.writeString(tmp, toJson());
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    /** Reads {@code lab.json}; empty when it is missing or unreadable (a crashed {@code up}). */
    public static Optional<LabState> load(Path file) {
        try {
            return Optional.of(fromJson(Files.readString(file)));
        } catch (IOException | JacksonException e) {
            return Optional.empty();
        }
    }
}
