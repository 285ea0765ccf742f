package dev.sluice.cli.policy;

import dev.sluice.BadInputException;
import dev.sluice.cli.Output;
import dev.sluice.config.Values;
import dev.sluice.k8s.KubeObject;
import dev.sluice.k8s.ManifestException;
import dev.sluice.k8s.ManifestFiles;
import dev.sluice.k8s.ManifestReader;
import dev.sluice.k8s.Protocol;
import dev.sluice.policy.EngineConfig;
import dev.sluice.policy.PolicyAnalysis;
import dev.sluice.policy.PolicyEngine;
import dev.sluice.policy.PolicyInputs;
import dev.sluice.policy.PolicyMapText;
import dev.sluice.policy.PolicyState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code sluice policy}: offline policy tools on manifests, no cluster needed. */
@Command(name = "policy", description = "Offline policy tools on manifests: matrix, trace, explain, validate, map; and on recorded flows: replay, suggest.",
        mixinStandardHelpOptions = true,
        subcommands = {PolicyCommand.MatrixCmd.class, PolicyCommand.TraceCmd.class, PolicyCommand.ExplainCmd.class,
                PolicyCommand.ValidateCmd.class, PolicyCommand.MapCmd.class,
                ReplayCommand.class, SuggestCommand.class})
public final class PolicyCommand implements Runnable {
    @Override public void run() {
        throw new BadInputException("policy: missing subcommand (expected one of: matrix, trace, explain, validate, map, replay, suggest)");
    }

    /** Options every subcommand shares. */
    static class Common {
        @Option(names = {"-f", "--filename"}, required = true, arity = "1..*", description = "Manifest files or directories.")
        List<Path> files = new ArrayList<>();
        @Option(names = "--values", description = "Values file (policyEnforcementMode, policyAuditMode, labels).")
        Path values;
        @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table or json.")
        String output = "table";

        EngineConfig config() {
            if (values == null) return EngineConfig.DEFAULT;
            return EngineConfig.from(Values.load(values, Map.of()));
        }

        /** Loads and decodes strictly: the first bad object is the error (exit 2). */
        PolicyEngine engine() {
            Output.format(output, "table", "json");
            EngineConfig cfg = config();
            PolicyInputs in = PolicyInputs.decodeStrict(ManifestFiles.load(files));
            var e = new PolicyEngine(cfg);
            e.load(in);
            return e;
        }
    }

    static Protocol protocol(String s) {
        for (Protocol p : List.of(Protocol.TCP, Protocol.UDP, Protocol.SCTP)) if (p.name().equalsIgnoreCase(s)) return p;
        throw new BadInputException("--protocol: " + s + " (expected one of: TCP, UDP, SCTP)");
    }

    static String port(String s) {
        if (s.matches("\\d+")) {
            long v = Long.parseLong(s.length() > 6 ? "999999" : s);
            if (v < 1 || v > 65535) throw new BadInputException("--port: " + s + " (expected: 1-65535 or a port name)");
            return Long.toString(v);
        }
        if (!s.matches("[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?") || !s.matches(".*[a-z].*"))
            throw new BadInputException("--port: " + s + " (expected: 1-65535 or a port name of at most 15 lower-case letters, digits and '-')");
        return s;
    }

    @Command(name = "matrix", mixinStandardHelpOptions = true, description = "Reachability of every pod to every pod's port.")
    static final class MatrixCmd extends Common implements Runnable {
        @Option(names = "--port", required = true, description = "Port number or name (resolved per destination).")
        String port;
        @Option(names = "--protocol", defaultValue = "TCP", description = "TCP, UDP or SCTP.")
        String protocol;

        @Override public void run() {
            Protocol proto = protocol(protocol);
            String p = port(port);
            PolicyEngine e = engine();
            PolicyAnalysis.Matrix m = new PolicyAnalysis(e).matrix(p, proto);
            if (output.equals("json")) {
                Map<String, Object> out = new LinkedHashMap<>();
                out.put("port", m.port());
                out.put("protocol", m.protocol());
                out.put("pods", m.pods());
                out.put("matrix", m.matrix());
                Output.json(System.out, out);
                return;
            }
            List<List<String>> rows = new ArrayList<>();
            List<String> header = new ArrayList<>();
            header.add("FROM\\TO");
            header.addAll(m.pods());
            rows.add(header);
            for (String from : m.pods()) {
                List<String> row = new ArrayList<>();
                row.add(from);
                for (String to : m.pods()) row.add(m.matrix().get(from).get(to).equals("allow") ? "." : "X");
                rows.add(row);
            }
            Output.table(System.out, rows);
        }
    }

    @Command(name = "trace", mixinStandardHelpOptions = true, description = "The verdict for one connection and why.")
    static final class TraceCmd extends Common implements Runnable {
        @Option(names = "--from", required = true, description = "ns/pod, or an IPv4 address or CIDR outside the cluster.")
        String from;
        @Option(names = "--to", required = true, description = "ns/pod, or an IPv4 address or CIDR outside the cluster.")
        String to;
        @Option(names = "--port", required = true) String port;
        @Option(names = "--protocol", defaultValue = "TCP") String protocol;
        @Option(names = "--http-method") String method;
        @Option(names = "--http-path") String path;
        @Option(names = "--http-host") String host;

