package dev.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.lab.Kubelet;
import dev.sluice.lab.LabDir;
import dev.sluice.lab.LabEnv;
import dev.sluice.lab.Procs;
import dev.sluice.net.Cidr;
import dev.sluice.net.Ip;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import tools.jackson.databind.JsonNode;

/**
 * A real container runtime on Sluice's CNI plugin: podman (Debian's, CNI backend) run inside a lab
 * node's namespace with Sluice's conflist starts two image-free busybox containers. They get their
 * addresses from the agent's IPAM, reach each other, are adopted as they were by a restarted
 * agent, fall under a default-deny NetworkPolicy of the conflist's podNamespace (the drop counted
 * with its reason), and {@code podman rm} gives the addresses back. podman's storage, run and
 * runtime state live in a temporary directory; the root network namespace is the same afterwards.
 */
@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: network namespaces, BPF, netlink, podman")
class PodmanCniIT {
    static final String LAB = "pdmn";
    static final String NS = "podman";
    static final String NODE_NETNS = "sl-" + LAB + "-node1";
    /** The lab's cgroup parent for the containers (cgroupfs under every v1 controller), removed at the end. */
    static final String CGROUP_PARENT = "sluice-it-" + LAB;
    static final Path CNI_CACHE = Path.of("/var/lib/cni");
    /** runc's default state root: an empty one appeared once despite --runtime-flag root (podman's exit cleanup, probably). */
    static final Path RUNC_ROOT = Path.of("/run/runc");

    static Path dir;
    static String rootBefore;
    static boolean cniCacheExisted, runcRootExisted;

    @BeforeAll static void setUp() throws IOException {
        Cli.requireRoot();
        for (String tool : List.of("podman", "runc"))
            if (!Procs.run(List.of("sh", "-c", "command -v " + tool)).ok())
                throw new IllegalStateException(tool + " is missing (expected: installed by `make deps`)");
        if (!Files.isExecutable(Path.of("/bin/busybox")))
            throw new IllegalStateException("/bin/busybox is missing (expected: busybox-static, installed by `make deps`)");
        rootBefore = Cli.rootNamespace();
        cniCacheExisted = Files.exists(CNI_CACHE);
        runcRootExisted = Files.exists(RUNC_ROOT);
        dir = Files.createTempDirectory("sluice-podman-it");
        Cli.down(LAB);
    }

    @AfterAll static void tearDown() throws IOException {
        if (dir == null) return;
        try {
            // before the lab goes: conmon runs in the node's namespace and would be killed, leaving containers behind
            if (Files.exists(dir.resolve("containers.conf"))) podman("rm", "--all", "--force", "--time", "0");
        } finally {
            Cli.down(LAB);
            Procs.run(List.of("rm", "-rf", dir.toString()));
            // empty cgroups only: rmdir refuses a cgroup with processes in it
            for (Path c : Procs.run(List.of("sh", "-c", "ls -d /sys/fs/cgroup/*/" + CGROUP_PARENT + " 2>/dev/null")).stdout().lines().map(Path::of).toList())
                Procs.run(List.of("find", c.toString(), "-depth", "-type", "d", "-exec", "rmdir", "{}", "+"));
            // podman 4.3's libcni keeps its results cache there, with no setting to move it
            if (!cniCacheExisted) Procs.run(List.of("find", CNI_CACHE.toString(), "-depth", "-type", "d", "-empty", "-delete"));
            if (!runcRootExisted) Procs.run(List.of("rmdir", RUNC_ROOT.toString()));   // only when empty
        }
        assertThat(Cli.rootNamespace()).as("root network namespace").isEqualTo(rootBefore);
    }

