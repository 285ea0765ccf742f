package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.sluice.agent.AgentConfig;
import dev.sluice.config.Values;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import tools.jackson.databind.JsonNode;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * The deployment: deploy/sluice.yaml (plain manifests) checked on its own, and against the Helm chart
 * deploy/helm/sluice it is rendered from. No helm binary is needed: each template is read with its
 * simple expressions ({@code .Values.x}, {@code | quote}, {@code .Release.Namespace}, {@code if
 * .Values.x}) evaluated against the chart's values.yaml, and every other expression matching
 * anything; every field without an expression must be the same in the rendered manifest.
 */
class DeployManifestsTest {
    static final YAMLMapper YAML = YAMLMapper.builder().build();
    static final Path HOME = Path.of(System.getProperty("sluice.home", "."));
    static final Path CHART = HOME.resolve("deploy/helm/sluice");
    static final String NAMESPACE = "kube-system";
    /** Stands for an expression the test does not evaluate: matches any rendered value. */
    static final String ANY = "__TPL__";

    static Map<String, JsonNode> rendered;
    static JsonNode values;

    @BeforeAll
    static void read() throws IOException {
        rendered = new LinkedHashMap<>();
        List<JsonNode> docs = YAML.readerFor(JsonNode.class).<JsonNode>readValues(Files.readString(HOME.resolve("deploy/sluice.yaml"))).readAll();
        for (JsonNode d : docs) {
            if (d == null || d.isNull() || d.isMissingNode()) continue;
            String key = d.path("kind").asString() + "/" + d.path("metadata").path("name").asString();
            assertThat(rendered.put(key, d)).as("deploy/sluice.yaml: %s appears twice", key).isNull();
        }
        values = YAML.readTree(Files.readString(CHART.resolve("values.yaml")));
    }

    static JsonNode obj(String key) {
        JsonNode o = rendered.get(key);
        if (o == null) fail("deploy/sluice.yaml: no " + key + " (has: " + rendered.keySet() + ")");
        return o;
    }

    @Test
    void everyObjectHasTheExpectedKindApiVersionAndNamespace() {
        Map<String, String> expected = Map.of("ServiceAccount/sluice", "v1", "ConfigMap/sluice-config", "v1",
                "ClusterRole/sluice", "rbac.authorization.k8s.io/v1", "ClusterRoleBinding/sluice", "rbac.authorization.k8s.io/v1",
                "Service/sluice-metrics", "v1", "DaemonSet/sluice", "apps/v1");
        assertThat(rendered.keySet()).containsExactlyInAnyOrderElementsOf(expected.keySet());
        expected.forEach((key, apiVersion) -> {
            JsonNode o = obj(key);
            assertThat(o.path("apiVersion").asString()).as(key).isEqualTo(apiVersion);
            boolean clusterScoped = key.startsWith("ClusterRole");
            assertThat(o.path("metadata").path("namespace").asString(null)).as(key + " namespace").isEqualTo(clusterScoped ? null : NAMESPACE);
            assertThat(o.path("metadata").path("labels").path("app.kubernetes.io/name").asString()).as(key).isEqualTo("sluice");
        });
    }

    @Test
    void theDaemonSetRunsOnEveryNodeInTheHostNetworkWithProbesOnTheHealthAddress() {
        JsonNode spec = obj("DaemonSet/sluice").path("spec").path("template").path("spec");
        assertThat(spec.path("hostNetwork").asBoolean()).isTrue();
        assertThat(spec.path("hostPID").asBoolean()).isTrue();
        assertThat(spec.path("priorityClassName").asString()).isEqualTo("system-node-critical");
        assertThat(spec.path("serviceAccountName").asString()).isEqualTo("sluice");
        assertThat(spec.path("tolerations")).anySatisfy(t -> {
            assertThat(t.path("operator").asString()).isEqualTo("Exists");
            assertThat(t.has("key") || t.has("effect")).as("a toleration of every taint").isFalse();
        });
        assertThat(obj("DaemonSet/sluice").path("spec").path("selector").path("matchLabels"))
                .isEqualTo(obj("DaemonSet/sluice").path("spec").path("template").path("metadata").path("labels"));
        JsonNode c = spec.path("containers").get(0);
        assertThat(spec.path("containers")).hasSize(1);
        assertThat(c.path("securityContext").path("privileged").asBoolean()).isTrue();
        List<String> caps = new ArrayList<>();
        c.path("securityContext").path("capabilities").path("add").forEach(x -> caps.add(x.asString()));
        assertThat(caps).contains("NET_ADMIN", "SYS_ADMIN", "BPF", "PERFMON");

        String[] health = values.path("healthAddress").asString().split(":");
        for (var probe : Map.of("startupProbe", "/healthz", "livenessProbe", "/healthz", "readinessProbe", "/readyz").entrySet()) {
            JsonNode get = c.path(probe.getKey()).path("httpGet");
            assertThat(get.path("path").asString()).as(probe.getKey()).isEqualTo(probe.getValue());
            assertThat(get.path("host").asString()).as(probe.getKey()).isEqualTo(health[0]);
            assertThat(get.path("port").asInt()).as(probe.getKey()).isEqualTo(Integer.parseInt(health[1]));
        }
        Map<Integer, String> ports = new HashMap<>();
        c.path("ports").forEach(p -> ports.put(p.path("containerPort").asInt(), p.path("name").asString()));
        assertThat(ports).containsEntry(9962, "metrics").containsEntry(9965, "hubble-metrics");
    }

