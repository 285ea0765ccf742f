package dev.sluice.policy.flows;

import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Workload names and stable labels of pods, from what flows show of them (name and labels):
 * controllers add labels that change with every rollout or differ per pod, which a policy must not
 * select on, and name their pods after themselves plus such a suffix.
 */
public final class Workloads {
    private Workloads() {}

    /** Labels a controller sets per rollout or per pod (Deployment, DaemonSet, StatefulSet, Job). */
    public static final Set<String> VOLATILE = Set.of("pod-template-hash", "controller-revision-hash", "pod-template-generation",
            "statefulset.kubernetes.io/pod-name", "apps.kubernetes.io/pod-index", "controller-uid",
            "batch.kubernetes.io/controller-uid", "batch.kubernetes.io/job-completion-index");

    /** The labels of a pod that stay the same across its workload's rollouts and replicas. */
    public static Map<String, String> stable(Map<String, String> labels) {
        Map<String, String> out = new TreeMap<>();
        labels.forEach((k, v) -> {
            if (!VOLATILE.contains(k) && !k.startsWith("io.cilium.k8s.")) out.put(k, v);
        });
        return out;
    }

    /**
     * The workload a pod belongs to, from its name and labels: a Deployment's pod
     * {@code web-<hash>-<5>}, a StatefulSet's {@code db-<n>}, a DaemonSet's {@code agent-<5>}, a
     * Job's {@code job-name}; otherwise the pod's own name.
     */
    public static String of(String pod, Map<String, String> labels) {
        String hash = labels.get("pod-template-hash");
        if (hash != null && pod.matches(".+-" + java.util.regex.Pattern.quote(hash) + "-[a-z0-9]{5}"))
            return pod.substring(0, pod.length() - hash.length() - 7);
        if (labels.containsKey("statefulset.kubernetes.io/pod-name") && pod.matches(".+-\\d+")) return pod.substring(0, pod.lastIndexOf('-'));
        String job = labels.getOrDefault("batch.kubernetes.io/job-name", labels.get("job-name"));
        if (job != null && pod.startsWith(job + "-")) return job;
        if (labels.containsKey("controller-revision-hash") && pod.matches(".+-[a-z0-9]{5}")) return pod.substring(0, pod.length() - 6);
        return pod;
    }
}
