package dev.sluice.agent.policy;

import dev.sluice.agent.reconcile.Decoded;
import dev.sluice.agent.reconcile.SnapshotDiff;
import dev.sluice.agent.reconcile.MapView;
import dev.sluice.agent.endpoint.Endpoint;
import dev.sluice.bpf.BpfException;
import dev.sluice.config.Values;
import dev.sluice.datapath.NodeDatapath;
import dev.sluice.datapath.maps.PolicyCidrKey;
import dev.sluice.datapath.maps.PolicyEntryKey;
import dev.sluice.datapath.maps.PolicyEntryValue;
import dev.sluice.identity.Identity;
import dev.sluice.k8s.KubeObject;
import dev.sluice.k8s.Namespace;
import dev.sluice.k8s.Pod;
import dev.sluice.policy.Change;
import dev.sluice.policy.EndpointPolicy;
import dev.sluice.policy.EngineConfig;
import dev.sluice.policy.PolicyEngine;
import dev.sluice.policy.Policy;
import dev.sluice.policy.PolicyInputs;
import dev.sluice.policymap.PolicyMaps;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps every local endpoint's policy in the kernel equal to what the engine computes, never
 * opening a window: new and changed entries are written before stale ones are removed, denies go in
 * before the allows they narrow and leave after them (see write), an endpoint
 * whose policy is not known yet drops everything, and an endpoint whose pod has left the cluster
 * state (deleted with its namespace, say) keeps its last policy until CNI DEL removes it.
 *
 * <p>sl_policy and sl_policy_cidr are shared by all endpoints of the node. When one is full, the
 * endpoint being written fails closed (F_OVERFLOW: drops all its traffic) and gives back what it
 * held, with a problem saying so; the other endpoints keep converging, and the next program()
 * of that endpoint tries again.
 */
public final class PolicyReconciler {
    private static final Logger log = LoggerFactory.getLogger(PolicyReconciler.class);

    private static final PolicyMaps.EndpointMaps NONE = new PolicyMaps.EndpointMaps(0, Map.of(), Map.of());
    private static final PolicyMaps.EndpointMaps PENDING = new PolicyMaps.EndpointMaps(PolicyMaps.F_PENDING, Map.of(), Map.of());
    private static final PolicyMaps.EndpointMaps OVERFLOW = new PolicyMaps.EndpointMaps(PolicyMaps.F_OVERFLOW, Map.of(), Map.of());
    /** What an LPM trie answers to a new key when it holds max_entries. */
    private static final int ENOSPC = 28;

    private final MapView<PolicyEntryKey, PolicyEntryValue> policy;
    private final MapView<PolicyCidrKey, Integer> cidrs;
    private final int maxEntries;
    /** Guarded by this: changed in place by update(), read by program() and the queries. */
    private PolicyEngine engine;
    /** What is in the kernel per endpoint id, and the flags that go with it. */
    private final Map<Integer, PolicyMaps.EndpointMaps> programmed = new ConcurrentHashMap<>();
    private final Map<Integer, List<String>> ruleOrigins = new ConcurrentHashMap<>();
    private final Map<Integer, String> problems = new ConcurrentHashMap<>();
    /**
     * Per endpoint id, the policies selecting it per direction ({@code Kind ns/name}), as last
     * programmed: flows name them for default-deny drops without taking this object's lock.
     */
    private final Map<Integer, List<List<String>>> isolation = new ConcurrentHashMap<>();
    /**
     * Per endpoint id, the policy state last programmed, for the L7 proxies' per-request questions
     * (read without this object's lock, so a proxy never waits for a policy computation).
     */
    private final Map<Integer, dev.sluice.policy.PolicyState> states = new ConcurrentHashMap<>();
    /** Called with the L7 kinds ({@link PolicyMaps#L7_HTTP}, ...) an endpoint's entries redirect to, before they are written. */
    private java.util.function.Consumer<Set<Integer>> beforeRedirect = kinds -> {};
    /** Names of standalone containers that a Pod object has too (guarded by this). */
    private Set<String> takenNames = Set.of();