    /** mountPath -> [host path or configMap name, propagation]. */
    static Map<String, List<String>> mounts() {
        JsonNode spec = obj("DaemonSet/sluice").path("spec").path("template").path("spec");
        Map<String, JsonNode> volumes = new HashMap<>();
        spec.path("volumes").forEach(v -> volumes.put(v.path("name").asString(), v));
        Map<String, List<String>> out = new HashMap<>();
        spec.path("containers").get(0).path("volumeMounts").forEach(m -> {
            JsonNode v = volumes.get(m.path("name").asString());
            assertThat(v).as("volume of mount " + m).isNotNull();
            String source = v.has("hostPath") ? v.path("hostPath").path("path").asString() : "configMap:" + v.path("configMap").path("name").asString();
            out.put(m.path("mountPath").asString(), List.of(source, m.path("mountPropagation").asString("None")));
        });
        return out;
    }

    @Test
    void theDaemonSetMountsWhatTheAgentUsesAndItsArgumentsPointThere() {
        Map<String, List<String>> m = mounts();
        assertThat(m).containsEntry("/sys/fs/bpf", List.of("/sys/fs/bpf", "Bidirectional"))
                .containsEntry("/run/sluice", List.of("/run/sluice", "None"))
                .containsEntry("/var/run/netns", List.of("/var/run/netns", "HostToContainer"))
                .containsEntry("/var/lib/sluice", List.of("/var/lib/sluice", "None"))
                .containsEntry("/host/opt/cni/bin", List.of(values.path("cni").path("binPath").asString(), "None"))
                .containsEntry("/host/etc/cni/net.d", List.of(values.path("cni").path("confPath").asString(), "None"))
                .containsEntry("/etc/sluice", List.of("configMap:sluice-config", "None"));

        JsonNode c = obj("DaemonSet/sluice").path("spec").path("template").path("spec").path("containers").get(0);
        List<String> args = new ArrayList<>();
        c.path("args").forEach(a -> args.add(a.asString()));
        assertThat(args.getFirst()).isEqualTo("agent");
        AgentCommand cmd = new AgentCommand();
        new CommandLine(cmd).parseArgs(args.subList(1, args.size()).toArray(String[]::new));
        AgentConfig cfg = cmd.config();
        assertThat(cfg.node()).isEqualTo("$(NODE_NAME)");
        assertThat(c.path("env").get(0).path("valueFrom").path("fieldRef").path("fieldPath").asString()).isEqualTo("spec.nodeName");
        // The conflist names the socket as the agent sees it; the plugin runs on the host: same path on both.
        assertThat(cfg.socket()).isEqualTo(Path.of("/run/sluice/agent.sock"));
        assertThat(cfg.bpffs().startsWith("/sys/fs/bpf")).isTrue();
        assertThat(cfg.stateDir()).isEqualTo(Path.of("/var/lib/sluice"));
        assertThat(cfg.values()).contains(Path.of("/etc/sluice/values.yaml"));
        assertThat(obj("ConfigMap/sluice-config").path("data").has("values.yaml")).isTrue();
        assertThat(cfg.uplink()).isEqualTo(values.path("devices").asString());
        assertThat(cfg.cniInstall()).contains(new AgentConfig.CniInstall(HOME.resolve("build/bin/sluice-cni"), Path.of("/host/opt/cni/bin"),
                Path.of("/host/etc/cni/net.d"), false));
    }

