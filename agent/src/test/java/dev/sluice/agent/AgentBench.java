package dev.sluice.agent;

import dev.sluice.agent.source.Snapshot;
import dev.sluice.agent.store.ResourceStore;
import dev.sluice.datapath.maps.LbMaps;
import dev.sluice.k8s.KubeObject;
import dev.sluice.k8s.ManifestReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The agent-side benchmark of issue 13 (not a test: run by scripts/bench-agent.sh, as root, inside a
 * private network namespace the script made, with an uplink {@code up0} addressed 192.168.77.1/24).
 * A whole {@link Agent} starts from a manifest directory holding only its Node; then the objects go
 * into a {@link ResourceStore}, and each measured step takes the store's snapshot and hands it to the
 * agent's apply, which returns once every map is written: the time from "the store holds the change"
 * to "the kernel maps hold it", the work the agent's SnapshotFeed thread does per change.
 *
 * <p>Modes: {@code services SERVICES BACKENDS SAMPLES} (10,000 Services x 10 backends from nothing,
 * then one Service change and one endpoint change, SAMPLES each, and the process RSS idle and with
 * everything held); {@code policy PODS POLICIES SAMPLES} (one pod label change with that many pods
 * and NetworkPolicies). Writes DIR/result.json; progress on stderr.
 */
public final class AgentBench {
    private final Path dir;
    private final Path pins;
    private final ResourceStore store = new ResourceStore();
    private Agent agent;
    private final Map<String, Object> out = new LinkedHashMap<>();

