package dev.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import tools.jackson.databind.JsonNode;

/**
 * Helpers for the policy lab tests: the Kubernetes e2e network policy model (namespaces x, y, z;
 * pods a, b, c; ports 80 and 81, TCP and UDP; one Service per pod) and the comparison of the live
 * matrix ({@code lab probe --via service}) with the offline one ({@code policy matrix} on the lab's
 * current manifests).
 */
final class PolicyLab {
    record PortProto(int port, String protocol) {
        @Override public String toString() { return port + "/" + protocol; }
    }

    static final List<PortProto> ALL_PORTS = List.of(new PortProto(80, "TCP"), new PortProto(81, "TCP"),
            new PortProto(80, "UDP"), new PortProto(81, "UDP"));

    private PolicyLab() {}

    /**
     * Runs a {@code sluice} command inside this JVM ({@code Main.run}, the code the packaged jar
     * runs) with its standard output captured per thread, so that several can run at once: on a
     * small, busy machine eight JVM starts per step cost more than the probes themselves.
     */
    static Cli.Run inProcess(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        CAPTURE.set(new ByteArrayOutputStream[] {out, err});
        try {
            int rc = dev.sluice.cli.Main.run(args);
            return new Cli.Run(rc, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            CAPTURE.remove();
        }
    }

    private static final InheritableThreadLocal<ByteArrayOutputStream[]> CAPTURE = new InheritableThreadLocal<>();

    static {
        PrintStream realOut = System.out, realErr = System.err;
        System.setOut(routed(realOut, 0));
        System.setErr(routed(realErr, 1));
    }

    private static PrintStream routed(PrintStream real, int idx) {
        return new PrintStream(new OutputStream() {
            OutputStream target() {
                ByteArrayOutputStream[] c = CAPTURE.get();
                return c == null ? real : c[idx];
            }

            @Override public void write(int b) throws IOException {
                OutputStream t = target();
                synchronized (t) { t.write(b); }
            }

            @Override public void write(byte[] b, int off, int len) throws IOException {
                OutputStream t = target();
                synchronized (t) { t.write(b, off, len); }
            }

            @Override public void flush() throws IOException { target().flush(); }
        }, true, StandardCharsets.UTF_8);
    }

    /** The e2e model; pods alternate between node1 and node2 (a, c on node1 in x; ...). */
    static String model() {
        StringBuilder b = new StringBuilder();
        int i = 0;
        for (String ns : List.of("x", "y", "z")) {
            b.append("apiVersion: v1\nkind: Namespace\nmetadata: {name: ").append(ns).append(", labels: {ns: ").append(ns).append("}}\n---\n");
            for (String pod : List.of("a", "b", "c")) {
                String node = i++ % 2 == 0 ? "node1" : "node2";
                b.append("apiVersion: v1\nkind: Pod\nmetadata: {name: ").append(pod).append(", namespace: ").append(ns)
                        .append(", labels: {pod: ").append(pod).append("}}\nspec:\n  nodeName: ").append(node)
                        .append("\n  containers: [{name: c, ports: [");
                List<String> ports = new ArrayList<>(), svc = new ArrayList<>();
                for (int port : List.of(80, 81))
                    for (String proto : List.of("TCP", "UDP")) {
                        ports.add("{name: serve-" + port + "-" + proto.toLowerCase() + ", containerPort: " + port + ", protocol: " + proto + "}");
                        svc.add("{name: p" + port + "-" + proto.toLowerCase() + ", port: " + port + ", protocol: " + proto + "}");
                    }
                b.append(String.join(", ", ports)).append("]}]\n---\n");
                b.append("apiVersion: v1\nkind: Service\nmetadata: {name: s-").append(ns).append("-").append(pod).append(", namespace: ")
                        .append(ns).append("}\nspec:\n  selector: {pod: ").append(pod).append("}\n  ports: [").append(String.join(", ", svc))
                        .append("]\n---\n");
            }
        }
        return b.toString();
    }

    /**
     * The lab's cluster state as one manifest file, for the offline tools: what its API server
     * holds of the kinds policy reads, through kubectl ({@code -o json} of several kinds is a List).
     */
    static Path manifests(String lab) {
        Cli.Run r = Cli.sluice("lab", "kubectl", "--name", lab, "--", "get",
                "namespaces,nodes,pods,services,networkpolicies,ciliumnetworkpolicies,ciliumclusterwidenetworkpolicies", "-A", "-o", "json");
        r.ok();
        // the lab's own DNS pod is left out of the offline matrices, as the live probe leaves it out (Prober)
        var list = (tools.jackson.databind.node.ObjectNode) r.json();
        var items = list.putArray("items");
        for (var item : r.json().path("items")) {
            String key = item.path("metadata").path("namespace").asString("") + "/" + item.path("metadata").path("name").asString("");
            if (!(item.path("kind").asString().equals("Pod") && dev.sluice.lab.dns.LabDns.isServerPod(key))) items.add(item);
        }
        try {
            Path f = Files.createTempFile("sluice-" + lab + "-state", ".json");
            f.toFile().deleteOnExit();
            Files.writeString(f, Cli.JSON.writeValueAsString(list));
            return f;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Writes yaml to dir/name.yaml and applies it. */
    static Path apply(String lab, Path dir, String name, String yaml) throws IOException {
        Path f = dir.resolve(name + ".yaml");
        Files.writeString(f, yaml);
        Cli.sluice("lab", "apply", "--name", lab, "-f", f.toString()).ok();
        return f;
    }

    static void delete(String lab, Path dir, String name) {
        Cli.sluice("lab", "delete", "--name", lab, "-f", dir.resolve(name + ".yaml").toString()).ok();
    }

    static void label(String lab, String kind, String target, String... labels) {
        List<String> a = new ArrayList<>(List.of("lab", "label", "--name", lab, kind, target));
        a.addAll(List.of(labels));
        Cli.sluice(a.toArray(String[]::new)).ok();
    }

    /** Live and offline matrices of one port/protocol. */
    record Pair(PortProto pp, JsonNode live, JsonNode offline) {
        String cell(JsonNode m, String from, String to) { return m.path("matrix").path(from).path(to).asString(); }

        List<String> pods() {
            List<String> pods = new ArrayList<>();
            offline.path("pods").forEach(p -> pods.add(p.asString()));
            return pods;
        }

        List<String> mismatches() {
            List<String> out = new ArrayList<>();
            List<String> livePods = new ArrayList<>();
            live.path("pods").forEach(p -> livePods.add(p.asString()));
            if (!livePods.equals(pods())) out.add("pods differ: live " + livePods + ", offline " + pods());
            if (live.path("port").asInt() != pp.port() || !live.path("protocol").asString().equals(pp.protocol()))
                out.add("live header " + live.path("port") + "/" + live.path("protocol"));
            for (String f : pods())
                for (String t : pods())
                    if (!cell(live, f, t).equals(cell(offline, f, t)))
                        out.add(f + " -> " + t + ": live " + cell(live, f, t) + ", offline " + cell(offline, f, t));
            return out;
        }

        /** Both tables side by side, '!' marking a differing cell. */
        String tables() {
            StringBuilder b = new StringBuilder(pp + "  live | offline\n");
            List<String> pods = pods();
            b.append(String.format("%-8s", "FROM\\TO"));
            for (String t : pods) b.append(String.format("%-4s", t));
            b.append(" | ");
            for (String t : pods) b.append(String.format("%-4s", t));
            b.append('\n');
            for (String f : pods) {
                b.append(String.format("%-8s", f));
                for (String t : pods) {
                    String l = cell(live, f, t), o = cell(offline, f, t);
                    b.append(String.format("%-4s", sym(l) + (l.equals(o) ? "" : "!")));
                }
                b.append(" | ");
                for (String t : pods) b.append(String.format("%-4s", sym(cell(offline, f, t))));
                b.append('\n');
            }
            return b.toString();
        }

        static String sym(String v) { return v.equals("allow") ? "." : v.equals("deny") ? "X" : "?" + v; }
    }

    /** Probes and computes offline, all ports in parallel. */
    static List<Pair> measure(String lab, List<PortProto> ports) throws Exception {
        try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<JsonNode>> live = new ArrayList<>(), off = new ArrayList<>();
            for (PortProto pp : ports) {
                live.add(ex.submit(() -> inProcess("lab", "probe", "--name", lab, "--via", "service", "--port", Integer.toString(pp.port()),
                        "--protocol", pp.protocol(), "-o", "json").ok().json()));
                off.add(ex.submit(() -> inProcess("policy", "matrix", "-f", manifests(lab).toString(), "--port",
                        Integer.toString(pp.port()), "--protocol", pp.protocol(), "-o", "json").ok().json()));
            }
            List<Pair> out = new ArrayList<>();
            for (int i = 0; i < ports.size(); i++) out.add(new Pair(ports.get(i), live.get(i).get(), off.get(i).get()));
            return out;
        }
    }

    static String run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        return out;
    }

    static String podIp(String lab, String pod) {
        for (JsonNode p : Cli.sluice("lab", "get", "pods", "--name", lab, "-o", "json").ok().json().path("items"))
            if ((p.path("metadata").path("namespace").asString() + "/" + p.path("metadata").path("name").asString()).equals(pod))
                return p.path("status").path("podIP").asString();
        throw new AssertionError("no pod " + pod);
    }

    static String podNetns(String lab, String pod) throws IOException {
        JsonNode j = Cli.JSON.readTree(Files.readString(Path.of("/run/sluice/labs", lab, "lab.json")));
        String ns = j.path("pods").path(pod).path("netns").asString();
        assertThat(ns).as("netns of %s in lab.json", pod).isNotEmpty();
        return ns;
    }
}