        @Override public void run() {
            Protocol proto = protocol(protocol);
            String p = port(port);
            PolicyEngine e = engine();
            PolicyState.HttpRequest http = method == null && path == null && host == null ? null
                    : new PolicyState.HttpRequest(method == null ? "GET" : method, path == null ? "/" : path, host, Map.of());
            PolicyAnalysis.Trace t;
            try {
                t = new PolicyAnalysis(e).trace(from, to, p, proto, http);
            } catch (IllegalArgumentException ex) {
                throw new BadInputException(ex.getMessage());
            }
            if (output.equals("json")) {
                Output.json(System.out, t);
                return;
            }
            var out = System.out;
            out.println("Verdict: " + t.verdict().toUpperCase() + "  " + t.from() + " -> " + t.to() + " " + t.protocol() + "/" + t.port()
                    + (t.resolvedPort() != null && !String.valueOf(t.port()).equals(String.valueOf(t.resolvedPort())) ? " (port " + t.resolvedPort() + ")" : ""));
            hop(out, "Egress", t.egress(), t.from());
            hop(out, "Ingress", t.ingress(), t.to());
            out.println("Reason: " + t.reason());
        }

        private static void hop(java.io.PrintStream out, String title, PolicyAnalysis.Hop h, String who) {
            if (h == null) {
                out.println(title + " of " + who + ": outside the cluster, not checked");
                return;
            }
            out.println(title + " of " + h.endpoint() + " (identity " + h.identity() + "): "
                    + (h.enforced() ? "enforced" : "not enforced") + "; selected by: " + (h.policies().isEmpty() ? "no policy" : String.join(", ", h.policies())));
            out.println("  " + h.verdict() + ": " + h.reason());
        }
    }

    @Command(name = "explain", mixinStandardHelpOptions = true, description = "Per pod, what may reach it and what it may reach.")
    static final class ExplainCmd extends Common implements Runnable {
        @Parameters(arity = "0..1", description = "ns/pod (default: every pod).")
        String pod;

        @Override public void run() {
            // -f takes several paths, so a trailing ns/pod that is not a file is the pod.
            if (pod == null && files.size() > 1) {
                Path last = files.getLast();
                if (!Files.exists(last) && last.toString().matches("[a-z0-9][-a-z0-9]*/[a-z0-9][-a-z0-9.]*")) {
                    pod = last.toString();
                    files.removeLast();
                }
            }
            PolicyEngine e = engine();
            List<PolicyAnalysis.Explanation> ex;
            try {
                ex = new PolicyAnalysis(e).explain(pod);
            } catch (IllegalArgumentException x) {
                throw new BadInputException(x.getMessage());
            }
            if (output.equals("json")) {
                Output.json(System.out, ex);
                return;
            }
            for (var x : ex) {
                System.out.println(x.pod() + " (identity " + x.identity() + ")");
                System.out.println("  may receive (ingress):");
                for (String r : x.ingress().rules()) System.out.println("    - " + r);
                System.out.println("  may send (egress):");
                for (String r : x.egress().rules()) System.out.println("    - " + r);
            }
        }
    }

    @Command(name = "map", mixinStandardHelpOptions = true, description = "The compiled policy map state, as text.")
    static final class MapCmd extends Common implements Runnable {
        @Override public void run() {
            PolicyEngine e = engine();
            System.out.print(PolicyMapText.render(e.result()));
        }
    }

    @Command(name = "validate", mixinStandardHelpOptions = true, description = "Every problem in the manifests; exit 2 if any.")
    static final class ValidateCmd extends Common implements Runnable {
        @Override public void run() {
            Output.format(output, "table", "json");
            List<ManifestException> errors = new ArrayList<>();
            try {
                config();
            } catch (ManifestException x) {
                errors.add(x);
            }
            List<KubeObject> objects = new ArrayList<>();
            for (Path f : ManifestFiles.files(files)) {
                try {
                    objects.addAll(ManifestReader.parse(f.toString(), ManifestFiles.read(f)));
                } catch (ManifestException x) {
                    errors.add(x);
                }
            }
            var decoded = PolicyInputs.decode(objects);
            errors.addAll(decoded.errors());
            int policies = decoded.inputs().policies().size();
            if (output.equals("json")) {
                List<Map<String, String>> list = new ArrayList<>();
                for (ManifestException x : errors) {
                    Map<String, String> m = new LinkedHashMap<>();
                    m.put("file", x.file());
                    m.put("object", x.object());
                    m.put("field", x.field());
                    m.put("problem", x.problem());
                    m.put("message", x.getMessage());
                    list.add(m);
                }
                Map<String, Object> out = new LinkedHashMap<>();
                out.put("valid", errors.isEmpty());
                out.put("policies", policies);
                out.put("errors", list);
                Output.json(System.out, out);
            } else if (errors.isEmpty()) {
                System.out.println("ok: " + policies + " policies, " + decoded.inputs().pods().size() + " pods, "
                        + decoded.inputs().namespaces().size() + " namespaces");
            }
            for (ManifestException x : errors) System.err.println("sluice: " + x.getMessage());
            if (!errors.isEmpty()) throw new BadInputException(errors.size() + " problem(s) found (expected: none)");
        }
    }
}
