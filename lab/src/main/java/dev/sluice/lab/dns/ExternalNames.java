package dev.sluice.lab.dns;

import dev.sluice.BadInputException;
import dev.sluice.net.Ip;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * The lab's external names ({@code sluice lab dns set NAME ADDRESS}), kept in the API as the
 * ConfigMap {@code kube-system/sluice-lab-dns}: one data key per name (lower case, no trailing dot),
 * its value {@code "ADDRESS TTL"}. In the API they survive the CLI and the DNS server sees them at
 * once (it reads its own store).
 */
public final class ExternalNames {
    private ExternalNames() {}

    public static final String NAMESPACE = "kube-system";
    public static final String CONFIG_MAP = "sluice-lab-dns";
    public static final int DEFAULT_TTL = 30;
    public static final int MAX_TTL = 604_800;
    static final JsonMapper JSON = JsonMapper.builder().build();
    private static final Pattern LABEL = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");

    /** A validated name: lower case, without the trailing dot; bad input naming NAME otherwise. */
    public static String name(String given) {
        String n = given == null ? "" : given.strip().toLowerCase(Locale.ROOT);
        if (n.endsWith(".")) n = n.substring(0, n.length() - 1);
        String expected = " (expected: a DNS name, dot-separated labels of 1-63 letters, digits and '-', at most 253 characters)";
        if (n.isEmpty() || n.length() > 253) throw new BadInputException("NAME: \"" + given + "\"" + expected);
        for (String l : n.split("\\.", -1)) if (!LABEL.matcher(l).matches()) throw new BadInputException("NAME: \"" + given + "\"" + expected);
        if (n.equals("cluster.local") || n.endsWith(".cluster.local"))
            throw new BadInputException("NAME: " + given + " (expected: a name outside cluster.local; cluster names come from Services and pods)");
        return n;
    }

    public static String address(String given) {
        if (!Ip.isIpv4(given)) throw new BadInputException("ADDRESS: \"" + given + "\" (expected: an IPv4 address such as 192.0.2.10)");
        return Ip.format(Ip.parse(given));
    }

    public static int ttl(int ttl) {
        if (ttl < 0 || ttl > MAX_TTL) throw new BadInputException("--ttl: " + ttl + " (expected: 0-" + MAX_TTL + " seconds)");
        return ttl;
    }

    /** The names in a ConfigMap body (a value that does not read is skipped: the CLI never writes one). */
    public static List<ClusterZone.External> decode(JsonNode configMap) {
        List<ClusterZone.External> out = new ArrayList<>();
        if (configMap == null) return out;
        for (var e : configMap.path("data").properties()) {
            String[] v = e.getValue().asString("").strip().split("\\s+");
            if (v.length != 2 || !Ip.isIpv4(v[0]) || !v[1].matches("\\d{1,7}")) continue;
            try {
                out.add(new ClusterZone.External(name(e.getKey()), v[0], ttl(Integer.parseInt(v[1]))));
            } catch (BadInputException ignored) {
                // not one of ours
            }
        }
        out.sort(java.util.Comparator.comparing(ClusterZone.External::name));
        return out;
    }

    /** A ConfigMap body holding exactly these names. */
    public static ObjectNode encode(List<ClusterZone.External> names) {
        ObjectNode cm = JSON.createObjectNode().put("apiVersion", "v1").put("kind", "ConfigMap");
        cm.putObject("metadata").put("name", CONFIG_MAP).put("namespace", NAMESPACE)
                .putObject("labels").put("app.kubernetes.io/managed-by", "sluice-lab");
        Map<String, String> sorted = new TreeMap<>();
        for (var n : names) sorted.put(n.name(), n.address() + " " + n.ttl());
        ObjectNode data = cm.putObject("data");
        sorted.forEach(data::put);
        return cm;
    }
}