    public PolicyReconciler(NodeDatapath datapath, int maxEntries) {
        this(MapView.of(datapath.policy()), MapView.of(datapath.policyCidr()), maxEntries);
    }

    PolicyReconciler(MapView<PolicyEntryKey, PolicyEntryValue> policy, MapView<PolicyCidrKey, Integer> cidrs, int maxEntries) {
        this.policy = policy;
        this.cidrs = cidrs;
        this.maxEntries = maxEntries;
    }

    /**
     * Sets what must happen before an endpoint's REDIRECT entries go into the kernel: the agent
     * starts the proxy they name there, so the first connection already finds it (the data path
     * drops a redirect to a proxy that is not there, reason 144).
     */
    public PolicyReconciler beforeRedirect(java.util.function.Consumer<Set<Integer>> hook) {
        this.beforeRedirect = hook;
        return this;
    }

    /** The policy programmed for an endpoint, or null when none is (yet, or any more). */
    public dev.sluice.policy.PolicyState state(int endpointId) { return states.get(endpointId); }

    /** Reads back what an earlier run programmed, so a restart rewrites only differences. */
    public void restore(Map<Integer, Integer> flagsByEndpoint) {
        Map<Integer, Map<PolicyMaps.Key, PolicyMaps.Value>> entries = new HashMap<>();
        Map<Integer, Map<PolicyMaps.CidrKey, Integer>> cidr = new HashMap<>();
        policy.all().forEach((k, v) -> entries.computeIfAbsent(k.endpoint(), x -> new HashMap<>()).put(k.key(), new PolicyMaps.Value(v.verdict(), v.l7(), List.of())));
        cidrs.all().forEach((k, v) -> cidr.computeIfAbsent(k.endpoint(), x -> new HashMap<>()).put(new PolicyMaps.CidrKey(k.direction(), k.prefix()), v));
        flagsByEndpoint.forEach((id, flags) -> programmed.put(id, new PolicyMaps.EndpointMaps(flags,
                entries.getOrDefault(id, Map.of()), cidr.getOrDefault(id, Map.of()))));
    }

    /**
     * What one update did: the objects that did not decode, and the pods whose policy or identity
     * the changes touched (every pod on the first update), so only their endpoints are rewritten.
     */
    public record Update(List<String> errors, Set<String> touched, boolean all) {
        public boolean touches(String pod) { return all || touched.contains(pod); }
    }

    /**
     * Brings the engine to the cluster state. The first call computes everything; later ones apply
     * only the difference to what the engine holds, as {@link PolicyEngine#apply} changes, so the
     * work follows the change, not the cluster (a pod's labels recompute what selects it).
     */
    public synchronized Update update(List<KubeObject> objects, Values values) { return update(objects, values, List.of()); }

    /**
     * As {@link #update(List, Values)}, with this node's standalone containers (no Pod object) as
     * pods without labels. One whose name a Pod object has is not among them: its endpoint drops
     * everything (see {@link #program}) until one of the two is renamed or gone.
     */
    public synchronized Update update(List<KubeObject> objects, Values values, List<Pod> standalone) {
        PolicyInputs.Decoded d = PolicyInputs.decode(objects);
        List<String> errs = new ArrayList<>();
        d.errors().forEach(x -> errs.add(x.getMessage()));
        Set<String> cluster = new HashSet<>();
        d.inputs().pods().forEach(p -> cluster.add(p.key()));
        Set<String> taken = new HashSet<>();
        for (Pod p : standalone) if (cluster.contains(p.key())) taken.add(p.key());
        Set<String> retaken = standaloneTaken(taken);
        PolicyInputs want = d.inputs().withPods(standalone);
        if (engine == null) {
            engine = newEngine(values);
            engine.load(want);
            return new Update(errs, Set.of(), true);
        }
        Set<String> touched = new HashSet<>(retaken);
        long renumberings = engine.renumberings();
        for (Change c : changes(engine.inputs(), want)) {
            touched.addAll(engine.apply(c).keySet());
            if (c instanceof Change.PodUpsert(var p)) touched.add(p.key());
            if (c instanceof Change.PodDelete(var key)) touched.add(key);
        }
        return new Update(errs, touched, engine.renumberings() != renumberings);
    }