    @Test
    void rbacGrantsExactlyWhatTheAgentNeeds() {
        Set<String> expected = new TreeSet<>();
        for (String r : List.of("/namespaces", "/pods", "/services", "/nodes", "discovery.k8s.io/endpointslices", "networking.k8s.io/networkpolicies",
                "cilium.io/ciliumnetworkpolicies", "cilium.io/ciliumclusterwidenetworkpolicies", "cilium.io/ciliumloadbalancerippools",
                "cilium.io/ciliuml2announcementpolicies"))
            for (String verb : List.of("get", "list", "watch")) expected.add(r + " " + verb);
        expected.addAll(List.of("/services/status update", "/services/status patch",
                "apiextensions.k8s.io/customresourcedefinitions get", "apiextensions.k8s.io/customresourcedefinitions create",
                // l2announcements: one Lease per announced Service
                "coordination.k8s.io/leases get", "coordination.k8s.io/leases create", "coordination.k8s.io/leases update"));

        Set<String> granted = new TreeSet<>();
        for (JsonNode rule : obj("ClusterRole/sluice").path("rules")) {
            assertThat(rule.has("resourceNames") || rule.has("nonResourceURLs")).as("rule " + rule).isFalse();
            for (JsonNode g : rule.path("apiGroups"))
                for (JsonNode r : rule.path("resources"))
                    for (JsonNode v : rule.path("verbs")) {
                        assertThat(List.of(g.asString(), r.asString(), v.asString())).as("no wildcard in " + rule).doesNotContain("*");
                        granted.add(g.asString() + "/" + r.asString() + " " + v.asString());
                    }
        }
        assertThat(granted).containsExactlyElementsOf(expected);
        assertThat(obj("ClusterRole/sluice").has("aggregationRule")).isFalse();

        JsonNode b = obj("ClusterRoleBinding/sluice");
        assertThat(b.path("roleRef").path("kind").asString() + "/" + b.path("roleRef").path("name").asString()).isEqualTo("ClusterRole/sluice");
        assertThat(b.path("subjects")).hasSize(1);
        JsonNode s = b.path("subjects").get(0);
        assertThat(List.of(s.path("kind").asString(), s.path("name").asString(), s.path("namespace").asString()))
                .containsExactly("ServiceAccount", "sluice", NAMESPACE);
    }

    @Test
    void theServiceSelectsTheAgentsMetricsPorts() {
        JsonNode spec = obj("Service/sluice-metrics").path("spec");
        assertThat(spec.path("selector")).isEqualTo(obj("DaemonSet/sluice").path("spec").path("selector").path("matchLabels"));
        Map<Integer, String> ports = new HashMap<>();
        spec.path("ports").forEach(p -> ports.put(p.path("port").asInt(), p.path("targetPort").asString()));
        assertThat(ports).isEqualTo(Map.of(9962, "metrics", 9965, "hubble-metrics"));
    }

    @Test
    void theConfigMapIsTheChartsValuesAndTheChartsDefaultsAreTheAgents() {
        String text = obj("ConfigMap/sluice-config").path("data").path("values.yaml").asString();
        Values inConfigMap = Values.parse("deploy/sluice.yaml: ConfigMap sluice-config: values.yaml", text, Map.of());
        assertThat(YAML.readTree(text)).isEqualTo(values);
        // the agent's defaults, with what a deployment serves turned on (metrics, Hubble's API) and the
        // host's cgroup2 mount where the chart mounts it (below)
        assertThat(inConfigMap).isEqualTo(Values.parse("defaults",
                Values.withObservability("defaults", "cgroup:\n  hostRoot: /run/sluice-cgroupv2\n"), Map.of()));
    }

    /** The socket LB's cgroup.hostRoot is where the host's cgroup2 mount is mounted into the agent, not the container's own cgroup. */
    @Test
    void theAgentSeesTheHostsCgroup2MountAtCgroupHostRoot() {
        JsonNode pod = obj("DaemonSet/sluice").path("spec").path("template").path("spec");
        String hostRoot = YAML.readTree(obj("ConfigMap/sluice-config").path("data").path("values.yaml").asString()).path("cgroup").path("hostRoot").asString();
        JsonNode mount = null, volume = null;
        for (JsonNode m : pod.path("containers").path(0).path("volumeMounts")) if (m.path("mountPath").asString().equals(hostRoot)) mount = m;
        assertThat(mount).as("a volume mounted at cgroup.hostRoot %s", hostRoot).isNotNull();
        for (JsonNode v : pod.path("volumes")) if (v.path("name").asString().equals(mount.path("name").asString())) volume = v;
        assertThat(volume).isNotNull();
        assertThat(volume.path("hostPath").path("path").asString()).isEqualTo("/sys/fs/cgroup");
    }

