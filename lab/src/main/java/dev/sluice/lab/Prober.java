package dev.sluice.lab;

import dev.sluice.BadInputException;
import dev.sluice.k8s.Kinds;
import dev.sluice.k8s.Service;
import dev.sluice.k8s.Pod;
import dev.sluice.k8s.Protocol;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The live reachability matrix: real connections from every pod to every pod (itself included),
 * one {@code sluice-pod probe} per source pod with all destinations, sources in parallel. A cell is
 * "allow" only when the connection succeeded and the expected pod answered.
 */
public final class Prober {
    static final JsonMapper JSON = JsonMapper.builder().build();
    public static final String ALLOW = "allow", DENY = "deny";

    /** The contract shared with the offline matrix: pods sorted ns/name, matrix[from][to]. */
    public record Matrix(int port, String protocol, List<String> pods, Map<String, Map<String, String>> matrix) {}

    /** One source's probe: where it runs and, per destination pod, the address it connects to. */
    record Plan(String from, String netns, Map<String, String> targets, java.util.Optional<java.nio.file.Path> cgroup) {
        Plan(String from, String netns, Map<String, String> targets) { this(from, netns, targets, java.util.Optional.empty()); }
    }

    private final LabEnv env;

    public Prober(LabEnv env) { this.env = env; }

    public Matrix run(Lab lab, int port, Protocol protocol, boolean viaService, long timeoutMs) {
        LabState st = lab.state();
        // the lab's own DNS pod is infrastructure, as the world host is: matrices are about the manifests' pods (and match the offline ones)
        List<Pod> pods = lab.store().all(Kinds.POD).stream().map(Pod::decode).filter(p -> !dev.sluice.lab.dns.LabDns.isServerPod(p.key()))
                .sorted(Comparator.comparing(Pod::key)).toList();
        List<Service> services = lab.store().all(Kinds.SERVICE).stream().map(Service::decode).toList();
        Map<String, String> dest = destinations(pods, services, port, protocol, viaService);
        List<Plan> plans = new ArrayList<>();
        for (Pod p : pods) {
            var ps = st.pods().get(p.key());
            // a pod's process, in its node's cgroup: its sockets take the node's socket load balancer
            plans.add(new Plan(p.key(), ps == null ? null : ps.netns(), dest, ps == null ? java.util.Optional.empty() : LabCgroups.node(lab.name(), ps.node())));
        }
        Map<String, Map<String, String>> matrix = new LinkedHashMap<>();
        if (!plans.isEmpty()) {
            try (ExecutorService pool = Executors.newFixedThreadPool(Math.min(16, plans.size()))) {
                List<Future<Map<String, String>>> fs = new ArrayList<>();
                for (Plan pl : plans) fs.add(pool.submit(() -> probe(pl, protocol, timeoutMs)));
                for (int i = 0; i < plans.size(); i++) matrix.put(plans.get(i).from(), fs.get(i).get());
            } catch (java.util.concurrent.ExecutionException e) {
                throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted");
            }
        }
        return new Matrix(port, protocol.name(), pods.stream().map(Pod::key).toList(), matrix);
    }

    /**
     * Destination pod to the address:port to connect to: its pod IP, or with {@code viaService} the
     * ClusterIP of a Service that selects it alone and has the port. Bad input naming the pod when
     * there is no such Service.
     */
    static Map<String, String> destinations(List<Pod> pods, List<Service> services, int port, Protocol protocol, boolean viaService) {
        Map<String, String> out = new LinkedHashMap<>();
        for (Pod d : pods) {
            if (!viaService) {
                out.put(d.key(), d.podIP().isEmpty() ? "" : d.podIP() + ":" + port);
                continue;
            }
            Service svc = services.stream()
                    .filter(s -> s.hasClusterIP() && s.hasPort(port, protocol) && s.selects(d))
                    .filter(s -> pods.stream().filter(s::selects).count() == 1)
                    .min(Comparator.comparing(Service::key)).orElse(null);
            if (svc == null)
                throw new BadInputException("no Service selects only " + d.key() + " (expected: a Service whose selector matches " + d.key()
                        + " alone, with port " + port + "/" + protocol + ", e.g. s-" + d.namespace() + "-" + d.name() + ")");
            out.put(d.key(), svc.clusterIP() + ":" + port);
        }
        return out;
    }

    /** The probe command of one source. */
    List<String> command(Plan pl, Protocol protocol, long timeoutMs, List<String> targets) {
        List<String> c = new ArrayList<>(List.of(env.podTool().toString(), "probe", "--proto", protocol.name().toLowerCase(),
                "--timeout-ms", String.valueOf(timeoutMs)));
        c.addAll(targets);
        return LabNet.inNetns(pl.netns(), LabCgroups.joining(pl.cgroup(), c));
    }

    private Map<String, String> probe(Plan pl, Protocol protocol, long timeoutMs) {
        Map<String, String> row = new LinkedHashMap<>();
        pl.targets().keySet().forEach(k -> row.put(k, DENY));
        if (pl.netns() == null) return row;
        List<String> keys = pl.targets().entrySet().stream().filter(e -> !e.getValue().isEmpty()).map(Map.Entry::getKey).toList();
        if (keys.isEmpty()) return row;
        List<String> targets = keys.stream().map(pl.targets()::get).toList();
        var r = Procs.run(command(pl, protocol, timeoutMs, targets), null, null, timeoutMs * targets.size() + 30_000);
        if (!r.ok() && r.stdout().isBlank())
            throw new Procs.CommandException("probe from " + pl.from() + ": " + r.describe());
        row.putAll(cells(keys, targets, r.stdout()));
        return row;
    }

    /** Reads the probe's JSON lines (one per target, in order) into allow/deny per destination pod. */
    static Map<String, String> cells(List<String> keys, List<String> targets, String stdout) {
        Map<String, String> out = new LinkedHashMap<>();
        keys.forEach(k -> out.put(k, DENY));
        List<String> lines = stdout.lines().filter(l -> !l.isBlank()).toList();
        for (int i = 0; i < lines.size() && i < keys.size(); i++) {
            JsonNode j;
            try {
                j = JSON.readTree(lines.get(i));
            } catch (JacksonException e) {
                continue;
            }
            if (!targets.get(i).equals(j.path("target").asString(targets.get(i)))) continue;
            boolean ok = j.path("ok").asBoolean(false) && keys.get(i).equals(j.path("pod").asString(""));
            out.put(keys.get(i), ok ? ALLOW : DENY);
        }
        return out;
    }

    /** The table form: header row, then one row per source; '.' allowed, 'X' blocked. */
    public static List<List<String>> table(Matrix m) {
        List<List<String>> rows = new ArrayList<>();
        List<String> head = new ArrayList<>(List.of("FROM\\TO"));
        head.addAll(m.pods());
        rows.add(head);
        for (String from : m.pods()) {
            List<String> r = new ArrayList<>(List.of(from));
            for (String to : m.pods()) r.add(ALLOW.equals(m.matrix().getOrDefault(from, Map.of()).get(to)) ? "." : "X");
            rows.add(r);
        }
        return rows;
    }
}
