package dev.sluice.lab;

import dev.sluice.k8s.ContainerPort;
import dev.sluice.k8s.Protocol;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The lab's kubelet: calls the CNI plugin exactly as a container runtime does (CNI 1.1: environment
 * variables and the network configuration on stdin, run in the node's namespace) and runs each
 * pod's echo server ({@code sluice-pod serve}) inside the pod's namespace.
 */
public final class Kubelet {
    static final JsonMapper JSON = JsonMapper.builder().build();
    static final long CNI_TIMEOUT_MS = 120_000;
    static final long READY_TIMEOUT_MS = 15_000;
    private final LabEnv env;
    private final LabDir dir;

    public Kubelet(LabEnv env, LabDir dir) {
        this.env = env;
        this.dir = dir;
    }

    /** A CNI call failed; the message carries the plugin's msg and details. */
    public static final class CniException extends RuntimeException {
        /** The CNI error code, 0 when the plugin printed no error object. */
        public final int code;

        public CniException(String message) { this(message, 0); }

        public CniException(String message, int code) {
            super(message);
            this.code = code;
        }

        /** Invalid environment, content or configuration, or an exhausted pod CIDR: the request, not the system. */
        public boolean badInput() { return code == 4 || code == 6 || code == 7 || code == 100; }
    }

    /** The environment a runtime gives the plugin. */
    public Map<String, String> cniEnv(String command, String podKey, String podNetns, String containerId) {
        String[] nsName = podKey.split("/", 2);
        Map<String, String> e = new LinkedHashMap<>();
        e.put("CNI_COMMAND", command);
        e.put("CNI_CONTAINERID", containerId);
        e.put("CNI_NETNS", LabNet.netnsPath(podNetns));
        e.put("CNI_IFNAME", "eth0");
        e.put("CNI_PATH", env.home().resolve("build/bin").toString());
        e.put("CNI_ARGS", "K8S_POD_NAMESPACE=" + nsName[0] + ";K8S_POD_NAME=" + nsName[1]
                + ";K8S_POD_INFRA_CONTAINER_ID=" + containerId + ";IgnoreUnknown=1");
        return e;
    }