    /** Backticked keys in the first column of docs/configuration.md's table, braces expanded. */
    static Map<String, Boolean> documentedKeys() throws IOException {
        Map<String, Boolean> keys = new LinkedHashMap<>(); // key -> is an alias (the guide's spelling of another key)
        for (String line : Files.readAllLines(HOME.resolve("docs/configuration.md"))) {
            if (!line.startsWith("| `")) continue;
            String first = line.split("\\|")[1];
            String aliases = first.contains("(and the guide's") ? first.substring(first.indexOf("(and the guide's")) : "";
            Matcher m = Pattern.compile("`([^`]+)`").matcher(first);
            while (m.find()) for (String k : expand(m.group(1))) keys.put(k, aliases.contains("`" + m.group(1) + "`"));
        }
        return keys;
    }

    static List<String> expand(String key) {
        Matcher m = Pattern.compile("\\{([^}]*)}").matcher(key);
        if (!m.find()) return List.of(key);
        List<String> out = new ArrayList<>();
        for (String alt : m.group(1).split(","))
            out.addAll(expand(key.substring(0, m.start()) + alt + key.substring(m.end())));
        return out;
    }

    static void leaves(String prefix, JsonNode n, List<String> out) {
        if (n.isObject() && !n.isEmpty()) {
            for (var e : n.properties()) leaves(prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey(), e.getValue(), out);
        } else {
            out.add(prefix);
        }
    }

    @Test
    void valuesYamlHoldsEveryDocumentedKeyOnce() throws IOException {
        Map<String, Boolean> doc = documentedKeys();
        List<String> inValues = new ArrayList<>();
        leaves("", values, inValues);
        for (String k : inValues)
            assertThat(doc.keySet().stream().anyMatch(d -> d.equals(k) || d.endsWith(".*") && k.startsWith(d.substring(0, d.length() - 1))
                    || k.equals("resources") && d.startsWith("resources.")))
                    .as("values.yaml key %s is documented in docs/configuration.md", k).isTrue();
        doc.forEach((k, alias) -> {
            // aliases would override the real key; resources.* are Kubernetes quantities, empty by default
            if (alias || k.endsWith(".*") || k.startsWith("resources.")) return;
            assertThat(inValues).as("documented key %s in values.yaml", k).contains(k);
        });
    }

    @Test
    void theChartIsAVersion2ChartNamedSluice() throws IOException {
        JsonNode chart = YAML.readTree(Files.readString(CHART.resolve("Chart.yaml")));
        assertThat(chart.path("apiVersion").asString()).isEqualTo("v2");
        assertThat(chart.path("name").asString()).isEqualTo("sluice");
        assertThat(chart.path("version").asString()).matches("\\d+\\.\\d+\\.\\d+");
    }

    @Test
    void everyTemplateHasItsRenderedCounterpartWithTheSameFields() throws IOException {
        List<Path> templates;
        try (Stream<Path> s = Files.list(CHART.resolve("templates"))) {
            templates = s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
        }
        Set<String> seen = new TreeSet<>();
        for (Path t : templates) {
            JsonNode tpl = YAML.readTree(evaluate(t.getFileName().toString(), Files.readString(t)));
            if (tpl == null || tpl.isMissingNode() || tpl.isNull()) continue;   // off with the chart's defaults (hubble.relay.enabled: false)
            String key = tpl.path("kind").asString() + "/" + tpl.path("metadata").path("name").asString();
            assertThat(seen.add(key)).as("%s: %s comes from two templates", t, key).isTrue();
            same(t.getFileName() + ": " + key, tpl, obj(key));
        }
        assertThat(seen).containsExactlyInAnyOrderElementsOf(rendered.keySet());
    }

    /** The chart's values with hubble.relay.enabled and hubble.ui.enabled. */
    static JsonNode relayValues() {
        var v = (tools.jackson.databind.node.ObjectNode) values.deepCopy();
        ((tools.jackson.databind.node.ObjectNode) v.path("hubble").path("relay")).put("enabled", true);
        ((tools.jackson.databind.node.ObjectNode) v.path("hubble").path("ui")).put("enabled", true);
        return v;
    }

