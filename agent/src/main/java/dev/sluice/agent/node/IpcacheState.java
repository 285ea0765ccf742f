package dev.sluice.agent.node;

import dev.sluice.config.Values;
import dev.sluice.ipcache.IpcacheModel;
import dev.sluice.k8s.ClusterNode;
import dev.sluice.k8s.Pod;
import dev.sluice.net.Cidr;
import dev.sluice.net.Ip;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.function.ToIntFunction;

/**
 * The desired ipcache ({@link IpcacheModel#compute}), kept between snapshots so a pod change costs
 * one entry instead of a pass over every pod: {@link #compute} from scratch (first, or when nodes or
 * identities at large changed), {@link #patch} for a few pods. Both give the same map: for an address
 * several pods claim (a pod leaving while another gets its address), the pod sorting last by
 * namespace/name wins, as a from-scratch pass over pods in key order keeps the last.
 *
 * <p>Not thread-safe: the agent's apply path.
 */
public final class IpcacheState {
    private final String self;
    private final Values.RoutingMode mode;
    private final TreeMap<Cidr, IpcacheModel.Entry> desired = new TreeMap<>();
    /** Node-level entries alone (what a /32 falls back to when its last pod goes). */
    private Map<Cidr, IpcacheModel.Entry> base = Map.of();
    private final Map<String, Integer> nodeIps = new HashMap<>();
    private final Map<String, Integer> podIp = new HashMap<>();
    private final Map<Integer, TreeSet<String>> podsAt = new HashMap<>();

    public IpcacheState(String self, Values.RoutingMode mode) {
        this.self = self;
        this.mode = mode;
    }

    /** Everything from scratch; returns the whole desired map. */
    public Map<Cidr, IpcacheModel.Entry> compute(List<ClusterNode> nodes, Collection<Pod> pods, ToIntFunction<Pod> identities) {
        List<Pod> sorted = new ArrayList<>(pods);
        sorted.sort(Comparator.comparing(Pod::key));
        base = IpcacheModel.compute(self, nodes, List.of(), identities, mode);
        desired.clear();
        desired.putAll(IpcacheModel.compute(self, nodes, sorted, identities, mode));
        nodeIps.clear();
        for (ClusterNode n : nodes) if (!n.internalIP().isEmpty()) nodeIps.put(n.name(), Ip.parse(n.internalIP()));
        podIp.clear();
        podsAt.clear();
        for (Pod p : sorted) index(p);
        return desired;
    }

    /**
     * Recomputes the entries of these pods ({@code current}: the pod now, null when gone) and returns
     * the addresses whose entry may have changed. The nodes must be those of the last {@link #compute}.
     */
    public Set<Cidr> patch(Collection<String> podKeys, Function<String, Pod> current, ToIntFunction<Pod> identities) {
        Set<Integer> touched = new HashSet<>();
        Map<String, Pod> now = new HashMap<>();
        for (String k : podKeys) {
            Integer old = podIp.remove(k);
            if (old != null) {
                touched.add(old);
                TreeSet<String> at = podsAt.get(old);
                at.remove(k);
                if (at.isEmpty()) podsAt.remove(old);
            }
            Pod p = current.apply(k);
            if (p != null && index(p)) {
                touched.add(podIp.get(k));
                now.put(k, p);
            }
        }
        Set<Cidr> out = new HashSet<>();
        for (int ip : touched) {
            Cidr c = new Cidr(ip, 32);
            out.add(c);
            TreeSet<String> at = podsAt.get(ip);
            if (at == null) {
                IpcacheModel.Entry b = base.get(c);
                if (b == null) desired.remove(c);
                else desired.put(c, b);
                continue;
            }
            String winner = at.last();
            Pod p = now.containsKey(winner) ? now.get(winner) : current.apply(winner);
            desired.put(c, entry(p, identities));
        }
        return out;
    }

    /** The desired map as it is now. */
    public Map<Cidr, IpcacheModel.Entry> desired() { return desired; }

    private boolean index(Pod p) {
        if (p.podIP().isEmpty() || !Ip.isIpv4(p.podIP())) return false;
        int ip = Ip.parse(p.podIP());
        podIp.put(p.key(), ip);
        podsAt.computeIfAbsent(ip, x -> new TreeSet<>()).add(p.key());
        return true;
    }

    /** One pod's entry, as IpcacheModel.compute makes it. */
    private IpcacheModel.Entry entry(Pod p, ToIntFunction<Pod> identities) {
        Integer nodeIp = nodeIps.get(p.nodeName());
        boolean remote = nodeIp != null && !p.nodeName().equals(self);
        int tunnel = remote && mode == Values.RoutingMode.TUNNEL ? nodeIp : 0;
        return new IpcacheModel.Entry(identities.applyAsInt(p), tunnel, 0);
    }
}