    @Test
    void podmanContainersGetSluiceAddressesTalkFallUnderPolicyAndGiveTheirAddressesBack() throws Exception {
        Cli.sluice("lab", "up", "--name", LAB, "--nodes", "1").ok();
        configurePodman();
        Cidr podCidr = Cidr.parse(Cli.sluice("status", "--name", LAB, "-o", "json").ok().json().path("nodes").get(0).path("podCIDR").asString());
        int usedByLab = ipamUsed(); // the lab's own DNS pod (kube-system/coredns-lab) is on node1

        podman("run", "-d", "--name", "web", "--rootfs", dir.resolve("rootfs").toString(), "/bin/busybox", "sh", "-c",
                "mkdir -p /www && echo hello-from-web > /www/index.html && exec /bin/busybox httpd -f -p 80 -h /www").ok();
        podman("run", "-d", "--name", "client", "--rootfs", dir.resolve("rootfs").toString(), "/bin/busybox", "sleep", "600").ok();

        // addresses from Sluice's IPAM: the agent's endpoints, in the node's pod CIDR, on the containers' eth0
        Map<String, JsonNode> eps = endpoints();
        assertThat(eps).containsOnlyKeys(NS + "/web", NS + "/client");
        String webIp = eps.get(NS + "/web").path("ip").asString(), clientIp = eps.get(NS + "/client").path("ip").asString();
        for (JsonNode e : eps.values()) {
            assertThat(podCidr.contains(Ip.parse(e.path("ip").asString()))).as("%s in %s", e, podCidr).isTrue();
            assertThat(e.path("identity").asLong()).as("identity of %s", e.path("pod")).isNotZero();
            assertThat(e.path("policy").asString()).isEqualTo("ok");
            assertThat(e.path("ingressEnforced").asBoolean()).isFalse();
        }
        assertThat(webIp).isNotEqualTo(clientIp);
        assertThat(podman("exec", "web", "/bin/busybox", "ip", "-4", "-o", "addr", "show", "eth0").ok().out()).contains(webIp + "/32");
        assertThat(podman("exec", "client", "/bin/busybox", "ip", "-4", "-o", "addr", "show", "eth0").ok().out()).contains(clientIp + "/32");
        assertThat(ipamUsed()).isEqualTo(usedByLab + 2);
        assertThat(ipcachePrefixes()).contains(webIp + "/32", clientIp + "/32");

        // they reach each other
        assertThat(fetch(webIp).ok().out()).contains("200 OK").contains("hello-from-web");

        // an agent killed and started again adopts them as they were: same names, addresses and identities
        Cli.restartAgent(LAB, "node1");
        Map<String, JsonNode> after = endpoints();
        assertThat(after).containsOnlyKeys(NS + "/web", NS + "/client");
        for (String pod : eps.keySet())
            for (String field : List.of("ip", "identity", "policy", "ingressEnforced"))
                assertThat(after.get(pod).path(field)).as("%s of %s after the restart", field, pod).isEqualTo(eps.get(pod).path(field));
        assertThat(ipcachePrefixes()).contains(webIp + "/32", clientIp + "/32");
        assertThat(fetch(webIp).ok().out()).contains("hello-from-web");

        // a default-deny of ingress in their namespace applies to them: the connection fails, the drop is counted
        long dropsBefore = policyDrops(NS + "/web");
        Path deny = dir.resolve("deny.yaml");
        Files.writeString(deny, "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny-ingress, namespace: " + NS
                + "}\nspec: {podSelector: {}, policyTypes: [Ingress]}\n");
        Cli.sluice("lab", "apply", "--name", LAB, "-f", deny.toString()).ok();
        assertThat(endpoints().get(NS + "/web").path("ingressEnforced").asBoolean()).isTrue();
        Cli.Run denied = fetch(webIp);
        assertThat(denied.out()).doesNotContain("hello-from-web");
        assertThat(denied.exit()).as("nc to a denied server; stderr: %s", denied.err()).isNotZero();
        assertThat(policyDrops(NS + "/web") - dropsBefore).as("drops with reason 140 (Policy denied) at web's ingress").isPositive();

        // podman rm: CNI DEL gives the addresses back
        podman("rm", "--force", "--time", "0", "web", "client").ok();
        assertThat(endpoints()).isEmpty();
        assertThat(ipamUsed()).isEqualTo(usedByLab);
        for (String ip : List.of(webIp, clientIp)) assertThat(Path.of("/run/sluice/labs", LAB, "nodes/node1/ipam", ip)).doesNotExist();
        assertThat(ipcachePrefixes()).doesNotContain(webIp + "/32", clientIp + "/32");
        assertThat(Cli.sluice("status", "--name", LAB, "-o", "json").ok().json().path("health").asString()).isEqualTo("ok");
    }