    /** When set, only this node's pods get their policy computed (see {@link #localNode}). */
    private String node;

    /**
     * Computes the policy of the pods of {@code node} only (every pod is still a peer): an agent
     * enforces policy for its own endpoints, and with 10,000 pods in the cluster a pod label change
     * would otherwise recompute the policy of every pod that names it. Before the first update.
     */
    public synchronized PolicyReconciler localNode(String node) {
        this.node = node;
        return this;
    }

    private PolicyEngine newEngine(Values values) {
        String n = node;
        return n == null ? new PolicyEngine(EngineConfig.from(values)) : new PolicyEngine(EngineConfig.from(values), p -> p.nodeName().equals(n));
    }

    /** Decoded inputs of the incremental {@link #update(SnapshotDiff.Changes, Values)}. */
    private Decoded<Namespace> nsObjects = new Decoded<>(dev.sluice.k8s.Kinds.NAMESPACE, Namespace::decode, Namespace::name);
    private Decoded<Pod> podObjects = new Decoded<>(dev.sluice.k8s.Kinds.POD, Pod::decode, Pod::key);
    private Decoded<Policy> policyObjects = new Decoded<>(dev.sluice.policy.PolicyDecoder::isPolicy, dev.sluice.policy.PolicyDecoder::decode, Policy::key);
    /** What the engine was given through the incremental path: declared namespaces, and how many pods and policies use each namespace. */
    private final Map<String, Namespace> declared = new HashMap<>();
    private final Map<String, Integer> uses = new HashMap<>();
    private final Map<String, Namespace> givenNs = new HashMap<>();
    private final Map<String, Policy> givenPolicies = new HashMap<>();

    /**
     * The same as {@link #update(List, Values)}, from one snapshot's changes ({@link SnapshotDiff}):
     * only the changed objects are decoded and compared, so a pod label change costs what the engine
     * does for it, not a decode of every pod and policy. Namespaces that no manifest declares but a
     * pod or policy uses exist implicitly, as {@link PolicyInputs#decode} makes them.
     */
    public synchronized Update update(SnapshotDiff.Changes changes, Values values) {
        var nc = nsObjects.update(changes);
        var pc = podObjects.update(changes);
        var yc = policyObjects.update(changes);
        List<String> errs = new ArrayList<>(nsObjects.errors().values());
        errs.addAll(podObjects.errors().values());
        errs.addAll(policyObjects.errors().values());
        Set<String> affectedNs = new HashSet<>();
        for (String name : nc.removed()) { declared.remove(name); affectedNs.add(name); }
        for (Namespace n : nc.upserted()) { declared.put(n.name(), n); affectedNs.add(n.name()); }
        List<Change> pods = new ArrayList<>(), podDeletes = new ArrayList<>(), policies = new ArrayList<>(), policyDeletes = new ArrayList<>();
        for (String key : pc.removed()) {
            String ns = key.substring(0, key.indexOf('/'));
            use(ns, -1);
            affectedNs.add(ns);
            podDeletes.add(new Change.PodDelete(key));
        }
        for (Pod p : pc.upserted()) {
            if (engine == null || engine.pod(p.key()) == null) use(p.namespace(), 1);
            affectedNs.add(p.namespace());
            pods.add(new Change.PodUpsert(p));
        }
        for (String key : yc.removed()) {
            Policy old = givenPolicies.remove(key);
            if (old == null) continue;
            if (!old.namespace().isEmpty()) { use(old.namespace(), -1); affectedNs.add(old.namespace()); }
            policyDeletes.add(new Change.PolicyDelete(key));
        }
        for (Policy p : yc.upserted()) {
            Policy old = givenPolicies.put(p.key(), p);
            if (old == null && !p.namespace().isEmpty()) { use(p.namespace(), 1); affectedNs.add(p.namespace()); }
            if (!p.equals(old)) policies.add(new Change.PolicyUpsert(p));
        }
        List<Change> nsUpserts = new ArrayList<>(), nsDeletes = new ArrayList<>();
        for (String name : affectedNs) {
            Namespace want = declared.getOrDefault(name, uses.getOrDefault(name, 0) > 0 ? new Namespace(name, Map.of()) : null);
            Namespace had = givenNs.get(name);
            if (want == null && had != null) {
                givenNs.remove(name);
                nsDeletes.add(new Change.NamespaceDelete(name));
            } else if (want != null && !want.equals(had)) {
                givenNs.put(name, want);
                nsUpserts.add(new Change.NamespaceUpsert(want));
            }
        }
        if (engine == null) {
            engine = newEngine(values);
            List<Pod> all = new ArrayList<>();
            for (Change c : pods) all.add(((Change.PodUpsert) c).pod());
            engine.load(new PolicyInputs(List.copyOf(givenNs.values()), all, List.copyOf(givenPolicies.values())));
            return new Update(errs, Set.of(), true);
        }
        Set<String> touched = new HashSet<>();
        long renumberings = engine.renumberings();
        List<Change> ordered = new ArrayList<>(nsUpserts);
        ordered.addAll(pods);
        ordered.addAll(policies);
        ordered.addAll(policyDeletes);
        ordered.addAll(podDeletes);
        ordered.addAll(nsDeletes);
        for (Change c : ordered) {
            if (c instanceof Change.PodUpsert(var p) && p.equals(engine.pod(p.key()))) continue;
            touched.addAll(engine.apply(c).keySet());
            if (c instanceof Change.PodUpsert(var p)) touched.add(p.key());
            if (c instanceof Change.PodDelete(var key)) touched.add(key);
        }
        // identity numbers moved (a collision): everything that holds numbers is rewritten
        return new Update(errs, touched, engine.renumberings() != renumberings);
    }