    /** The plugin's own object in a network configuration: its type and the node agent's socket. */
    public Map<String, Object> pluginConfig(String node) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("type", "sluice-cni");
        m.put("agentSocket", dir.socket(node).toString());
        return m;
    }

    /** The network configuration on the plugin's stdin. */
    public String cniConfig(String node) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cniVersion", "1.1.0");
        m.put("name", "sluice");
        m.putAll(pluginConfig(node));
        return JSON.writeValueAsString(m);
    }

    /**
     * A network configuration list for another runtime run inside this node's namespace (podman's
     * CNI backend, say): one network {@code name} whose only plugin is this node's, with
     * {@code extra} fields for it ({@code podNamespace}).
     *
     * @param cniVersion the runtime's version (podman 4.3's libcni reads up to 1.0.0)
     */
    public String cniConflist(String node, String name, String cniVersion, Map<String, Object> extra) {
        Map<String, Object> plugin = pluginConfig(node);
        plugin.putAll(extra);
        Map<String, Object> list = new LinkedHashMap<>();
        list.put("cniVersion", cniVersion);
        list.put("name", name);
        list.put("plugins", List.of(plugin));
        return JSON.writeValueAsString(list);
    }

    /** CNI ADD; returns the pod's address (without prefix length). */
    public String add(String podKey, String nodeNetns, String node, String podNetns, String containerId) {
        var r = Procs.run(LabNet.inNetns(nodeNetns, List.of(env.cni().toString())),
                cniEnv("ADD", podKey, podNetns, containerId), cniConfig(node), CNI_TIMEOUT_MS);
        if (!r.ok()) throw new CniException("CNI ADD of pod " + podKey + " on " + node + ": " + cniError(r), cniCode(r));
        return addressOf(podKey, r.stdout());
    }

    /** CNI DEL; idempotent as the spec requires of the plugin. */
    public void del(String podKey, String nodeNetns, String node, String podNetns, String containerId) {
        var r = Procs.run(LabNet.inNetns(nodeNetns, List.of(env.cni().toString())),
                cniEnv("DEL", podKey, podNetns, containerId), cniConfig(node), CNI_TIMEOUT_MS);
        if (!r.ok()) throw new CniException("CNI DEL of pod " + podKey + " on " + node + ": " + cniError(r));
    }

    /** The plugin's error JSON {@code {"code","msg","details"}} as one line, or what it printed. */
    static String cniError(Procs.Result r) {
        try {
            JsonNode e = JSON.readTree(r.stdout());
            if (e != null && e.has("msg")) {
                String details = e.path("details").asString("");
                return e.path("msg").asString() + (details.isEmpty() ? "" : " (" + details + ")")
                        + " [code " + e.path("code").asString("?") + "]";
            }
        } catch (JacksonException ignored) {
            // not JSON: say what it printed
        }
        return r.describe();
    }

    static int cniCode(Procs.Result r) {
        try {
            JsonNode e = JSON.readTree(r.stdout());
            return e == null ? 0 : e.path("code").asInt(0);
        } catch (JacksonException e) {
            return 0;
        }
    }

    /** ips[0].address of a CNI result, without its prefix length. */
    static String addressOf(String podKey, String stdout) {
        try {
            JsonNode res = JSON.readTree(stdout);
            String a = res.path("ips").path(0).path("address").asString("");
            if (a.isEmpty()) throw new CniException("CNI ADD of pod " + podKey + ": the result has no ips[0].address: " + stdout.strip());
            int slash = a.indexOf('/');
            return slash < 0 ? a : a.substring(0, slash);
        } catch (JacksonException e) {
            throw new CniException("CNI ADD of pod " + podKey + ": the result is not JSON: " + stdout.strip());
        }
    }

    /** The {@code sluice-pod serve} arguments for a pod's declared ports; empty when it declares none. */
    public static List<String> serveArgs(String name, List<ContainerPort> ports) {
        var tcp = new TreeSet<Integer>();
        var udp = new TreeSet<Integer>();
        for (ContainerPort p : ports) {
            if (p.protocol() == Protocol.TCP) tcp.add(p.port());
            else if (p.protocol() == Protocol.UDP) udp.add(p.port());
        }
        if (tcp.isEmpty() && udp.isEmpty()) return List.of();
        List<String> a = new ArrayList<>(List.of("serve", "--name", name));
        if (!tcp.isEmpty()) a.addAll(List.of("--tcp", join(tcp)));
        if (!udp.isEmpty()) a.addAll(List.of("--udp", join(udp)));
        return a;
    }

    private static String join(TreeSet<Integer> ports) {
        return String.join(",", ports.stream().map(String::valueOf).toList());
    }

    /**
     * Starts {@code sluice-pod} with {@code args} in a namespace, detached, and waits for its
     * {@code ready} line. Returns its pid.
     */
    public long serve(String netns, List<String> args, Path log) { return serve(netns, java.util.Optional.empty(), args, log); }

    /** As {@link #serve(String, List, Path)}, the server born in {@code cgroup} (a pod's: its node's, {@link LabCgroups}). */
    public long serve(String netns, java.util.Optional<Path> cgroup, List<String> args, Path log) {
        List<String> cmd = new ArrayList<>();
        cmd.add(env.podTool().toString());
        cmd.addAll(args);
        long offset = size(log);
        long pid = Procs.startDetached(LabNet.inNetns(netns, LabCgroups.joining(cgroup, cmd)), null, log);
        long deadline = System.currentTimeMillis() + READY_TIMEOUT_MS;
        while (true) {
            if (readySince(log, offset)) return pid;
            if (!Procs.alive(pid) && !readySince(log, offset))
                throw new Procs.CommandException("`sluice-pod " + String.join(" ", args) + "` exited before it was ready: " + Procs.tail(log, 3));
            if (System.currentTimeMillis() > deadline) {
                Procs.kill(List.of(pid), 1000);
                throw new Procs.CommandException("`sluice-pod " + String.join(" ", args) + "` not ready within " + READY_TIMEOUT_MS + " ms: " + Procs.tail(log, 3));
            }
            sleep(50);
        }
    }

    private static long size(Path f) {
        try {
            return Files.exists(f) ? Files.size(f) : 0;
        } catch (IOException e) {
            return 0;
        }
    }

    private static boolean readySince(Path log, long offset) {
        try {
            byte[] b = Files.readAllBytes(log);
            if (b.length <= offset) return false;
            String s = new String(b, (int) offset, b.length - (int) offset, StandardCharsets.UTF_8);
            return s.lines().anyMatch(l -> l.strip().equals("ready"));
        } catch (IOException e) {
            return false;
        }
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted");
        }
    }
}