    /**
     * podman's files, all under the temporary directory: the conflist (the lab kubelet's plugin
     * object, with podNamespace), containers.conf (CNI backend, the built plugin, private tmp dir),
     * storage.conf (vfs, private graph and run roots) and an image-free rootfs with busybox.
     */
    static void configurePodman() throws IOException {
        Path net = Files.createDirectories(dir.resolve("net"));
        Kubelet kubelet = new Kubelet(LabEnv.detect(), LabDir.of(LAB));
        // podman 4.3's libcni reads network configurations up to CNI 1.0.0
        Files.writeString(net.resolve("sluice.conflist"), kubelet.cniConflist("node1", "sluice", "1.0.0", Map.of("podNamespace", NS)));
        Files.writeString(dir.resolve("containers.conf"), "[network]\nnetwork_backend = \"cni\"\n"
                + "cni_plugin_dirs = [\"" + Cli.home().resolve("build/bin") + "\"]\n"
                + "network_config_dir = \"" + net + "\"\n"
                + "[engine]\ntmp_dir = \"" + Files.createDirectories(dir.resolve("tmp")) + "\"\nevents_logger = \"file\"\n"
                + "cgroup_manager = \"cgroupfs\"\n");
        Files.writeString(dir.resolve("storage.conf"), "[storage]\ndriver = \"vfs\"\ngraphroot = \"" + dir.resolve("storage") + "\"\n"
                + "runroot = \"" + dir.resolve("run") + "\"\n");
        Path bin = Files.createDirectories(dir.resolve("rootfs/bin"));
        Files.copy(Path.of("/bin/busybox"), bin.resolve("busybox"));
    }

    /**
     * podman inside the node's namespace (the plugin makes the host end of the veth where it runs),
     * with the private configuration and runc's state in the temporary directory. {@code run} gets
     * the network, the runtime and the limits this kind of machine needs (docs/troubleshooting.md).
     */
    static Cli.Run podman(String... args) {
        List<String> cmd = new ArrayList<>(List.of("nsenter", "--net=/var/run/netns/" + NODE_NETNS, "--", "podman",
                "--runtime-flag", "root=" + dir.resolve("runc")));
        cmd.add(args[0]);
        if (args[0].equals("run"))
            cmd.addAll(List.of("--network", "sluice", "--runtime", "runc", "--cgroup-parent", "/" + CGROUP_PARENT,
                    "--ulimit", "nproc=1000:1000", "--ulimit", "nofile=1024:1024"));
        cmd.addAll(List.of(args).subList(1, args.length));
        Map<String, String> env = new LinkedHashMap<>();
        env.put("CONTAINERS_CONF", dir.resolve("containers.conf").toString());
        env.put("CONTAINERS_STORAGE_CONF", dir.resolve("storage.conf").toString());
        Procs.Result r = Procs.run(cmd, env, null, 120_000);
        return new Cli.Run(r.exit(), r.stdout(), r.stderr());
    }

    /** An HTTP GET of web's busybox httpd from the client container, with a 3 s limit. */
    static Cli.Run fetch(String ip) {
        return podman("exec", "client", "/bin/busybox", "sh", "-c",
                "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | /bin/busybox nc -w 3 " + ip + " 80");
    }

    static Map<String, JsonNode> endpoints() {
        Map<String, JsonNode> out = new LinkedHashMap<>();
        for (JsonNode e : Cli.sluice("endpoint", "list", "--name", LAB, "-o", "json").ok().json().path("nodes").get(0).path("result"))
            if (e.path("pod").asString().startsWith(NS + "/")) out.put(e.path("pod").asString(), e); // not the lab's DNS pod
        return out;
    }

    static int ipamUsed() {
        return Cli.sluice("status", "--name", LAB, "-o", "json").ok().json().path("nodes").get(0).path("ipam").path("used").asInt();
    }

    static List<String> ipcachePrefixes() {
        List<String> out = new ArrayList<>();
        for (JsonNode e : Cli.sluice("bpf", "ipcache", "list", "--name", LAB, "-o", "json").ok().json().path("nodes").get(0).path("result"))
            out.add(e.path("prefix").asString());
        return out;
    }

    /** Packets dropped with reason 140 (Policy denied) at the endpoint, as the agent's metrics count them. */
    static long policyDrops(String pod) {
        long n = 0;
        JsonNode m = Cli.sluice("bpf", "metrics", "list", "--name", LAB, "-o", "json").ok().json();
        for (JsonNode row : m.path("nodes").get(0).path("result"))
            if (row.path("code").asInt() == 140 && row.path("endpoint").asString().equals(pod)) n += row.path("packets").asLong();
        return n;
    }
}
