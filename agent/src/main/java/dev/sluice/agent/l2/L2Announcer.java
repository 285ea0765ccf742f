package dev.sluice.agent.l2;

import dev.sluice.agent.reconcile.Decoded;
import dev.sluice.agent.reconcile.SnapshotDiff;
import dev.sluice.bpf.TypedMap;
import dev.sluice.config.Values;
import dev.sluice.datapath.maps.L2ResponderKey;
import dev.sluice.datapath.maps.L2ResponderValue;
import dev.sluice.k8s.ClusterNode;
import dev.sluice.k8s.Kinds;
import dev.sluice.k8s.L2AnnouncementPolicy;
import dev.sluice.l2.L2Selection;
import dev.sluice.lb.LbState;
import dev.sluice.net.Ip;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's side of L2 announcements (docs/services.md): after each snapshot, which Service
 * addresses this node may announce ({@link L2Selection}); every retry period, one election try per
 * such Service's lease ({@link LeaseElector}); then sl_l2_responder holds exactly the addresses of
 * the leases held here, each with the expiry the last renewal allows, and an address that starts
 * being announced here is sent as a gratuitous ARP so neighbours move to this node at once.
 *
 * <p>A lease that stops being a candidate here (the policy, Service or address went) is released,
 * so another node takes it at once. The agent stopping releases nothing: a restarted agent finds
 * its own leases and renews them, and meanwhile the data path keeps answering until the last
 * renewal's lease duration runs out; a killed one's node stops answering then, when another node may
 * take the lease.
 */