    private AgentBench(Path dir, Path pins) {
        this.dir = dir;
        this.pins = pins;
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 6) {
            System.err.println("usage: AgentBench DIR PINS services|policy N M SAMPLES");
            System.exit(2);
        }
        var b = new AgentBench(Path.of(args[0]), Path.of(args[1]));
        try {
            switch (args[2]) {
                case "services" -> b.services(Integer.parseInt(args[3]), Integer.parseInt(args[4]), Integer.parseInt(args[5]));
                case "policy" -> b.policy(Integer.parseInt(args[3]), Integer.parseInt(args[4]), Integer.parseInt(args[5]));
                default -> throw new IllegalArgumentException("mode: " + args[2] + " (expected: services or policy)");
            }
        } finally {
            if (b.agent != null) b.agent.close();
        }
        Files.writeString(b.dir.resolve("result.json"), tools.jackson.databind.json.JsonMapper.builder().build().writeValueAsString(b.out));
        System.exit(0);
    }

    static final String NODE = "{apiVersion: v1, kind: Node, metadata: {name: n1}, spec: {podCIDRs: [10.77.0.0/16]},"
            + " status: {addresses: [{type: InternalIP, address: 192.168.77.1}]}}";

    private void start(String values) throws Exception {
        Files.createDirectories(dir.resolve("manifests"));
        Files.writeString(dir.resolve("manifests/node.yaml"), NODE);
        Files.writeString(dir.resolve("values.yaml"), "healthAddress: \"\"\n" + System.getenv().getOrDefault("BENCH_EXTRA_VALUES", "").replace("\\n", "\n") + values);
        var cfg = new AgentConfig("n1", dir.resolve("manifests"), dir.resolve("state"), dir.resolve("agent.sock"), pins,
                Optional.of(dir.resolve("values.yaml")), Optional.of("native"), "up0", Path.of(System.getProperty("sluice.home"), "build/bpf"));
        agent = new Agent(cfg);
        agent.start();
        store.apply(objs(NODE), List.of());
    }

    private static List<KubeObject> objs(String yaml) { return ManifestReader.parse("bench", yaml); }

    /** The store's snapshot, handed to the agent; returns the nanoseconds until every map is written. */
    private long applyStore() {
        long a0 = ALLOC.getCurrentThreadAllocatedBytes();
        long c0 = CPU.getCurrentThreadCpuTime();
        long t0 = System.nanoTime();
        var c = store.snapshot();
        agent.apply(new Snapshot(c.generation(), c.objects(), List.of()));
        long t = System.nanoTime() - t0;
        lastCpu = CPU.getCurrentThreadCpuTime() - c0;
        lastAlloc = ALLOC.getCurrentThreadAllocatedBytes() - a0;
        return t;
    }

    private static final java.lang.management.ThreadMXBean CPU = java.lang.management.ManagementFactory.getThreadMXBean();
    /** CPU time of the applying thread in the last {@link #applyStore} (wall time minus waiting for a CPU on a shared host; GC pauses are not in it). */
    private long lastCpu;
    private static final com.sun.management.ThreadMXBean ALLOC = (com.sun.management.ThreadMXBean) CPU;
    /** Bytes the applying thread allocated in the last {@link #applyStore} (what makes young collections come). */
    private long lastAlloc;

    private static String pod(String name, String labels, String ip) {
        return "{apiVersion: v1, kind: Pod, metadata: {name: " + name + ", namespace: bench, labels: {" + labels + "}},"
                + " spec: {nodeName: n1, containers: [{name: c, ports: [{containerPort: 80, name: http}]}]}"
                + (ip == null ? "}" : ", status: {podIP: " + ip + "}}");
    }

    private static String service(String name, String selector, int ip, int port) {
        return "{apiVersion: v1, kind: Service, metadata: {name: " + name + ", namespace: bench},"
                + " spec: {clusterIP: " + vip(ip) + ", selector: {" + selector + "}, ports: [{port: " + port + ", targetPort: 80}]}}";
    }

    static String vip(int i) { return "10.96." + (i / 250) + "." + (i % 250 + 1); }

    static String podIp(int i) { return "10.77." + (i / 250) + "." + (i % 250 + 2); }

    /** VmRSS of this process in KiB. */
    static long rssKb() throws IOException {
        for (String l : Files.readAllLines(Path.of("/proc/self/status")))
            if (l.startsWith("VmRSS:")) return Long.parseLong(l.replaceAll("[^0-9]", ""));
        return -1;
    }

    /** RSS once the agent has been idle 13 s, past its idle trim at 10 s (what `ps` shows; no forced GC). */
    private Map<String, Object> settledRss(String what) throws Exception {
        Thread.sleep(Long.getLong("bench.settleMs", 13_000));
        long kb = rssKb();
        String parts = String.join(", ", Files.readAllLines(Path.of("/proc/self/status")).stream()
                .filter(l -> l.startsWith("RssAnon") || l.startsWith("RssFile") || l.startsWith("RssShmem")).map(l -> l.replaceAll("\\s+", " ")).toList());
        var heap = java.lang.management.ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
        log(what + ": VmRSS " + kb / 1024 + " MiB (" + parts + "; heap used " + heap.getUsed() / 1048576 + " MiB, committed " + heap.getCommitted() / 1048576 + " MiB)");
        if (Boolean.getBoolean("bench.nmt")) {
            var pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(), Long.toString(ProcessHandle.current().pid()),
                    "VM.native_memory", "summary").redirectErrorStream(true);
            Process p = pb.start();
            for (String l : new String(p.getInputStream().readAllBytes()).split("\n"))
                if (l.startsWith("-") || l.startsWith("Total")) log("  nmt " + l.trim());
            p.waitFor();
        }
        if (Boolean.getBoolean("bench.smaps")) {
            // the largest resident mappings (an experiment: -Dbench.smaps=true)
            String name = "";
            List<String> rows = new ArrayList<>();
            for (String l : Files.readAllLines(Path.of("/proc/self/smaps"))) {
                if (l.matches("^[0-9a-f]+-[0-9a-f]+ .*")) {
                    String[] f = l.trim().split("\\s+");
                    name = f[0] + " " + f[1] + " " + (f.length > 5 ? f[5] : "[anon]");
                } else if (l.startsWith("Rss:")) {
                    long r = Long.parseLong(l.replaceAll("[^0-9]", ""));
                    if (r >= 1024) rows.add(String.format("%8d kB %s", r, name));
                }
            }
            rows.sort(java.util.Comparator.reverseOrder());
            rows.stream().limit(25).forEach(r -> log("  smaps " + r));
        }
        if (Boolean.getBoolean("bench.trim")) {
            // what glibc's malloc holds freed but not returned (an experiment: -Dbench.trim=true)
            var linker = java.lang.foreign.Linker.nativeLinker();
            var trim = linker.downcallHandle(linker.defaultLookup().find("malloc_trim").orElseThrow(),
                    java.lang.foreign.FunctionDescriptor.of(java.lang.foreign.ValueLayout.JAVA_INT, java.lang.foreign.ValueLayout.JAVA_LONG));
            try {
                int r = (int) trim.invokeExact(0L);
                log("  after malloc_trim(0) = " + r + ": VmRSS " + rssKb() / 1024 + " MiB");
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
        }
        if (Boolean.getBoolean("bench.histo")) {
            // forces a full collection: the live objects only, the 25 largest classes (after the RSS was read)
            var pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(), Long.toString(ProcessHandle.current().pid()),
                    "GC.class_histogram").redirectErrorStream(true);
            // to a file: the histogram is written at a safepoint, while this thread could not read a pipe
            Path f = Files.createTempFile(dir, "histo", ".txt");
            pb.redirectOutput(f.toFile());
            pb.start().waitFor();
            List<String> lines = Files.readAllLines(f);
            for (int i = 0; i < lines.size(); i++) if (i < 40 || lines.get(i).startsWith("Total")) log("  histo " + lines.get(i).trim());
            log("  after the full collection: VmRSS " + rssKb() / 1024 + " MiB, heap used "
                    + java.lang.management.ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed() / 1048576 + " MiB, committed "
                    + java.lang.management.ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getCommitted() / 1048576 + " MiB (heap free ratios "
                    + java.lang.management.ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class).getVMOption("MinHeapFreeRatio").getValue() + "-"
                    + java.lang.management.ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class).getVMOption("MaxHeapFreeRatio").getValue() + "%)");
        }
        return Map.of("kb", kb, "mib", Math.round(kb / 102.4) / 10.0);
    }

    static Map<String, Object> stats(long[] ns) {
        long[] s = ns.clone();
        Arrays.sort(s);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("n", s.length);
        m.put("p50_ms", ms(s[rank(s.length, 50)]));
        m.put("p99_ms", ms(s[rank(s.length, 99)]));
        m.put("mean_ms", ms((long) Arrays.stream(s).average().orElse(0)));
        m.put("min_ms", ms(s[0]));
        m.put("max_ms", ms(s[s.length - 1]));
        return m;
    }

    /** Nearest rank, 0-based. */
    static int rank(int n, int p) { return Math.max(0, (n * p + 99) / 100 - 1); }

    static double ms(long ns) { return Math.round(ns / 1e4) / 100.0; }

    static void log(String s) { System.err.println("agent-bench: " + s); }

    private int frontends() { return agent.lbMaps().services().all().size(); }

    // ------------------------------------------------------------------ services

    /**
     * Pods: {@code backends} per group in 100 groups ({@code app: g<k>}), plus {@code backends} "solo"
     * pods selected by one Service only. Service i selects group i % 100: every Service has
     * {@code backends} backends.
     */
    private void services(int n, int backends, int samples) throws Exception {
        start("");
        out.put("idleRss", settledRss("idle agent (one Node)"));
        int groups = 100;
        List<KubeObject> all = new ArrayList<>(objs("{apiVersion: v1, kind: Namespace, metadata: {name: bench}}"));
        StringBuilder y = new StringBuilder();
        int ip = 0;
        for (int g = 0; g < groups; g++)
            for (int b = 0; b < backends; b++) y.append("---\n").append(pod("g" + g + "-" + b, "app: g" + g, podIp(ip++))).append('\n');
        for (int b = 0; b < backends; b++) y.append("---\n").append(pod("solo-" + b, "app: solo", podIp(ip++))).append('\n');
        for (int i = 0; i < n; i++) y.append("---\n").append(service("s" + i, "app: g" + (i % groups), i, 80)).append('\n');
        y.append("---\n").append(service("solo", "app: solo", n, 80)).append('\n');
        all.addAll(objs(y.toString()));
        store.apply(all, List.of());
        int pods = groups * backends + backends;
        log("store holds " + (n + 1) + " Services, " + pods + " pods; applying");
        long full = applyStore();
        int fe = frontends();
        log("all Services programmed in " + ms(full) + " ms; " + fe + " frontends in the kernel");
        if (fe != n + 1) throw new IllegalStateException("frontends: " + fe + " (expected: " + (n + 1) + ")");
        out.put("services", n + 1);
        out.put("backendsPerService", backends);
        out.put("pods", pods);
        out.put("programAllMs", ms(full));
        out.put("programAllCpuMs", ms(lastCpu));
        out.put("frontendsInKernel", fe);

        // warm-up, not recorded: the first changes run the JIT's compiler on the incremental paths
        long[] svc = new long[samples], ep = new long[samples], svcCpu = new long[samples], epCpu = new long[samples];
        for (int i = 0; i < 2 * samples; i++) {
            int k = ((i / 2) * 7919) % n; // a Service's port changes (even i), then back (odd i)
            store.put(objs(service("s" + k, "app: g" + (k % groups), k, i % 2 == 0 ? 81 : 80)).get(0));
            long t = applyStore();
            if (i >= samples) {
                svc[i - samples] = t;
                svcCpu[i - samples] = lastCpu;
            }
        }
        for (int i = 0; i < 2 * samples; i++) {
            int b = (i / 2) % backends;
            // the pod loses (even i) or regains (odd i) its address: one endpoint of one Service goes or comes
            store.put(objs(pod("solo-" + b, "app: solo", i % 2 == 0 ? null : podIp(groups * backends + b))).get(0));
            long t = applyStore();
            if (i >= samples) {
                ep[i - samples] = t;
                epCpu[i - samples] = lastCpu;
            }
        }
        out.put("oneServiceChange", stats(svc));
        out.put("oneEndpointChange", stats(ep));
        out.put("oneServiceChangeCpu", stats(svcCpu));
        out.put("oneEndpointChangeCpu", stats(epCpu));
        log("one Service change " + out.get("oneServiceChange") + " (thread CPU " + out.get("oneServiceChangeCpu") + "); one endpoint change "
                + out.get("oneEndpointChange") + " (thread CPU " + out.get("oneEndpointChangeCpu") + ")");
        out.put("rss", settledRss("agent with " + (n + 1) + " Services, " + pods + " pods"));
    }

    // ------------------------------------------------------------------ policy

    /**
     * {@code pods} pods in 100 namespaces on another node, {@code local} (20) pods on this node with
     * real endpoints (a veth into a namespace of their own, as CNI ADD makes them), {@code policies}
     * NetworkPolicies selecting by app and admitting by tier and namespace team. The change: one of
     * the remote pods changes its app label (its identity changes): the ipcache entry and the policy
     * maps of the local endpoints whose rules name that identity are rewritten.
     */
    private void policy(int pods, int policies, int samples) throws Exception {
        start("");
        int local = 20, namespaces = 100, apps = 50;
        List<KubeObject> all = new ArrayList<>();
        StringBuilder y = new StringBuilder();
        for (int n = 0; n < namespaces; n++)
            y.append("---\n{apiVersion: v1, kind: Namespace, metadata: {name: ns").append(n).append(", labels: {team: t").append(n % 5).append("}}}\n");
        var em = agent.endpointManager();
        String prefix = pins.getFileName().toString();
        for (int k = 0; k < local; k++) {
            String ns = prefix + "-e" + k;
            new ProcessBuilder("ip", "netns", "add", ns).inheritIO().start().waitFor();
            var e = em.add("bench" + k, "eth0", "/var/run/netns/" + ns, "ns" + (k % namespaces) + "/local-" + k, 1500);
            y.append("---\n").append(nsPod("ns" + (k % namespaces), "local-" + k, "app: a" + (k % apps) + ", tier: web", "n1", e.ip())).append('\n');
        }
        for (int i = 0; i < pods; i++)
            y.append("---\n").append(nsPod("ns" + (i % namespaces), "p" + i, "app: a" + (i % apps) + ", tier: t" + (i % 3), "n2",
                    "10.78." + (i / 250) + "." + (i % 250 + 2))).append('\n');
        for (int j = 0; j < policies; j++)
            y.append("---\n{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: np").append(j).append(", namespace: ns")
                    .append(j % namespaces).append("}, spec: {podSelector: {matchLabels: {app: a").append(j % apps)
                    .append("}}, ingress: [{from: [{podSelector: {matchLabels: {tier: t").append(j % 3).append("}}, namespaceSelector: {matchLabels: {team: t")
                    .append(j % 5).append("}}}], ports: [{port: ").append(80 + j % 20).append(", protocol: TCP}]}]}}\n");
        all.addAll(objs(y.toString()));
        store.apply(all, List.of());
        log("store holds " + (pods + local) + " pods (" + local + " local endpoints), " + policies + " policies; applying");
        long full = applyStore();
        long entries = agent.policyEntries();
        log("all programmed in " + ms(full) + " ms; " + entries + " policy map entries for the local endpoints");
        out.put("pods", pods + local);
        out.put("localEndpoints", local);
        out.put("policies", policies);
        out.put("programAllMs", ms(full));
        out.put("programAllCpuMs", ms(lastCpu));
        out.put("policyMapEntries", entries);
        long[] t = new long[samples], cpu = new long[samples];
        long alloc = 0;
        for (int i = 0; i < 2 * samples; i++) {
            int p = ((i / 2) * 7919) % pods;
            int app = p % apps + (i % 2 == 0 ? 1 : 0); // the label changes (even i), then back (odd i)
            store.put(objs(nsPod("ns" + (p % namespaces), "p" + p, "app: a" + (app % apps) + ", tier: t" + (p % 3), "n2",
                    "10.78." + (p / 250) + "." + (p % 250 + 2))).get(0));
            long d = applyStore();
            if (i >= samples) {
                t[i - samples] = d;
                cpu[i - samples] = lastCpu;
                alloc += lastAlloc;
            }
        }
        out.put("onePodLabelChange", stats(t));
        out.put("onePodLabelChangeCpu", stats(cpu));
        out.put("onePodLabelChangeAllocKb", alloc / samples / 1024);
        log("one pod label change " + out.get("onePodLabelChange") + " (thread CPU " + out.get("onePodLabelChangeCpu") + "; allocated "
                + alloc / samples / 1024 + " KiB per change)");
        out.put("rss", settledRss("agent with " + (pods + local) + " pods, " + policies + " policies"));
    }

    private static String nsPod(String ns, String name, String labels, String node, String ip) {
        return "{apiVersion: v1, kind: Pod, metadata: {name: " + name + ", namespace: " + ns + ", labels: {" + labels + "}},"
                + " spec: {nodeName: " + node + ", containers: [{name: c, ports: [{containerPort: 80}]}]}, status: {podIP: " + ip + "}}";
    }

}
