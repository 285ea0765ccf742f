package dev.sluice.config;

import dev.sluice.k8s.ManifestException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One entry of {@code hubble.metrics.enabled}, in Hubble's own syntax: {@code NAME} or
 * {@code NAME:OPTION=VALUE;OPTION;...}, e.g. {@code drop:sourceContext=pod|identity;destinationContext=namespace}
 * or {@code flows-to-world:port;any-drop}. Context values separated by {@code |} are tried in order
 * (the first non-empty one wins); {@code labelsContext} is a comma-separated list of label names.
 * What each metric counts and its labels: docs/observability.md, "Metrics".
 *
 * @param options option name to value ("" for a flag), in the order given
 */
public record HubbleMetric(String name, Map<String, String> options) {
    /** The metrics Sluice counts (the default list). */
    public static final List<String> NAMES = List.of("flow", "drop", "tcp", "port-distribution", "icmp", "policy", "flows-to-world");
    /**
     * Hubble's L7 metrics, counted from the L7 proxies' flows (kafka is accepted, so that a Cilium
     * values file is a valid one, and counts nothing: the agent says so when it starts).
     */
    public static final List<String> L7 = List.of("dns", "http", "httpV2", "kafka");
    /** Options of their own, by metric. */
    static final Map<String, List<String>> OWN = Map.of("flows-to-world", List.of("any-drop", "port", "syn-only"),
            "dns", List.of("query", "ignoreAAAA"), "httpV2", List.of("exemplars"));
    /** Context options every metric takes. */
    public static final List<String> CONTEXT_OPTIONS = List.of("sourceContext", "sourceEgressContext", "sourceIngressContext",
            "destinationContext", "destinationEgressContext", "destinationIngressContext", "labelsContext");
    /** Values of the source/destination context options, Hubble's ({@code dns} is empty until Sluice knows DNS names: the next alternative is used). */
    public static final List<String> CONTEXT_VALUES = List.of("identity", "namespace", "pod", "pod-name", "ip", "reserved-identity",
            "workload", "workload-name", "app", "dns");
    public static final List<String> LABELS_CONTEXT = List.of("source_ip", "source_namespace", "source_pod", "source_workload",
            "source_workload_kind", "source_app", "destination_ip", "destination_namespace", "destination_pod", "destination_workload",
            "destination_workload_kind", "destination_app", "traffic_direction");

    public HubbleMetric {
        options = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(options));
    }

    public boolean has(String option) { return options.containsKey(option); }

    public boolean l7() { return L7.contains(name); }

    /** The alternatives of a source/destination context option, in order; empty when not given. */
    public List<String> context(String option) {
        String v = options.get(option);
        return v == null ? List.of() : List.of(v.split("\\|"));
    }

    /** labelsContext's label names, in order. */
    public List<String> labelsContext() {
        String v = options.get("labelsContext");
        return v == null ? List.of() : List.of(v.split(","));
    }

    /** Parses and checks every entry; one error names the key, the entry and what was expected. */
    public static List<HubbleMetric> parseAll(String file, String key, List<String> entries) {
        List<HubbleMetric> out = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (String e : entries) {
            HubbleMetric m = parse(file, key, e);
            if (!seen.add(m.name())) throw bad(file, key, e, "each metric once (" + m.name() + " is listed twice)");
            if (seen.contains("http") && seen.contains("httpV2"))
                throw bad(file, key, e, "http or httpV2, not both (each makes hubble_http_requests_total)");
            out.add(m);
        }
        return List.copyOf(out);
    }

    static HubbleMetric parse(String file, String key, String entry) {
        String e = entry.strip();
        int colon = e.indexOf(':');
        String name = colon < 0 ? e : e.substring(0, colon);
        if (!NAMES.contains(name) && !L7.contains(name))
            throw bad(file, key, entry, "one of " + String.join(", ", NAMES) + ", " + String.join(", ", L7) + " (optionally NAME:OPTION=VALUE;...)");
        Map<String, String> options = new LinkedHashMap<>();
        if (colon >= 0) {
            for (String o : e.substring(colon + 1).split(";")) {
                if (o.isBlank()) continue;
                int eq = o.indexOf('=');
                String k = (eq < 0 ? o : o.substring(0, eq)).strip(), v = eq < 0 ? "" : o.substring(eq + 1).strip();
                checkOption(file, key, entry, name, k, v);
                if (options.put(k, v) != null) throw bad(file, key, entry, "each option once (" + k + " is given twice)");
            }
        }
        return new HubbleMetric(name, options);
    }

    private static void checkOption(String file, String key, String entry, String metric, String k, String v) {
        List<String> own = OWN.getOrDefault(metric, List.of());
        if (own.contains(k)) {
            if (k.equals("exemplars")) {
                if (!v.equals("true") && !v.equals("false")) throw bad(file, key, entry, "exemplars=true or exemplars=false");
            } else if (!v.isEmpty()) {
                throw bad(file, key, entry, k + " without a value");
            }
            return;
        }
        if (!CONTEXT_OPTIONS.contains(k)) {
            List<String> known = new ArrayList<>(CONTEXT_OPTIONS);
            known.addAll(own);
            throw bad(file, key, entry, "options of " + metric + ": " + String.join(", ", known) + "; not " + k);
        }
        if (v.isEmpty()) throw bad(file, key, entry, k + "=VALUE");
        if (k.equals("labelsContext")) {
            Set<String> labels = new HashSet<>();
            for (String l : v.split(",", -1)) {
                if (!LABELS_CONTEXT.contains(l)) throw bad(file, key, entry, "labelsContext of " + String.join(", ", LABELS_CONTEXT) + "; not \"" + l + "\"");
                if (!labels.add(l)) throw bad(file, key, entry, "labelsContext naming each label once (" + l + " twice)");
            }
            return;
        }
        for (String c : v.split("\\|", -1)) {
            if (!CONTEXT_VALUES.contains(c)) throw bad(file, key, entry, k + " of " + String.join("|", CONTEXT_VALUES) + "; not \"" + c + "\"");
        }
    }

    private static ManifestException bad(String file, String key, String entry, String expected) {
        return new ManifestException(file, "", key, "\"" + entry + "\" (expected: " + expected + ")");
    }
}