    /**
     * Forgets the engine and what the changes built up (after a failed apply): the next
     * {@link #update(SnapshotDiff.Changes, Values)} gets the whole cluster (a fresh SnapshotDiff) and
     * loads it as the first update does; what the kernel holds per endpoint is kept.
     */
    public synchronized void resync() {
        engine = null;
        nsObjects = new Decoded<>(dev.sluice.k8s.Kinds.NAMESPACE, Namespace::decode, Namespace::name);
        podObjects = new Decoded<>(dev.sluice.k8s.Kinds.POD, Pod::decode, Pod::key);
        policyObjects = new Decoded<>(dev.sluice.policy.PolicyDecoder::isPolicy, dev.sluice.policy.PolicyDecoder::decode, Policy::key);
        declared.clear();
        uses.clear();
        givenNs.clear();
        givenPolicies.clear();
    }

    private void use(String namespace, int delta) {
        if (uses.merge(namespace, delta, Integer::sum) <= 0) uses.remove(namespace);
    }

    /**
     * Records the standalone containers whose name a Pod object has (their endpoints drop
     * everything, see {@link #program}); returns the names that became or stopped being so, whose
     * endpoints must be rewritten.
     */
    public synchronized Set<String> standaloneTaken(Set<String> taken) {
        Set<String> changed = new HashSet<>(taken);
        changed.removeAll(takenNames);
        Set<String> freed = new HashSet<>(takenNames);
        freed.removeAll(taken);
        changed.addAll(freed);
        takenNames = Set.copyOf(taken);
        return changed;
    }

