package dev.sluice.lab.dns;

import dev.sluice.bpf.Netns;
import dev.sluice.net.Cidr;
import dev.sluice.net.Ip;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Type;
import tools.jackson.databind.node.ObjectNode;

/**
 * The lab's side of cluster DNS: the objects {@code lab up} adds (Service kube-system/kube-dns and
 * the pod that serves it, as a real cluster has them, so policies written for one mean the same in
 * the lab), the pods' resolv.conf, and the check that the server answers.
 */
public final class LabDns {
    private LabDns() {}

    public static final String NAMESPACE = "kube-system";
    public static final String SERVICE = "kube-dns";
    public static final String POD = "coredns-lab";
    public static final String APP_LABEL = "k8s-app";
    /** The annotation that tells the lab's kubelet that this pod's server is the lab's DNS, not the echo server. */
    public static final String SERVER_ANNOTATION = "lab.sluice.dev/dns-server";
    /** Where {@code ip netns exec} (and the lab's {@code inNetns}) find a namespace's own /etc files. */
    public static final Path ETC_NETNS = Path.of("/etc/netns");
    public static final long READY_TIMEOUT_MS = 15_000;

    /** The kube-dns ClusterIP: the 10th address of the service CIDR, as kubeadm picks it. */
    public static String clusterIp(Cidr serviceCidr) { return Ip.format(serviceCidr.address(10)); }

    public static ObjectNode service(Cidr serviceCidr) {
        ObjectNode s = ExternalNames.JSON.createObjectNode().put("apiVersion", "v1").put("kind", "Service");
        ObjectNode meta = s.putObject("metadata").put("name", SERVICE).put("namespace", NAMESPACE);
        meta.putObject("labels").put(APP_LABEL, SERVICE).put("kubernetes.io/name", "CoreDNS");
        ObjectNode spec = s.putObject("spec").put("clusterIP", clusterIp(serviceCidr));
        spec.putObject("selector").put(APP_LABEL, SERVICE);
        var ports = spec.putArray("ports");
        ports.addObject().put("name", "dns").put("port", 53).put("protocol", "UDP").put("targetPort", 53);
        ports.addObject().put("name", "dns-tcp").put("port", 53).put("protocol", "TCP").put("targetPort", 53);
        return s;
    }

    /** The DNS pod, pinned to {@code node}; its containerPorts are CoreDNS's (named ports resolve the same). */
    public static ObjectNode pod(String node) {
        ObjectNode p = ExternalNames.JSON.createObjectNode().put("apiVersion", "v1").put("kind", "Pod");
        ObjectNode meta = p.putObject("metadata").put("name", POD).put("namespace", NAMESPACE);
        meta.putObject("labels").put(APP_LABEL, SERVICE);
        meta.putObject("annotations").put(SERVER_ANNOTATION, "true");
        ObjectNode spec = p.putObject("spec").put("nodeName", node);
        ObjectNode c = spec.putArray("containers").addObject().put("name", "coredns").put("image", "sluice-lab/dns");
        var ports = c.putArray("ports");
        ports.addObject().put("name", "dns").put("containerPort", 53).put("protocol", "UDP");
        ports.addObject().put("name", "dns-tcp").put("containerPort", 53).put("protocol", "TCP");
        return p;
    }

    public static boolean isServerPod(String podKey) { return podKey.equals(NAMESPACE + "/" + POD); }

    /** resolv.conf as the kubelet writes it for a ClusterFirst pod of {@code namespace}. */
    public static String resolvConf(String nameserver, String namespace, int ndots) {
        return "# written by the sluice lab for pods of namespace " + namespace + "\n"
                + "nameserver " + nameserver + "\n"
                + "search " + namespace + ".svc.cluster.local svc.cluster.local cluster.local\n"
                + "options ndots:" + ndots + "\n";
    }

    public static Path resolvConfPath(String netns) { return ETC_NETNS.resolve(netns).resolve("resolv.conf"); }

    public static void writeResolvConf(String netns, String text) {
        Path f = resolvConfPath(netns);
        try {
            Files.createDirectories(f.getParent());
            Files.writeString(f, text);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + f + ": " + e.getMessage(), e);
        }
    }

    /** Removes /etc/netns/NETNS (our resolv.conf); nothing when it is not there. */
    public static void removeResolvConf(String netns) {
        Path d = ETC_NETNS.resolve(netns);
        try {
            Files.deleteIfExists(d.resolve("resolv.conf"));
            Files.deleteIfExists(d);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove " + d + ": " + e.getMessage(), e);
        }
    }

    /** Removes the resolv.conf of every namespace whose name starts with {@code prefix}; problems go to {@code errors}. */
    public static void removeAll(String prefix, List<String> errors) {
        if (!Files.isDirectory(ETC_NETNS)) return;
        try (var s = Files.list(ETC_NETNS)) {
            for (Path d : s.filter(p -> p.getFileName().toString().startsWith(prefix)).toList()) {
                try {
                    removeResolvConf(d.getFileName().toString());
                } catch (UncheckedIOException e) {
                    errors.add(e.getMessage());
                }
            }
        } catch (IOException e) {
            errors.add("cannot list " + ETC_NETNS + ": " + e.getMessage());
        }
    }

    /**
     * Waits until the DNS server answers inside the pod's namespace (on its loopback, so before any
     * policy or Service is in place): the lab's API server binds there once it sees the pod.
     */
    public static void awaitReady(Path netnsPath, long timeoutMs) {
        long deadline = System.currentTimeMillis() + timeoutMs;
        String last = "no answer";
        while (System.currentTimeMillis() < deadline) {
            try {
                Message a = Netns.inNetns(netnsPath, () -> query(InetAddress.getLoopbackAddress(), SERVICE + "." + NAMESPACE + ".svc.cluster.local.", 300));
                if (a != null && a.getRcode() == Rcode.NOERROR) return;
                if (a != null) last = "rcode " + Rcode.string(a.getRcode());
            } catch (RuntimeException e) {
                last = e.getMessage();
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted");
            }
        }
        throw new IllegalStateException("the lab's DNS server did not answer in " + netnsPath + " within " + timeoutMs / 1000 + " s (" + last
                + "); it runs in the lab's API server: see its log");
    }

    /** One UDP A query; null on timeout. */
    public static Message query(InetAddress server, String name, int timeoutMs) throws IOException {
        Message q = Message.newQuery(Record.newRecord(Name.fromString(name), Type.A, org.xbill.DNS.DClass.IN));
        try (DatagramSocket s = new DatagramSocket()) {
            s.setSoTimeout(timeoutMs);
            byte[] out = q.toWire();
            s.send(new DatagramPacket(out, out.length, server, 53));
            byte[] buf = new byte[4096];
            DatagramPacket p = new DatagramPacket(buf, buf.length);
            s.receive(p);
            return new Message(java.util.Arrays.copyOf(buf, p.getLength()));
        } catch (SocketTimeoutException e) {
            return null;
        }
    }
}
