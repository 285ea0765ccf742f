package dev.sluice.lab.dns;

import dev.sluice.bpf.Netns;
import dev.sluice.k8s.ManifestReader;
import dev.sluice.k8s.Pod;
import dev.sluice.k8s.Service;
import dev.sluice.lab.LabNames;
import dev.sluice.lab.LabNet;
import dev.sluice.lab.api.ApiStore;
import dev.sluice.lab.api.ApiTypes;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;

/**
 * Runs the lab's DNS server inside the lab's API server process, which already holds the cluster
 * state: no copy, no watch, an answer always reflects the latest write. Its sockets are opened in the
 * DNS pod's network namespace (on a thread that enters it, {@link Netns#inNetns}), so queries reach
 * it through the real data path (Service translation, policy, the overlay) as they reach CoreDNS.
 * A poll sees the pod appear, move or go and (re)binds; the zone is rebuilt when the store's
 * resourceVersion moved.
 */
public final class LabDnsHost implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(LabDnsHost.class);
    static final long POLL_MS = 100;

    private final ApiStore store;
    private final String lab;
    private volatile ClusterZone zone = ClusterZone.EMPTY;
    private long zoneVersion = -1;
    private LabDnsServer server;
    private Object boundTo; // the namespace file's inode key
    private final Thread thread;
    private volatile boolean open = true;

    public LabDnsHost(ApiStore store, String lab) {
        this.store = store;
        this.lab = lab;
        this.thread = Thread.ofPlatform().name("lab-dns-host").daemon().start(this::loop);
    }

    public ClusterZone zone() { return zone; }

    private void loop() {
        while (open) {
            try {
                step();
            } catch (RuntimeException e) {
                log.warn("lab DNS: {}", e.toString());
            }
            try {
                Thread.sleep(POLL_MS);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    synchronized void step() {
        long rv = store.resourceVersion();
        if (rv != zoneVersion) {
            zone = build(store);
            zoneVersion = rv;
        }
        Path ns = Path.of(LabNet.netnsPath(LabNames.podNetns(lab, LabDns.NAMESPACE + "/" + LabDns.POD)));
        Object key = inode(ns);
        boolean podThere = store.get(type("Pod"), LabDns.NAMESPACE, LabDns.POD).isPresent();
        if (server != null && (!podThere || key == null || !key.equals(boundTo))) {
            server.close();
            server = null;
            boundTo = null;
            log.info("lab DNS: unbound (pod or its namespace gone)");
        }
        if (server == null && podThere && key != null) {
            try {
                server = Netns.inNetns(ns, () -> LabDnsServer.bind(() -> zone, new InetSocketAddress("0.0.0.0", 53)));
                boundTo = key;
                log.info("lab DNS: serving UDP and TCP port 53 in {}", ns);
            } catch (RuntimeException e) {
                log.warn("lab DNS: cannot bind in {}: {}", ns, e.getMessage());
            }
        }
    }

    private static Object inode(Path p) {
        try {
            return Files.exists(p) ? Files.getAttribute(p, "unix:ino") : null;
        } catch (IOException | UnsupportedOperationException e) {
            return null;
        }
    }

    private static ApiTypes.Type type(String kind) { return ApiTypes.ofKind("v1", kind).orElseThrow(); }

    /** The zone of what the store holds now; objects that do not decode are left out, as the agents leave them out. */
    static ClusterZone build(ApiStore store) {
        List<Service> services = new ArrayList<>();
        for (JsonNode s : store.list(type("Service"), null, x -> true)) {
            try {
                services.add(Service.decode(ManifestReader.object("api", s)));
            } catch (RuntimeException e) {
                // not served
            }
        }
        List<ClusterZone.PodEntry> pods = new ArrayList<>();
        for (JsonNode p : store.list(type("Pod"), null, x -> true)) {
            try {
                pods.add(new ClusterZone.PodEntry(Pod.decode(ManifestReader.object("api", p)),
                        p.path("spec").path("hostname").asString(""), p.path("spec").path("subdomain").asString("")));
            } catch (RuntimeException e) {
                // not served
            }
        }
        var cm = store.get(type("ConfigMap"), ExternalNames.NAMESPACE, ExternalNames.CONFIG_MAP);
        return new ClusterZone(services, pods, ExternalNames.decode(cm.orElse(null)));
    }

    @Override public void close() {
        open = false;
        thread.interrupt();
        synchronized (this) {
            if (server != null) server.close();
        }
    }
}