    /**
     * The changes from {@code had} to {@code want}: upserts of namespaces, then pods, then policies
     * (what a policy selects exists before it), and deletes the other way round.
     */
    static List<Change> changes(PolicyInputs had, PolicyInputs want) {
        List<Change> out = new ArrayList<>();
        Map<String, Namespace> hadNs = new HashMap<>(), wantNs = new HashMap<>();
        had.namespaces().forEach(n -> hadNs.put(n.name(), n));
        want.namespaces().forEach(n -> wantNs.put(n.name(), n));
        Map<String, Pod> hadPods = new HashMap<>(), wantPods = new HashMap<>();
        had.pods().forEach(p -> hadPods.put(p.key(), p));
        want.pods().forEach(p -> wantPods.put(p.key(), p));
        Map<String, Policy> hadPol = new HashMap<>(), wantPol = new HashMap<>();
        had.policies().forEach(p -> hadPol.put(p.key(), p));
        want.policies().forEach(p -> wantPol.put(p.key(), p));
        wantNs.forEach((k, n) -> { if (!n.equals(hadNs.get(k))) out.add(new Change.NamespaceUpsert(n)); });
        wantPods.forEach((k, p) -> { if (!p.equals(hadPods.get(k))) out.add(new Change.PodUpsert(p)); });
        wantPol.forEach((k, p) -> { if (!p.equals(hadPol.get(k))) out.add(new Change.PolicyUpsert(p)); });
        hadPol.keySet().forEach(k -> { if (!wantPol.containsKey(k)) out.add(new Change.PolicyDelete(k)); });
        hadPods.keySet().forEach(k -> { if (!wantPods.containsKey(k)) out.add(new Change.PodDelete(k)); });
        hadNs.keySet().forEach(k -> { if (!wantNs.containsKey(k)) out.add(new Change.NamespaceDelete(k)); });
        return out;
    }

    /**
     * Gives the toFQDNs selectors matching one of {@code names} (every selector when null: after a
     * policy change brought new ones) the addresses {@code addresses} finds for them in the FQDN
     * cache; only the endpoints whose rules name a changed selector are touched.
     */
    public synchronized Update fqdnChanged(Set<String> names, java.util.function.Function<java.util.function.Predicate<String>, Set<Integer>> addresses) {
        if (engine == null) return new Update(List.of(), Set.of(), false);
        Set<String> touched = new HashSet<>();
        long renumberings = engine.renumberings();
        for (var sel : engine.fqdnSelectors()) {
            if (names != null && names.stream().noneMatch(sel::matches)) continue;
            Set<Integer> now = addresses.apply(sel::matches);
            if (now.equals(engine.fqdnAddresses(sel))) continue;
            touched.addAll(engine.apply(new Change.FqdnAddresses(sel, now)).keySet());
        }
        return new Update(List.of(), touched, engine.renumberings() != renumberings);
    }

    /** The pod's security identity, or 0 while the engine does not know the pod. */
    public synchronized int identityOf(String podKey) {
        if (engine == null || engine.pod(podKey) == null) return 0;
        return engine.identityOf(podKey);
    }

    public synchronized List<Identity> identities() { return engine == null ? List.of() : engine.identities(); }

    /** The pods that have this identity. */
    public synchronized List<String> podsOf(int identity) { return engine == null ? List.of() : engine.podsOf(identity); }

    /** What the engine computes now (tests compare it with a from-scratch computation). */
    synchronized dev.sluice.policy.PolicyResult result() { return engine == null ? null : engine.result(); }