public final class L2Announcer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(L2Announcer.class);

    /** An interface this node may answer ARP on: the uplink the data path is attached to. */
    public record Iface(String name, int ifindex, String mac) {}

    /** Sends a frame out of an interface (the gratuitous ARP); a fake in tests. */
    public interface Sender { void send(int ifindex, byte[] frame); }

    /** {@code l2 list}: one address of a candidate Service, on one interface. */
    public record AnnouncementView(String service, String address, String type, String iface, int ifindex, String lease, String holder,
                                   String state, long expiresInMs, long replies, List<String> policies) {}

    /** {@code l2 list}'s whole answer. */
    public record View(String node, boolean enabled, String leaseDuration, String renewDeadline, String retryPeriod,
                       List<AnnouncementView> announcements, Map<String, Long> arp, List<String> errors) {}

    /** For status: what this node announces. */
    public record StatusView(boolean enabled, int candidates, int announced, int leasesHeld, List<String> warnings) {}

    private final Values.L2Announcements config;
    private final String node;
    private final List<Iface> ifaces;
    private final TypedMap<L2ResponderKey, L2ResponderValue> responder;
    private final java.util.function.Supplier<long[]> stats;
    private final LeaseElector elector;
    private final Sender sender;
    private final LongSupplier nanos;
    private Decoded<L2AnnouncementPolicy> policies = new Decoded<>(Kinds.CILIUM_L2_ANNOUNCEMENT_POLICY, L2AnnouncementPolicy::decode,
            L2AnnouncementPolicy::name);
    private volatile List<L2Selection.Announcement> candidates = List.of();
    private volatile Map<String, String> decodeErrors = Map.of();
    /** This node as the last computed selection saw it (null before the first). */
    private ClusterNode lastSelf;
    private ScheduledExecutorService timer;

    public L2Announcer(Values.L2Announcements config, String node, List<Iface> ifaces, TypedMap<L2ResponderKey, L2ResponderValue> responder,
                       java.util.function.Supplier<long[]> stats, LeaseElector elector, Sender sender, LongSupplier nanos) {
        this.config = config;
        this.node = node;
        this.ifaces = List.copyOf(ifaces);
        this.responder = responder;
        this.stats = stats;
        this.elector = elector;
        this.sender = sender;
        this.nanos = nanos;
    }

    /** After each snapshot: the policies' changes and the Services as the LB model left them (always recomputed). */
    public void apply(SnapshotDiff.Changes changes, LbState services, ClusterNode self) { apply(changes, services, self, true); }

    /**
     * As above; {@code servicesChanged} false when the LB model's frontends on this node are as the
     * previous snapshot left them: then only a policy or this node's labels changing recompute the
     * selection, so a snapshot that touched neither costs nothing here.
     */
    public synchronized void apply(SnapshotDiff.Changes changes, LbState services, ClusterNode self, boolean servicesChanged) {
        boolean policiesChanged = !policies.update(changes).isEmpty();
        if (!servicesChanged && !policiesChanged && self.equals(lastSelf)) return;
        lastSelf = self;
        decodeErrors = Map.copyOf(policies.errors());
        var before = candidates;
        candidates = services == null || policies.values().isEmpty() ? List.of()
                : L2Selection.forNode(policies.values(), services.services().values(), self, ifaces.stream().map(Iface::name).toList());
        // a new or changed candidate is tried now, not at the next retry period
        if (timer != null && !before.equals(candidates)) timer.execute(this::tickQuietly);
    }

    /** After a failed apply: the next snapshot comes whole, and the selection is computed again from it. */
    public synchronized void resync() {
        policies = new Decoded<>(Kinds.CILIUM_L2_ANNOUNCEMENT_POLICY, L2AnnouncementPolicy::decode, L2AnnouncementPolicy::name);
        lastSelf = null;
    }

    /** Starts the election loop: one try per candidate lease every retry period. */
    public synchronized void start() {
        if (timer != null) return;
        timer = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().name("l2-announce").daemon().unstarted(r));
        long period = config.retryPeriod().toMillis();
        timer.scheduleWithFixedDelay(this::tickQuietly, 0, period, TimeUnit.MILLISECONDS);
    }

    private void tickQuietly() {
        try {
            tick();
        } catch (RuntimeException e) {
            log.warn("l2 announcements: {}", e.toString());
        }
    }

    /** One round: an election try per candidate Service, releases for the others, then the responder map. */
    public void tick() {
        List<L2Selection.Announcement> now = candidates;
        Set<String> leases = new java.util.TreeSet<>();
        for (String s : L2Selection.services(now)) leases.add(L2Selection.leaseName(s));
        for (String held : elector.leases()) if (!leases.contains(held)) elector.release(held);
        Map<String, LeaseElector.Status> status = new HashMap<>();
        for (String l : leases) status.put(l, elector.tick(l));
        reconcile(now, status);
    }

    /** sl_l2_responder = the addresses of the leases held here, with their expiry; new ones announced by gratuitous ARP. */
    private synchronized void reconcile(List<L2Selection.Announcement> now, Map<String, LeaseElector.Status> status) {
        Map<L2ResponderKey, L2ResponderValue> want = new LinkedHashMap<>();
        Map<String, Iface> names = new HashMap<>();
        ifaces.forEach(i -> names.put(i.name(), i));
        for (L2Selection.Announcement a : now) {
            LeaseElector.Status st = status.get(L2Selection.leaseName(a.service()));
            if (st == null || !st.leader()) continue;
            for (String n : a.interfaces()) {
                Iface i = names.get(n);
                if (i == null) continue;
                want.put(new L2ResponderKey(a.address(), i.ifindex()), new L2ResponderValue(st.leaderUntilNanos(), i.mac(), 0));
            }
        }
        Map<L2ResponderKey, L2ResponderValue> have = responder.all();
        for (var e : want.entrySet()) {
            L2ResponderValue old = have.get(e.getKey());
            L2ResponderValue v = old == null ? e.getValue() : new L2ResponderValue(e.getValue().expires(), e.getValue().mac(), old.replies());
            responder.put(e.getKey(), v);
            if (old == null || old.expires() <= nanos.getAsLong()) {
                // newly announced here (or after a gap): neighbours that cached another node's MAC move now
                try {
                    sender.send(e.getKey().ifindex(), dev.sluice.netlink.PacketSocket.gratuitousArp(e.getValue().mac(), e.getKey().address()));
                    log.info("announcing {} on ifindex {} (gratuitous ARP sent)", Ip.format(e.getKey().address()), e.getKey().ifindex());
                } catch (RuntimeException ex) {
                    log.warn("announcing {}: gratuitous ARP: {}", Ip.format(e.getKey().address()), ex.getMessage());
                }
            }
        }
        for (L2ResponderKey k : have.keySet()) {
            if (want.containsKey(k)) continue;
            responder.remove(k);
            log.info("no longer announcing {} on ifindex {}", Ip.format(k.address()), k.ifindex());
        }
    }

    /** {@code l2}: every candidate address with its lease's holder, and the ARP counters. */
    public View view() {
        Map<String, LeaseElector.Status> st = elector.statuses();
        Map<L2ResponderKey, L2ResponderValue> map = responder.all();
        Map<String, Iface> names = new HashMap<>();
        ifaces.forEach(i -> names.put(i.name(), i));
        long now = nanos.getAsLong();
        List<AnnouncementView> out = new ArrayList<>();
        List<String> errors = new ArrayList<>(decodeErrors.values());
        for (L2Selection.Announcement a : candidates) {
            String lease = L2Selection.leaseName(a.service());
            LeaseElector.Status s = st.get(lease);
            if (s != null && !s.error().isEmpty()) errors.add("lease " + lease + ": " + s.error());
            for (String n : a.interfaces()) {
                Iface i = names.get(n);
                L2ResponderValue v = i == null ? null : map.get(new L2ResponderKey(a.address(), i.ifindex()));
                String state = v != null && v.expires() > now ? "announcing" : s == null ? "pending"
                        : s.holder().isEmpty() ? "acquiring" : s.holder().equals(node) ? "expired" : "standby";
                out.add(new AnnouncementView(a.service(), Ip.format(a.address()), a.type().text, n, i == null ? 0 : i.ifindex(), lease,
                        s == null ? "" : s.holder(), state, v == null ? 0 : Math.max(0, (v.expires() - now) / 1_000_000), v == null ? 0 : v.replies(),
                        a.policies()));
            }
        }
        Map<String, Long> arp = new TreeMap<>();
        long[] counts = stats.get();
        for (int i = 0; i < counts.length; i++) if (counts[i] > 0) arp.put(L2ResponderValue.outcomeName(i), counts[i]);
        return new View(node, true, Values.text(config.leaseDuration()), Values.text(config.renewDeadline()), Values.text(config.retryPeriod()),
                out, arp, errors);
    }

    public StatusView status() {
        View v = view();
        long announced = v.announcements().stream().filter(a -> a.state().equals("announcing")).count();
        int held = (int) elector.statuses().values().stream().filter(LeaseElector.Status::leader).count();
        return new StatusView(true, v.announcements().size(), (int) announced, held, v.errors());
    }

    @Override public synchronized void close() {
        if (timer != null) timer.shutdownNow();
    }
}
