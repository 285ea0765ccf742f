package dev.sluice.lb;

import dev.sluice.k8s.Service;
import dev.sluice.maglev.MaglevTable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Text renderings of an {@link LbState}, pure, for golden tests and the CLI:
 * {@link #serviceList} ({@code sluice service list}), {@link #bpfLbList} ({@code sluice bpf lb list},
 * frontend -> backends as {@code cilium bpf lb list} shows them), {@link #maglev}
 * ({@code sluice bpf lb maglev get SERVICE}) and {@link #render} (all of it, node by node).
 */
public final class LbText {
    private LbText() {}

    /** Every section: statuses, each node's frontends, the Maglev tables. */
    public static String render(LbState s) {
        var sb = new StringBuilder();
        sb.append("# algorithm ").append(s.algorithm());
        if (s.maglevTableSize() > 0) sb.append(" M=").append(s.maglevTableSize());
        sb.append(", no backend: ").append(s.noBackendResponse()).append('\n');
        for (String w : s.warnings()) sb.append("WARNING ").append(w).append('\n');
        sb.append("\n# services\n").append(statuses(s));
        for (String n : s.nodes()) sb.append("\n# bpf lb list, node ").append(n).append('\n').append(bpfLbList(s, n));
        if (s.nodes().isEmpty()) sb.append("\n# bpf lb list (no nodes)\n").append(bpfLbList(s, ""));
        if (s.maglevTableSize() > 0) {
            sb.append("\n# maglev\n");
            for (String svc : s.services().keySet()) sb.append(maglev(s, svc, null));
        }
        return sb.toString();
    }

    /** One block per Service: type, addresses, ports, then its conditions. */
    public static String statuses(LbState s) {
        var sb = new StringBuilder();
        for (ServiceLb lb : s.services().values()) {
            ServiceStatus st = lb.status();
            sb.append(st.service()).append(' ').append(st.type()).append(' ')
                    .append(st.clusterIP().isEmpty() ? "<none>" : st.clusterIP());
            if (!st.ingressIPs().isEmpty()) sb.append(" ingress=").append(String.join(",", st.ingressIPs()));
            if (st.nodePorts().stream().anyMatch(p -> p > 0))
                sb.append(" nodePorts=").append(st.nodePorts().stream().map(String::valueOf).collect(Collectors.joining(",")));
            sb.append(st.ok() ? " ok" : " ERROR").append('\n');
            for (Condition c : st.conditions()) sb.append("  ").append(c.level()).append(' ').append(c.reason()).append(": ").append(c.message()).append('\n');
        }
        return sb.toString();
    }

    /** {@code sluice service list}: one row per Service, like kubectl get services with backend counts. */
    public static String serviceList(LbState s) {
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"SERVICE", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "BACKENDS", "STATUS"});
        for (ServiceLb lb : s.services().values()) {
            ServiceStatus st = lb.status();
            Map<String, Integer> backends = new LinkedHashMap<>();
            List<String> external = new ArrayList<>(st.ingressIPs());
            for (Frontend f : lb.frontends()) {
                backends.merge(f.portName(), f.backends().size(), Math::max);
                if (f.type() == Frontend.Type.EXTERNAL_IP && !external.contains(ip(f))) external.add(ip(f));
            }
            // As kubectl shows them: port[:nodePort]/protocol.
            List<String> ports = new ArrayList<>();
            for (Service.ServicePort p : lb.spec().ports()) {
                int np = st.nodePorts().get(p.index());
                ports.add(p.port() + (np > 0 ? ":" + np : "") + "/" + p.protocol());
            }
            String status = st.ok() ? "ok" : st.conditions().stream().filter(c -> c.level() == Condition.Level.ERROR)
                    .map(Condition::reason).distinct().collect(Collectors.joining(","));
            rows.add(new String[] {st.service(), st.type().name(), st.clusterIP().isEmpty() ? "<none>" : st.clusterIP(),
                    external.isEmpty() ? "<none>" : String.join(",", external), ports.isEmpty() ? "<none>" : String.join(",", ports),
                    backends.isEmpty() ? "-" : backends.values().stream().map(String::valueOf).collect(Collectors.joining(",")), status});
        }
        return table(rows);
    }

    /** {@code sluice bpf lb list} on one node: each frontend, then its backends with their ids. */
    public static String bpfLbList(LbState s, String node) {
        var sb = new StringBuilder();
        for (Frontend f : s.frontends(node)) {
            sb.append(f.address()).append(' ').append(f.type().text);
            for (Frontend.Flag fl : f.flags())
                sb.append(fl == Frontend.Flag.AFFINITY ? " affinity=" + f.affinityTimeoutSeconds() + "s" : " " + fl.name().toLowerCase().replace('_', '-'));
            sb.append(' ').append(f.service()).append(':').append(f.portName()).append('\n');
            if (f.backends().isEmpty()) sb.append("  -> (no backends: ").append(s.noBackendResponse()).append(")\n");
            for (Backend b : f.backends())
                sb.append("  -> ").append(b.address()).append(" (").append(b.id()).append(") ").append(b.node()).append(' ').append(b.pod()).append('\n');
        }
        return sb.toString();
    }

    /**
     * {@code sluice bpf lb maglev get SERVICE}: each distinct table of the Service (on {@code node},
     * or all nodes when null). Up to 62 backends a slot is one letter (legend first), 64 per row;
     * beyond that, ids separated by spaces.
     */
    public static String maglev(LbState s, String service, String node) {
        ServiceLb lb = s.services().get(service);
        if (lb == null) return "";
        var sb = new StringBuilder();
        // Frontends with the same table over the same backends (ClusterIP, NodePorts, ...) print once.
        Map<TableKey, List<String>> groups = new LinkedHashMap<>();
        Map<TableKey, Frontend> first = new LinkedHashMap<>();
        for (Frontend f : lb.frontends()) {
            if (f.maglev() == null || f.backends().isEmpty()) continue;
            if (node != null && !f.node().isEmpty() && !f.node().equals(node)) continue;
            TableKey k = new TableKey(f.maglev(), f.backends());
            first.putIfAbsent(k, f);
            groups.computeIfAbsent(k, x -> new ArrayList<>()).add(f.address() + (f.node().isEmpty() ? "" : "@" + f.node()));
        }
        for (var e : groups.entrySet()) print(sb, service, e.getValue(), first.get(e.getKey()));
        return sb.toString();
    }

    private record TableKey(MaglevTable table, List<Backend> backends) {}
    private static final String LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

    private static void print(StringBuilder sb, String service, List<String> frontends, Frontend f) {
        MaglevTable t = f.maglev();
        sb.append(service).append(':').append(f.portName()).append(" M=").append(t.size()).append(" frontends ")
                .append(String.join(" ", frontends)).append('\n');
        int[] counts = t.counts();
        boolean letters = f.backends().size() <= LETTERS.length();
        for (int i = 0; i < f.backends().size(); i++) {
            Backend b = f.backends().get(i);
            sb.append("  ").append(letters ? LETTERS.charAt(i) + " = " : "").append("id ").append(b.id()).append(' ')
                    .append(b.address()).append(" slots ").append(counts[i]).append('\n');
        }
        if (letters) {
            for (int row = 0; row < t.size(); row += 64) {
                sb.append("  ");
                for (int i = row; i < Math.min(t.size(), row + 64); i++) sb.append(LETTERS.charAt(t.indexAt(i)));
                sb.append('\n');
            }
        } else {
            int[] ids = f.maglevIds();
            for (int row = 0; row < ids.length; row += 16) {
                sb.append(" ");
                for (int i = row; i < Math.min(ids.length, row + 16); i++) sb.append(' ').append(ids[i]);
                sb.append('\n');
            }
        }
    }

    private static String ip(Frontend f) { return f.address().substring(0, f.address().indexOf(':')); }

    private static String table(List<String[]> rows) {
        int[] w = new int[rows.getFirst().length];
        for (String[] r : rows) for (int i = 0; i < r.length; i++) w[i] = Math.max(w[i], r[i].length());
        var sb = new StringBuilder();
        for (String[] r : rows) {
            for (int i = 0; i < r.length; i++) {
                sb.append(r[i]);
                if (i < r.length - 1) sb.append(" ".repeat(w[i] - r[i].length() + 2));
            }
            sb.append('\n');
        }
        return sb.toString();
    }

}
