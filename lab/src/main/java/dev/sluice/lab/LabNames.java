package dev.sluice.lab;

import dev.sluice.BadInputException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * Names in a lab: every network namespace is {@code sl-<lab>-...}, so a lab name goes into interface
 * and namespace names and is kept short and plain ({@code [a-z0-9]{1,8}}, no '-': then the prefix
 * {@code sl-a-} of lab "a" can never match a namespace of another lab).
 */
public final class LabNames {
    public static final String DEFAULT_LAB = "sluice";
    public static final int MAX_NODES = 16;
    /** The underlay (fabric) subnet; node i has .(10+i), the world host .200. */
    public static final String UNDERLAY_PREFIX = "172.30.0.";
    public static final int UNDERLAY_LEN = 24;
    public static final String WORLD_IP = UNDERLAY_PREFIX + "200";
    public static final String NETNS_DIR = "/var/run/netns/";
    public static final String WORLD = "world";
    private static final Pattern LAB = Pattern.compile("[a-z0-9]{1,8}");
    private static final Pattern NODE = Pattern.compile("node([1-9][0-9]?)");

    private LabNames() {}

    /** Throws {@link BadInputException} unless {@code name} is a valid lab name. */
    public static String validateLab(String name) {
        if (name == null || !LAB.matcher(name).matches())
            throw new BadInputException("--name: \"" + name + "\" (expected: 1-8 characters a-z, 0-9; it goes into namespace and interface names)");
        return name;
    }

    public static int validateNodes(int nodes) {
        if (nodes < 1 || nodes > MAX_NODES) throw new BadInputException("--nodes: " + nodes + " (expected: 1-" + MAX_NODES + ")");
        return nodes;
    }

    /** The prefix every network namespace of this lab starts with. */
    public static String prefix(String lab) { return "sl-" + lab + "-"; }

    public static String fabricNetns(String lab) { return prefix(lab) + "fabric"; }
    public static String worldNetns(String lab) { return prefix(lab) + WORLD; }
    public static String nodeName(int i) { return "node" + i; }
    public static String nodeNetns(String lab, int i) { return prefix(lab) + nodeName(i); }
    public static String nodeIp(int i) { return UNDERLAY_PREFIX + (10 + i); }
    /** The fabric-side end of node i's uplink. */
    public static String fabricPort(int i) { return "n" + i; }

    /** The index of a node name {@code node<i>}, or -1. */
    public static int nodeIndex(String name) {
        var m = NODE.matcher(name);
        return m.matches() ? Integer.parseInt(m.group(1)) : -1;
    }

    /**
     * The network namespace of a pod: {@code sl-<lab>-p<10 hex>} (at most 23 characters), from a hash
     * of {@code ns/name} so it is stable across runs and short whatever the pod's name.
     */
    public static String podNetns(String lab, String podKey) {
        return prefix(lab) + "p" + sha256(podKey).substring(0, 10);
    }

    /** A stable container id for the CNI calls of a pod: 64 hex characters, like a runtime's. */
    public static String containerId(String lab, String podKey) {
        return sha256("sluice-lab/" + lab + "/" + podKey);
    }

    /** The log file name part for a pod: {@code pod-<ns>-<name>}. */
    public static String podLogName(String podKey) {
        return "pod-" + podKey.replace('/', '-');
    }

    static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
