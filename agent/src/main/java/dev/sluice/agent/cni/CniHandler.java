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
import java.util.function.Supplier;
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

    /** What the plugin prints and its exit code. */
    public record Reply(int exitCode, String stdout) {}

    private final EndpointManager endpoints;
    private final Supplier<Integer> podMtu;
    private final Supplier<String> notReady;

    /**
     * @param notReady why the node cannot take ADDs now (STATUS), or null when it can
     */
    public CniHandler(EndpointManager endpoints, Supplier<Integer> podMtu, Supplier<String> notReady) {
        this.endpoints = endpoints;
        this.podMtu = podMtu;
        this.notReady = notReady;
    }

    public Reply handle(JsonNode p) {
        String command = p.path("command").asString("");
        JsonNode config = p.path("config");
        String version = config.path("cniVersion").asString("1.1.0");
        try {
            if (!VERSIONS.contains(version))
                return error(version, 1, "incompatible CNI version " + version, "expected one of " + new java.util.TreeSet<>(VERSIONS));
            return switch (command) {
                case "ADD" -> add(p, version);
                case "DEL" -> del(p, version);
                case "CHECK" -> check(p, version);
                case "GC" -> gc(config, version);
                case "STATUS" -> status(version);
                default -> error(version, 4, "CNI_COMMAND " + command + " is not supported", "expected one of ADD, DEL, CHECK, GC, STATUS, VERSION");
            };
        } catch (MissingEnv e) {
            return error(version, 4, e.getMessage(), "expected: the variable the container runtime sets for " + command);
        } catch (IpamStore.IpamExhaustedException e) {
            return error(version, IPAM_EXHAUSTED, e.getMessage(), "");
        } catch (Exception e) {
            log.error("CNI {} {}: {}", command, p.path("containerID").asString(""), e.getMessage());
            return error(version, 5, "CNI " + command + " failed: " + e.getMessage(), "");
        }
    }

    private Reply add(JsonNode p, String version) throws Exception {
        String cid = require(p, "containerID");
        String netns = require(p, "netns");
        String ifname = require(p, "ifname");
        Map<String, String> args = args(p.path("args").asString(""));
        String ns = args.getOrDefault("K8S_POD_NAMESPACE", "");
        String name = args.getOrDefault("K8S_POD_NAME", "");
        if (ns.isEmpty() || name.isEmpty())
            return error(version, 4, "CNI_ARGS lacks K8S_POD_NAMESPACE or K8S_POD_NAME", "expected: K8S_POD_NAMESPACE=<ns>;K8S_POD_NAME=<name>");
        String reason = notReady.get();
        if (reason != null) return error(version, 11, "node not ready: " + reason, "");
        Endpoint e = endpoints.add(cid, ifname, netns, ns + "/" + name, podMtu.get());
        return new Reply(0, JSON.writeValueAsString(result(e, version)));
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
        endpoints.delete(cid, ifname);
        return new Reply(0, "");
    }

    private Reply check(JsonNode p, String version) {
        String cid = require(p, "containerID");
        String ifname = require(p, "ifname");
        List<String> problems = endpoints.check(cid, ifname);
        if (problems.isEmpty()) return new Reply(0, "");
        return error(version, 3, "CHECK failed: " + String.join("; ", problems), "");
    }

    /** GC: every endpoint not among cni.dev/valid-attachments goes, with its address. */
    private Reply gc(JsonNode config, String version) throws Exception {
        Set<String> valid = new HashSet<>();
        for (JsonNode a : config.path("cni.dev/valid-attachments")) valid.add(a.path("containerID").asString("") + "/" + a.path("ifname").asString(""));
        List<String> removed = new ArrayList<>();
        for (Endpoint e : endpoints.list()) {
            if (!valid.contains(e.containerId() + "/" + e.ifname())) {
                endpoints.delete(e.containerId(), e.ifname());
                removed.add(e.pod());
            }
        }
        if (!removed.isEmpty()) log.info("CNI GC removed {}", removed);
        return new Reply(0, "");
    }

    private Reply status(String version) {
        String reason = notReady.get();
        return reason == null ? new Reply(0, "") : error(version, 50, "plugin not available: " + reason, "");
    }

    private static String require(JsonNode p, String field) {
        String v = p.path(field).asString("");
        if (v.isEmpty()) throw new MissingEnv(switch (field) {
            case "containerID" -> "CNI_CONTAINERID";
            case "netns" -> "CNI_NETNS";
            case "ifname" -> "CNI_IFNAME";
            default -> field;
        });
        return v;
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

    /** A required CNI variable was not passed: code 4. */
    static final class MissingEnv extends RuntimeException {
        MissingEnv(String var) { super(var + " is not set"); }
    }
}