    static JsonNode template(String file, JsonNode with) throws IOException {
        return YAML.readTree(evaluate(file, Files.readString(CHART.resolve("templates").resolve(file)), with));
    }

    @Test
    void withRelayAndUiEnabledTheChartDeploysTheRelayItsServiceTheUiServiceAndThePeerService() throws IOException {
        JsonNode with = relayValues();
        Values.parse("values.yaml", YAML.writeValueAsString(with), Map.of());   // a valid values file
        for (String f : List.of("hubble-relay-deployment.yaml", "hubble-relay-service.yaml", "hubble-ui-service.yaml", "hubble-peer-service.yaml")) {
            JsonNode off = template(f, values);
            assertThat(off == null || off.isMissingNode() || off.isNull()).as("%s with the defaults: nothing", f).isTrue();
        }
        JsonNode d = template("hubble-relay-deployment.yaml", with);
        assertThat(d.path("kind").asString()).isEqualTo("Deployment");
        assertThat(d.path("metadata").path("namespace").asString()).isEqualTo(NAMESPACE);
        JsonNode pod = d.path("spec").path("template");
        assertThat(d.path("spec").path("selector").path("matchLabels")).isEqualTo(pod.path("metadata").path("labels"));
        assertThat(pod.path("spec").path("automountServiceAccountToken").asBoolean(true)).as("no API access").isFalse();
        JsonNode c = pod.path("spec").path("containers").get(0);
        assertThat(c.path("securityContext").path("privileged").asBoolean(false)).isFalse();
        List<String> args = new ArrayList<>();
        c.path("args").forEach(a -> args.add(a.asString()));
        assertThat(args.getFirst()).isEqualTo("hubble-relay");
        HubbleRelayCommand cmd = new HubbleRelayCommand();
        new CommandLine(cmd).parseArgs(args.subList(1, args.size()).toArray(String[]::new));
        assertThat(cmd.listen).containsExactly(":4245");
        assertThat(cmd.peerServices).containsExactly("hubble-peer." + NAMESPACE + ".svc:4244");
        assertThat(cmd.peers).isEmpty();
        assertThat(cmd.ui).isEqualTo(":" + values.path("hubble").path("ui").path("port").asInt());
        Map<String, Integer> ports = new HashMap<>();
        c.path("ports").forEach(p -> ports.put(p.path("name").asString(), p.path("containerPort").asInt()));
        assertThat(ports).isEqualTo(Map.of("grpc", 4245, "ui", values.path("hubble").path("ui").path("port").asInt()));

        JsonNode relaySvc = template("hubble-relay-service.yaml", with), uiSvc = template("hubble-ui-service.yaml", with);
        for (JsonNode svc : List.of(relaySvc, uiSvc))
            assertThat(svc.path("spec").path("selector")).as(svc.path("metadata").path("name").asString()).isEqualTo(pod.path("metadata").path("labels"));
        assertThat(relaySvc.path("spec").path("ports").get(0).path("port").asInt()).isEqualTo(80);
        assertThat(relaySvc.path("spec").path("ports").get(0).path("targetPort").asString()).isEqualTo("grpc");
        assertThat(uiSvc.path("spec").path("ports").get(0).path("targetPort").asString()).isEqualTo("ui");

        // the peer service reaches the agents' Observer port, which the DaemonSet names
        JsonNode peer = template("hubble-peer-service.yaml", with);
        assertThat(peer.path("metadata").path("name").asString() + "." + NAMESPACE + ".svc:" + peer.path("spec").path("ports").get(0).path("port").asInt())
                .isEqualTo(cmd.peerServices.getFirst());
        assertThat(peer.path("spec").path("selector")).isEqualTo(obj("DaemonSet/sluice").path("spec").path("selector").path("matchLabels"));
        String target = peer.path("spec").path("ports").get(0).path("targetPort").asString();
        Map<String, Integer> agentPorts = new HashMap<>();
        obj("DaemonSet/sluice").path("spec").path("template").path("spec").path("containers").get(0).path("ports")
                .forEach(p -> agentPorts.put(p.path("name").asString(), p.path("containerPort").asInt()));
        assertThat(agentPorts).containsEntry(target, Integer.parseInt(values.path("hubble").path("listenAddress").asString().substring(1)));
    }

    /** A template's text with its control lines applied and its expressions replaced (see the class comment). */
    static String evaluate(String file, String text) { return evaluate(file, text, values); }

