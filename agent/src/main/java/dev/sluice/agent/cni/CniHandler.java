package dev.sluice.agent.cni;

import dev.sluice.agent.endpoint.Endpoint;
import dev.sluice.agent.endpoint.EndpointManager;
import dev.sluice.agent.ipam.IpamStore;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The agent's side of CNI 1.1 (ADD, DEL, CHECK, GC, STATUS; VERSION is answered by the plugin
 * binary itself). A request arrives from the plugin as JSON; the answer is what the plugin prints
 * and the exit code it exits with (0, or 1 with a CNI error object).
 */
public final class CniHandler {
    private static final Logger log = LoggerFactory.getLogger(CniHandler.class);
    private static final JsonMapper JSON = JsonMapper.builder().build();
    /** Plugin-specific error code (100+ per the spec): the node's pod CIDR has no free address. */
    public static final int IPAM_EXHAUSTED = 100;
    static final Set<String> VERSIONS = Set.of("0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0");
    /** CNI_CONTAINERID as libcni accepts it. */
    private static final Pattern CONTAINER_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]*");
    /**
     * CNI_IFNAME and CNI_NETNS end up in ip(8) batch lines, so only characters that cannot split or
     * quote an argument there: an interface name fits IFNAMSIZ, a namespace is an absolute path.
     */
    private static final Pattern IFNAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,14}");
    private static final Pattern NETNS = Pattern.compile("/[A-Za-z0-9_.:@+=,/-]{0,4094}");
    /** The CNI variable each request field carries, for messages. */
    private static final Map<String, String> VARIABLE = Map.of("containerID", "CNI_CONTAINERID", "netns", "CNI_NETNS",
            "ifname", "CNI_IFNAME", "args", "CNI_ARGS");
    /** RFC 1123 label and subdomain: what Kubernetes requires of namespace and pod names. */
    private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
    private static final Pattern DNS_SUBDOMAIN = Pattern.compile("[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?");

    /** What the plugin prints and its exit code. */
    public record Reply(int exitCode, String stdout) {}

    /** The namespace of a standalone container when the configuration names none. */
    public static final String DEFAULT_POD_NAMESPACE = "default";

    /** The node's attachments, as the handler needs them (EndpointManager; a fake in tests). */
    public interface Attachments {
        Endpoint add(String containerId, String ifname, String netns, String pod, boolean standalone, int mtu) throws Exception;

        void delete(String containerId, String ifname) throws Exception;

        List<String> check(String containerId, String ifname);

        List<Endpoint> list();
    }

    /**
     * Who an ADD attaches: a Kubernetes pod ({@code K8S_POD_NAMESPACE} passed) or a standalone
     * container (none passed: podman, nerdctl, cnitool), whose namespace comes from the
     * configuration's {@code podNamespace}, else {@value #DEFAULT_POD_NAMESPACE}.
     */
    public record PodName(String namespace, String name, boolean standalone) {
        public String key() { return namespace + "/" + name; }
    }

    private final Attachments endpoints;
    private final Supplier<Integer> podMtu;
    private final Supplier<String> notReady;
    private final Predicate<String> clusterHasPod;
    private final Runnable standaloneChanged;

    /**
     * @param notReady why the node cannot take ADDs now (STATUS), or null when it can
     */
    public CniHandler(EndpointManager endpoints, Supplier<Integer> podMtu, Supplier<String> notReady) {
        this(of(endpoints), podMtu, notReady, key -> false, () -> { });
    }

    /**
     * @param notReady why the node cannot take ADDs now (STATUS), or null when it can
     * @param clusterHasPod whether the cluster state holds a Pod object {@code namespace/name}: a
     *     standalone container may not take that name
     * @param standaloneChanged called after a standalone container was added or deleted (not while
     *     any lock of the endpoints is held), so that the agent computes policy with it or without it
     *     before the runtime gets the answer
     */
    public CniHandler(Attachments endpoints, Supplier<Integer> podMtu, Supplier<String> notReady, Predicate<String> clusterHasPod,
                      Runnable standaloneChanged) {
        this.endpoints = endpoints;
        this.podMtu = podMtu;
        this.notReady = notReady;
        this.clusterHasPod = clusterHasPod;
        this.standaloneChanged = standaloneChanged;
    }

    /** The endpoint manager as the handler's attachments. */
    public static Attachments of(EndpointManager m) {
        return new Attachments() {
            @Override public Endpoint add(String containerId, String ifname, String netns, String pod, boolean standalone, int mtu)
                    throws Exception {
                return m.add(containerId, ifname, netns, pod, standalone, mtu);
            }

            @Override public void delete(String containerId, String ifname) throws Exception { m.delete(containerId, ifname); }

            @Override public List<String> check(String containerId, String ifname) { return m.check(containerId, ifname); }

            @Override public List<Endpoint> list() { return m.list(); }
        };
    }

    /**
     * Answers one request. Every field is checked before anything is allocated or changed, so a
     * rejected request leaves the node as it was.
     */
    public Reply handle(JsonNode p) {
        String command = p.path("command").asString("");
        JsonNode config = p.path("config");
        if (!config.isObject())
            return error("1.1.0", 6, "failed to decode the network configuration: not a JSON object", "expected: the plugin's stdin, an object");
        JsonNode v = config.path("cniVersion");
        if (!v.isString())
            return error("1.1.0", 7, "invalid network configuration: cniVersion is missing or not a string", "expected: a string field \"cniVersion\"");
        String version = v.asString();
        try {
            if (!VERSIONS.contains(version))
                return error("1.1.0", 1, "incompatible CNI version " + quote(version), "expected one of " + new java.util.TreeSet<>(VERSIONS));
            return switch (command) {
                case "ADD" -> add(p, version);
                case "DEL" -> del(p, version);
                case "CHECK" -> check(p, version);
                case "GC" -> gc(config, version);
                case "STATUS" -> status(version);
                case "" -> error(version, 4, "CNI_COMMAND is not set", "expected one of ADD, DEL, CHECK, GC, STATUS, VERSION");
                default -> error(version, 4, "CNI_COMMAND " + quote(command) + " is not supported", "expected one of ADD, DEL, CHECK, GC, STATUS, VERSION");
            };
        } catch (BadEnv e) {
            return error(version, 4, e.getMessage(), e.details);
        } catch (IpamStore.IpamExhaustedException e) {
            return error(version, IPAM_EXHAUSTED, e.getMessage(), "");
        } catch (Exception e) {
            String msg = e.getMessage() == null ? e.toString() : e.getMessage().lines().findFirst().orElse("");
            log.error("CNI {} {}: {}", command, p.path("containerID").asString(""), msg);
            return error(version, 5, "CNI " + command + " failed: " + msg, "");
        }
    }

    private Reply add(JsonNode p, String version) throws Exception {
        String cid = require(p, "containerID");
        String netns = require(p, "netns");
        String ifname = require(p, "ifname");
        PodName pod;
        try {
            pod = podName(args(string(p, "args")), p.path("config"));
        } catch (BadConfig e) {
            return error(version, 7, e.getMessage(), e.details);
        }
        String reason = notReady.get();
        if (reason != null) return error(version, 11, "node not ready: " + reason, "");
        if (pod.standalone() && clusterHasPod.test(pod.key()))
            throw new BadEnv("CNI_ARGS K8S_POD_NAME " + quote(pod.name()) + ": a Kubernetes Pod " + pod.key() + " exists",
                    "expected: a container name that no pod in namespace " + pod.namespace() + " has");
        Endpoint e;
        try {
            e = endpoints.add(cid, ifname, netns, pod.key(), pod.standalone(), podMtu.get());
        } catch (EndpointManager.NameTakenException ex) {
            throw new BadEnv("CNI_ARGS K8S_POD_NAME " + quote(pod.name()) + ": " + ex.getMessage(), "");
        }
        if (e.standalone()) standaloneChanged.run();
        return new Reply(0, JSON.writeValueAsString(result(e, version)));
    }

    /**
     * Who an ADD attaches, from CNI_ARGS and the configuration. {@code K8S_POD_NAMESPACE} set: a
     * Kubernetes pod, as before. Unset: a standalone container in the configuration's
     * {@code podNamespace} (default {@value #DEFAULT_POD_NAMESPACE}). {@code K8S_POD_NAME} is needed
     * either way (podman passes the container name) and must be a pod name: nothing is rewritten, so
     * two containers never end up with one name. A {@code podNamespace} that is present is checked
     * even when a Kubernetes runtime ignores it.
     *
     * @throws BadEnv (code 4) for CNI_ARGS, BadConfig (code 7) for the configuration
     */
    static PodName podName(Map<String, String> args, JsonNode config) {
        String configured = DEFAULT_POD_NAMESPACE;
        JsonNode pn = config.path("podNamespace");
        if (!pn.isMissingNode()) {
            if (!pn.isString() || !DNS_LABEL.matcher(pn.asString()).matches())
                throw new BadConfig("invalid network configuration: podNamespace " + (pn.isString() ? quote(pn.asString()) : pn.toString())
                        + " is not a namespace name", "expected: a string of lower-case letters, digits and '-', at most 63, the "
                        + "namespace of containers whose runtime passes no K8S_POD_NAMESPACE (default \"" + DEFAULT_POD_NAMESPACE + "\")");
            configured = pn.asString();
        }
        String ns = args.getOrDefault("K8S_POD_NAMESPACE", "");
        String name = args.getOrDefault("K8S_POD_NAME", "");
        boolean standalone = ns.isEmpty();
        if (name.isEmpty())
            throw new BadEnv("CNI_ARGS lacks K8S_POD_NAME", standalone
                    ? "expected: K8S_POD_NAME=<name> (podman passes the container name); the namespace is the configuration's podNamespace"
                    : "expected: K8S_POD_NAMESPACE=<ns>;K8S_POD_NAME=<name>");
        if (standalone) ns = configured;
        else if (!DNS_LABEL.matcher(ns).matches())
            throw new BadEnv("CNI_ARGS K8S_POD_NAMESPACE " + quote(ns) + " is not a namespace name", "expected: lower-case letters, digits and '-', at most 63");
        if (!DNS_SUBDOMAIN.matcher(name).matches())
            throw new BadEnv("CNI_ARGS K8S_POD_NAME " + quote(name) + " is not a pod name", "expected: lower-case letters, digits, '-' and '.', at most 253"
                    + (standalone ? " (podman: a --name such as web-1; generated names like nifty_turing have '_')" : ""));
        return new PodName(ns, name, standalone);
    }

    static Map<String, Object> result(Endpoint e, String version) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("cniVersion", version);
        r.put("interfaces", List.of(
                Map.of("name", e.hostIfname(), "mac", e.hostMac()),
                Map.of("name", e.ifname(), "mac", e.podMac(), "sandbox", e.netns())));
        Map<String, Object> ip = new LinkedHashMap<>();
        if (version.startsWith("0.3")) ip.put("version", "4");
        ip.put("address", e.ip() + "/32");
        ip.put("gateway", EndpointManager.GATEWAY);
        ip.put("interface", 1);
        r.put("ips", List.of(ip));
        Map<String, Object> route = new LinkedHashMap<>();
        route.put("dst", "0.0.0.0/0");
        route.put("gw", EndpointManager.GATEWAY);
        if (version.equals("1.1.0")) route.put("mtu", e.mtu());
        r.put("routes", List.of(route));
        r.put("dns", Map.of());
        return r;
    }

    private Reply del(JsonNode p, String version) throws Exception {
        String cid = require(p, "containerID");
        String ifname = require(p, "ifname");
        boolean standalone = endpoints.list().stream().anyMatch(e -> e.containerId().equals(cid) && e.ifname().equals(ifname) && e.standalone());
        endpoints.delete(cid, ifname);
        if (standalone) standaloneChanged.run();
        return new Reply(0, "");
    }

    private Reply check(JsonNode p, String version) {
        String cid = require(p, "containerID");
        String ifname = require(p, "ifname");
        List<String> problems = endpoints.check(cid, ifname);
        if (problems.isEmpty()) return new Reply(0, "");
        return error(version, 3, "CHECK failed: " + String.join("; ", problems), "");
    }

    /**
     * GC: every endpoint not among cni.dev/valid-attachments goes, with its address. A missing or
     * malformed list is an error, never read as "none is valid".
     */
    private Reply gc(JsonNode config, String version) throws Exception {
        JsonNode list = config.path("cni.dev/valid-attachments");
        if (!list.isArray())
            return error(version, 7, "invalid network configuration: cni.dev/valid-attachments is missing or not a list",
                    "expected: the attachments still in use, [] when there are none");
        Set<String> valid = new HashSet<>();
        for (int i = 0; i < list.size(); i++) {
            JsonNode a = list.get(i);
            if (!a.path("containerID").isString() || !a.path("ifname").isString())
                return error(version, 7, "invalid network configuration: cni.dev/valid-attachments[" + i + "] lacks containerID or ifname",
                        "expected: {\"containerID\":\"...\",\"ifname\":\"...\"}");
            valid.add(a.path("containerID").asString() + "/" + a.path("ifname").asString());
        }
        List<String> removed = new ArrayList<>();
        boolean removedStandalone = false;
        for (Endpoint e : endpoints.list()) {
            if (!valid.contains(e.containerId() + "/" + e.ifname())) {
                endpoints.delete(e.containerId(), e.ifname());
                removed.add(e.pod());
                removedStandalone |= e.standalone();
            }
        }
        if (!removed.isEmpty()) log.info("CNI GC removed {}", removed);
        if (removedStandalone) standaloneChanged.run();
        return new Reply(0, "");
    }

    private Reply status(String version) {
        String reason = notReady.get();
        return reason == null ? new Reply(0, "") : error(version, 50, "plugin not available: " + reason, "");
    }

    /** A CNI variable the command needs, checked: code 4 naming it when unset or malformed. */
    private static String require(JsonNode p, String field) {
        String v = string(p, field);
        String var = VARIABLE.get(field);
        if (v.isEmpty()) throw new BadEnv(var + " is not set", "expected: the variable the container runtime sets for " + p.path("command").asString(""));
        boolean ok = switch (field) {
            case "containerID" -> CONTAINER_ID.matcher(v).matches();
            case "netns" -> NETNS.matcher(v).matches();
            default -> IFNAME.matcher(v).matches();
        };
        if (!ok) throw new BadEnv(var + " " + quote(v) + " is not valid", switch (field) {
            case "containerID" -> "expected: letters, digits, '_', '.' and '-', starting with a letter or digit";
            case "netns" -> "expected: the absolute path of the network namespace, without spaces or quotes";
            default -> "expected: an interface name of 1-15 letters, digits, '_', '.' and '-', starting with a letter or digit";
        });
        return v;
    }

    /** A string field of the request; "" when absent, code 4 when it is not a string. */
    private static String string(JsonNode p, String field) {
        JsonNode n = p.path(field);
        if (n.isMissingNode() || n.isNull()) return "";
        if (!n.isString()) throw new BadEnv(VARIABLE.get(field) + " is not a string in the request", "expected: a string");
        return n.asString();
    }

    /** The value JSON-quoted (control characters escaped) and cut at 64 characters, for messages. */
    private static String quote(String s) {
        return JSON.writeValueAsString(s.length() > 64 ? s.substring(0, 64) + "..." : s);
    }

    static Map<String, String> args(String s) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String kv : s.split(";")) {
            int eq = kv.indexOf('=');
            if (eq > 0) out.put(kv.substring(0, eq).strip(), kv.substring(eq + 1).strip());
        }
        return out;
    }

    static Reply error(String version, int code, String msg, String details) {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("cniVersion", version);
        e.put("code", code);
        e.put("msg", msg);
        if (!details.isEmpty()) e.put("details", details);
        return new Reply(1, JSON.writeValueAsString(e));
    }

    /** A field of the network configuration is malformed: code 7. */
    static final class BadConfig extends RuntimeException {
        final String details;

        BadConfig(String msg, String details) {
            super(msg);
            this.details = details;
        }
    }

    /** A required CNI variable was not passed or is malformed: code 4. */
    static final class BadEnv extends RuntimeException {
        final String details;

        BadEnv(String msg, String details) {
            super(msg);
            this.details = details;
        }
    }
}