    /** Programs one endpoint's policy and returns the endpoint flags the data path must carry with it. */
    public synchronized int program(Endpoint ep) {
        PolicyEngine e = engine;
        EndpointPolicy p = e == null ? null : e.endpoint(ep.pod());
        PolicyMaps.EndpointMaps old = programmed.get(ep.id());
        if (ep.standalone() && takenNames.contains(ep.pod())) {
            // the policy computed under this name is the Pod object's, not the container's: none applies
            problems.put(ep.id(), ep.pod() + ": standalone container " + ep.containerId() + " has the name of a Pod object; it drops all "
                    + "traffic (expected: a container name that no pod in its namespace has)");
            Map<PolicyMaps.Key, PolicyMaps.Value> entries = new HashMap<>(old == null ? Map.of() : old.entries());
            Map<PolicyMaps.CidrKey, Integer> addresses = new HashMap<>(old == null ? Map.of() : old.cidrs());
            write(ep.id(), entries, addresses, PENDING);
            programmed.put(ep.id(), PENDING);
            states.remove(ep.id());
            return PENDING.flags();
        }
        if (p == null) {
            if (old != null) return old.flags();   // gone from the cluster state: keep the last policy until CNI DEL
            programmed.put(ep.id(), new PolicyMaps.EndpointMaps(PolicyMaps.F_PENDING, Map.of(), Map.of()));
            return PolicyMaps.F_PENDING;
        }
        isolation.put(ep.id(), List.of(p.state().ingressPolicies(), p.state().egressPolicies()));
        PolicyMaps.EndpointMaps want = PolicyMaps.compile(p.state());
        Set<Integer> l7 = new java.util.TreeSet<>();
        for (PolicyMaps.Value v : want.entries().values()) if (v.verdict() == PolicyMaps.REDIRECT) l7.add(v.l7());
        if (!l7.isEmpty()) beforeRedirect.accept(l7);
        if (want.size() > maxEntries) {
            problems.put(ep.id(), ep.pod() + ": policy needs " + want.size() + " map entries, more than bpf.policyMapMax " + maxEntries
                    + "; the endpoint drops all traffic (expected: fewer or broader rules, or a larger bpf.policyMapMax)");
            want = OVERFLOW;
        } else {
            problems.remove(ep.id());
        }
        // What the kernel holds for the endpoint, kept current by every write, so a failed write can be undone.
        Map<PolicyMaps.Key, PolicyMaps.Value> entries = new HashMap<>(old == null ? Map.of() : old.entries());
        Map<PolicyMaps.CidrKey, Integer> addresses = new HashMap<>(old == null ? Map.of() : old.cidrs());
        try {
            write(ep.id(), entries, addresses, want);
        } catch (BpfException ex) {
            if (ex.errno() != ENOSPC) throw ex;
            problems.put(ep.id(), ep.pod() + ": " + ex.subject() + " is full (shared by all endpoints of the node) writing the endpoint's "
                    + want.size() + " policy entries; it drops all traffic (reason 143) until they fit (expected: fewer or broader rules "
                    + "selecting this node's pods, or a larger POLICY_MAX / POLICY_CIDR_MAX in bpf/lib/policy.h)");
            want = OVERFLOW;
            write(ep.id(), entries, addresses, want);
        }
        programmed.put(ep.id(), want);
        if (want == OVERFLOW) states.remove(ep.id());
        else states.put(ep.id(), p.state());
        return want.flags();
    }

    /**
     * A deny is in place before the allows it narrows and stays until they are gone: new and changed
     * entries go in as denies, address mappings that shield, allows and redirects, then mappings to
     * allowing sets; stale ones leave in the reverse order. A CIDR set's entries of a kind are written
     * before an address maps to it, so a mapping never points at less than it should. {@code had} and
     * {@code hadCidr} are what the kernel holds for the endpoint and follow every write, so a write
     * that fails midway can be undone by writing the empty state.
     */
    private void write(int id, Map<PolicyMaps.Key, PolicyMaps.Value> had, Map<PolicyMaps.CidrKey, Integer> hadCidr,
                       PolicyMaps.EndpointMaps want) {
        putEntries(id, had, want, true);
        putCidrs(id, hadCidr, want, true);
        putEntries(id, had, want, false);
        putCidrs(id, hadCidr, want, false);
        removeEntries(id, had, want, false);
        removeCidrs(id, hadCidr, had, want, false);
        removeCidrs(id, hadCidr, had, want, true);
        removeEntries(id, had, want, true);
    }

    private void putEntries(int id, Map<PolicyMaps.Key, PolicyMaps.Value> had, PolicyMaps.EndpointMaps want, boolean denies) {
        for (var en : want.entries().entrySet()) {
            if (narrows(en.getValue()) != denies || en.getValue().equals(had.get(en.getKey()))) continue;
            int rule = PolicyMaps.ruleId(en.getValue().origins());
            ruleOrigins.put(rule, en.getValue().origins());
            policy.put(new PolicyEntryKey(id, en.getKey()), new PolicyEntryValue(en.getValue().verdict(), rule, en.getKey().prefixLength(), en.getValue().l7()));
            had.put(en.getKey(), en.getValue());
        }
    }

