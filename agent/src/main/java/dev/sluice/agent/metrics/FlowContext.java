package dev.sluice.agent.metrics;

import dev.sluice.agent.flow.Flow;
import dev.sluice.config.HubbleMetric;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Hubble's context options of one metric: which {@code source}/{@code destination} labels it has
 * (sourceContext, destinationContext and their Egress/Ingress variants, alternatives tried in
 * order, the first non-empty wins) and which {@code labelsContext} labels.
 */
final class FlowContext {
    private final List<String> source, sourceEgress, sourceIngress, destination, destinationEgress, destinationIngress, labels;
    private final boolean hasSource, hasDestination;

    FlowContext(HubbleMetric m) {
        source = m.context("sourceContext");
        sourceEgress = m.context("sourceEgressContext");
        sourceIngress = m.context("sourceIngressContext");
        destination = m.context("destinationContext");
        destinationEgress = m.context("destinationEgressContext");
        destinationIngress = m.context("destinationIngressContext");
        labels = m.labelsContext();
        hasSource = !source.isEmpty() || !sourceEgress.isEmpty() || !sourceIngress.isEmpty();
        hasDestination = !destination.isEmpty() || !destinationEgress.isEmpty() || !destinationIngress.isEmpty();
    }

    /** Whether the source (or destination) label can hold a pod's {@code namespace/name}: a {@code pod} context. */
    boolean podContext(boolean src) {
        var all = src ? List.of(source, sourceEgress, sourceIngress) : List.of(destination, destinationEgress, destinationIngress);
        return all.stream().anyMatch(l -> l.contains("pod"));
    }

    List<String> labelNames() {
        List<String> out = new ArrayList<>();
        if (hasSource) out.add("source");
        if (hasDestination) out.add("destination");
        out.addAll(labels);
        return out;
    }

    /** Appends this context's label values for {@code f} to {@code out}, in {@link #labelNames()} order. */
    void values(Flow f, List<String> out) {
        Flow.TrafficDirection d = f.trafficDirection();
        if (hasSource) out.add(first(pick(d, source, sourceEgress, sourceIngress), f.source(), f.ip() == null ? "" : f.ip().source()));
        if (hasDestination)
            out.add(first(pick(d, destination, destinationEgress, destinationIngress), f.destination(), f.ip() == null ? "" : f.ip().destination()));
        for (String l : labels) out.add(label(l, f));
    }

    private static List<String> pick(Flow.TrafficDirection d, List<String> both, List<String> egress, List<String> ingress) {
        if (d == Flow.TrafficDirection.EGRESS && !egress.isEmpty()) return egress;
        if (d == Flow.TrafficDirection.INGRESS && !ingress.isEmpty()) return ingress;
        return both;
    }

    private static String first(List<String> options, Flow.Endpoint e, String ip) {
        for (String o : options) {
            String v = value(o, e, ip);
            if (!v.isEmpty()) return v;
        }
        return "";
    }

    static String value(String option, Flow.Endpoint e, String ip) {
        if (e == null) return option.equals("ip") ? ip : "";
        return switch (option) {
            case "identity" -> String.join(",", e.labels());
            case "namespace" -> e.namespace();
            case "pod" -> e.pod();
            case "pod-name" -> e.podName();
            case "ip" -> ip;
            case "reserved-identity" -> reserved(e.labels());
            case "workload" -> e.workloads().isEmpty() || e.namespace().isEmpty() ? "" : e.namespace() + "/" + e.workloads().getFirst().name();
            case "workload-name" -> e.workloads().isEmpty() ? "" : e.workloads().getFirst().name();
            case "app" -> app(e.labels());
            default -> "";
        };
    }

    /** The reserved identity's label; kube-apiserver first, as Hubble, when an identity has two. */
    private static String reserved(List<String> labels) {
        String out = "";
        for (String l : labels) {
            if (l.equals("reserved:kube-apiserver")) return l;
            if (out.isEmpty() && l.startsWith("reserved:")) out = l;
        }
        return out;
    }

    private static String app(List<String> labels) {
        for (String key : List.of("app.kubernetes.io/name", "k8s-app", "app")) {
            String prefix = "k8s:" + key + "=";
            for (String l : labels) if (l.startsWith(prefix)) return l.substring(prefix.length());
        }
        return "";
    }

    private static String label(String name, Flow f) {
        boolean src = name.startsWith("source_");
        Flow.Endpoint e = src ? f.source() : f.destination();
        String ip = f.ip() == null ? "" : src ? f.ip().source() : f.ip().destination();
        String what = name.substring(name.indexOf('_') + 1);
        if (name.equals("traffic_direction")) {
            return switch (f.trafficDirection()) {
                case INGRESS, EGRESS -> f.trafficDirection().name().toLowerCase(Locale.ROOT);
                default -> "unknown";
            };
        }
        return switch (what) {
            case "ip" -> ip;
            case "namespace" -> e == null ? "" : e.namespace();
            case "pod" -> e == null ? "" : e.podName();
            case "workload" -> e == null || e.workloads().isEmpty() ? "" : e.workloads().getFirst().name();
            case "workload_kind" -> e == null || e.workloads().isEmpty() ? "" : e.workloads().getFirst().kind();
            case "app" -> e == null ? "" : app(e.labels());
            default -> "";
        };
    }
}