    static String evaluate(String file, String text, JsonNode values) {
        StringBuilder out = new StringBuilder();
        Deque<Boolean> keep = new ArrayDeque<>();
        Pattern action = Pattern.compile("\\{\\{-?\\s*(.*?)\\s*-?}}");
        for (String line : text.split("\n", -1)) {
            String trimmed = line.strip();
            Matcher whole = action.matcher(trimmed);
            if (whole.matches()) {
                String a = whole.group(1);
                if (a.startsWith("/*")) continue;
                if (a.startsWith("if ")) {
                    keep.push(truthy(lookup(file, a.substring(3).strip(), values)));
                    continue;
                }
                if (a.equals("else")) {
                    keep.push(!keep.pop());
                    continue;
                }
                if (a.equals("end")) {
                    keep.pop();
                    continue;
                }
                if (a.matches("(range|with|define|block|else if)\\b.*")) fail(file + ": {{ " + a + " }} (expected: only if/else/end; extend this test)");
                if (!keep.contains(false)) out.append(line, 0, line.indexOf("{{")).append(ANY).append('\n');
                continue;
            }
            if (keep.contains(false)) continue;
            Matcher m = action.matcher(line);
            StringBuilder l = new StringBuilder();
            while (m.find()) m.appendReplacement(l, Matcher.quoteReplacement(expression(file, m.group(1), values)));
            m.appendTail(l);
            out.append(l).append('\n');
        }
        assertThat(keep).as(file + ": every if has its end").isEmpty();
        return out.toString();
    }

    static String expression(String file, String e, JsonNode values) {
        if (e.equals(".Release.Namespace")) return NAMESPACE;
        Matcher v = Pattern.compile("(\\.Values\\.[\\w.]+)(\\s*\\|\\s*quote)?").matcher(e);
        if (v.matches()) {
            JsonNode n = lookup(file, v.group(1), values);
            if (!n.isValueNode()) fail(file + ": {{ " + e + " }} is not a scalar in values.yaml");
            return v.group(2) != null ? "\"" + n.asString().replace("\\", "\\\\").replace("\"", "\\\"") + "\"" : n.asString();
        }
        return ANY;
    }

    static JsonNode lookup(String file, String expr, JsonNode values) {
        if (!expr.startsWith(".Values.")) fail(file + ": " + expr + " (expected: .Values.KEY; extend this test)");
        JsonNode n = values;
        for (String p : expr.substring(".Values.".length()).split("\\.")) n = n.path(p);
        if (n.isMissingNode()) fail(file + ": " + expr + " is not in values.yaml");
        return n;
    }

    static boolean truthy(JsonNode n) {
        if (n.isNull()) return false;
        if (n.isBoolean()) return n.asBoolean();
        if (n.isNumber()) return n.asDouble() != 0;
        if (n.isString()) return !n.asString().isEmpty();
        return !n.isEmpty();
    }

    /** Template node vs rendered node: same structure; where the template has {@link #ANY}, anything there matches. */
    static void same(String where, JsonNode tpl, JsonNode got) {
        if (tpl.isString() && tpl.asString().contains(ANY)) {
            if (tpl.asString().strip().equals(ANY)) return;
            String[] parts = tpl.asString().split(Pattern.quote(ANY), -1);
            StringBuilder re = new StringBuilder();
            for (int i = 0; i < parts.length; i++) re.append(i > 0 ? ".*" : "").append(Pattern.quote(parts[i]));
            assertThat(got.isValueNode() ? got.asString() : got.toString()).as(where).matches(Pattern.compile(re.toString(), Pattern.DOTALL));
        } else if (tpl.isObject()) {
            assertThat(got.isObject()).as(where + ": a map").isTrue();
            List<String> tk = new ArrayList<>(), gk = new ArrayList<>();
            tpl.propertyNames().forEach(tk::add);
            got.propertyNames().forEach(gk::add);
            assertThat(gk).as(where + ": keys").containsExactlyElementsOf(tk);
            for (String k : tk) same(where + "." + k, tpl.get(k), got.get(k));
        } else if (tpl.isArray()) {
            assertThat(got.isArray()).as(where + ": a list").isTrue();
            assertThat(got.size()).as(where + ": length").isEqualTo(tpl.size());
            for (int i = 0; i < tpl.size(); i++) same(where + "[" + i + "]", tpl.get(i), got.get(i));
        } else {
            assertThat(got).as(where).isEqualTo(tpl);
        }
    }
}