    private void putCidrs(int id, Map<PolicyMaps.CidrKey, Integer> had, PolicyMaps.EndpointMaps want, boolean shielding) {
        for (var en : want.cidrs().entrySet()) {
            if (shields(en.getValue(), want.entries()) != shielding || en.getValue().equals(had.get(en.getKey()))) continue;
            cidrs.put(new PolicyCidrKey(id, en.getKey().direction(), en.getKey().prefix()), en.getValue());
            had.put(en.getKey(), en.getValue());
        }
    }

    private void removeEntries(int id, Map<PolicyMaps.Key, PolicyMaps.Value> had, PolicyMaps.EndpointMaps want, boolean denies) {
        for (var en : List.copyOf(had.entrySet()))
            if (narrows(en.getValue()) == denies && !want.entries().containsKey(en.getKey())) {
                policy.remove(new PolicyEntryKey(id, en.getKey()));
                had.remove(en.getKey());
            }
    }

    /** Entries that narrow what an ALLOW lets through (a DENY, or a REDIRECT to the proxy): written first, removed last. */
    private static boolean narrows(PolicyMaps.Value v) { return v.verdict() != PolicyMaps.ALLOW; }

    /** Shortest prefix first: removing a mapping then never uncovers a stale shorter one. */
    private void removeCidrs(int id, Map<PolicyMaps.CidrKey, Integer> had, Map<PolicyMaps.Key, PolicyMaps.Value> hadEntries,
                             PolicyMaps.EndpointMaps want, boolean shielding) {
        List<PolicyMaps.CidrKey> stale = had.entrySet().stream()
                .filter(en -> shields(en.getValue(), hadEntries) == shielding && !want.cidrs().containsKey(en.getKey()))
                .map(Map.Entry::getKey)
                .sorted(Comparator.comparingInt(k -> k.prefix().prefixLength()))
                .toList();
        for (var k : stale) {
            cidrs.remove(new PolicyCidrKey(id, k.direction(), k.prefix()));
            had.remove(k);
        }
    }

    /**
     * Whether an address mapped to this CIDR set is kept from what a shorter prefix may allow: the
     * set is none (an except hole) or holds a deny.
     */
    private static boolean shields(int set, Map<PolicyMaps.Key, PolicyMaps.Value> entries) {
        if (set == 0) return true;
        for (var e : entries.entrySet()) if (e.getKey().identity() == set && e.getValue().verdict() == PolicyMaps.DENY) return true;
        return false;
    }

    /** CNI DEL: the endpoint's entries go. */
    public synchronized void forget(int endpointId) {
        PolicyMaps.EndpointMaps old = programmed.remove(endpointId);
        states.remove(endpointId);
        problems.remove(endpointId);
        isolation.remove(endpointId);
        if (old == null) return;
        write(endpointId, new HashMap<>(old.entries()), new HashMap<>(old.cidrs()), NONE);
        log.debug("policy of endpoint {} removed", endpointId);
    }

    public Optional<PolicyMaps.EndpointMaps> programmed(int endpointId) { return Optional.ofNullable(programmed.get(endpointId)); }

    public List<String> origins(int ruleId) { return ruleOrigins.getOrDefault(ruleId, List.of()); }

    /**
     * The policies ({@code Kind ns/name}) selecting endpoint {@code endpointId} in {@code direction}
     * (PolicyMaps.INGRESS/EGRESS) as last programmed: those that isolate it there. Lock-free, for
     * the flow observer's thread.
     */
    public List<String> isolating(int endpointId, int direction) {
        List<List<String>> both = isolation.get(endpointId);
        return both == null ? List.of() : both.get(direction == PolicyMaps.INGRESS ? 0 : 1);
    }

    public List<String> problems() { return List.copyOf(problems.values()); }
}
