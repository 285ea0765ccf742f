package dev.sluice.policy;

import dev.sluice.identity.Identity;
import dev.sluice.identity.IdentityAllocator;
import dev.sluice.identity.IdentityLabels;
import dev.sluice.identity.Reserved;
import dev.sluice.k8s.ContainerPort;
import dev.sluice.k8s.Namespace;
import dev.sluice.k8s.Pod;
import dev.sluice.k8s.Protocol;
import dev.sluice.net.Cidr;
import dev.sluice.net.Ip;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The policy compiler: from namespaces, pods and policies to every endpoint's {@link PolicyState}.
 * Pure and deterministic; not thread-safe (one owner applies changes in order).
 *
 * <p>How it stays fast: pods are grouped into identities; a rule's peers are selectors evaluated
 * against identities once (the selector cache) and re-evaluated only for identities that appear or
 * disappear; endpoints selected by the same rules share one computed state. {@link #apply} touches
 * only the endpoints whose rules or peers changed and returns per-endpoint {@link Delta}s.
 */
public final class PolicyEngine {
    private static final Comparator<Rule> RULE_ORDER = Comparator.comparing(Rule::origin).thenComparing(Rule::direction)
            .thenComparing(Rule::deny).thenComparing(Rule::marker);

    private final EngineConfig config;
    private final IdentityAllocator alloc = new IdentityAllocator();

    private final Map<String, Namespace> namespaces = new HashMap<>();
    private final Map<String, Pod> pods = new HashMap<>();
    private final Map<String, Policy> policies = new HashMap<>();
    private final Map<String, Set<String>> podsByNamespace = new HashMap<>();

    private final Map<String, IdentityLabels> podIdentity = new HashMap<>();
    private final Map<String, Map<String, String>> podSubjectLabels = new HashMap<>();
    private final Map<IdentityLabels, Set<String>> members = new HashMap<>();
    private final Map<Integer, IdentityLabels> universe = new HashMap<>();
    private final Map<String, Set<Integer>> idsByNamespace = new HashMap<>();

    private final Map<PeerSelector, Set<Integer>> selected = new HashMap<>();
    private final Map<PeerSelector, Set<Rule>> selectorRules = new HashMap<>();
    private final Map<Cidr, Integer> cidrRefs = new HashMap<>();
    /** Per toFQDNs selector, the IPv4 addresses the agent's FQDN cache holds for it now (given, not derived). */
    private final Map<FqdnSelector, Set<Integer>> fqdnAddresses = new HashMap<>();
    /** Per toFQDNs selector, the rules naming it: what a change of its addresses makes dirty, and nothing else. */
    private final Map<FqdnSelector, Set<Rule>> fqdnRules = new HashMap<>();
    /**
     * Per IPv4 address, how many pods hold it now. A learned FQDN address that is a pod's is not
     * turned into an entry: a DNS answer (which whoever runs the zone writes) must not open a path
     * to a pod; pods are reached by toEndpoints, as in Cilium, where toFQDNs selects only addresses
     * outside the cluster.
     */
    private final Map<Integer, Integer> podAddresses = new HashMap<>();
    /** How many endpoint states were computed (not taken from the memo): what tests count to check a change costs what it changes. */
    private long statesComputed;
    private final Set<Rule> namedEgressRules = new HashSet<>();
    /** Per port name, the pods of every identity with a pod declaring it: what egress named ports to any peer or a CIDR resolve against. */
    private Map<String, Set<NamedPort>> namedPorts = Map.of();
    /** Pods changed while no rule needed namedPorts: recompute before the next rule does. */
    private boolean namedPortsStale;

    private final Map<String, List<Rule>> rulesByNamespace = new HashMap<>();
    private final Map<Rule, Set<String>> ruleSubjects = new HashMap<>();
    /**
     * Per rule, its subjects that get their own policy computed ({@code subjects}): what a change of
     * the rule's peers makes dirty. An agent's rule selects ~100 pods of the cluster and one or two
     * of its node; without this every peer change walked all of them.
     */
    private final Map<Rule, Set<String>> ruleEndpoints = new HashMap<>();
    private final Map<String, Set<Rule>> endpointRules = new HashMap<>();
    private final Map<String, EndpointPolicy> endpoints = new HashMap<>();

    public PolicyEngine(EngineConfig config) {
        this(config, p -> true);
    }

    /**
     * @param subjects the pods whose own policy is computed (an agent: the pods of its node; every pod
     *     is still a peer). Others have no {@link #endpoint}, so a change costs what it does to these
     *     pods, not to every pod of the cluster. Decided per pod as it is now (spec.nodeName).
     */
    public PolicyEngine(EngineConfig config, java.util.function.Predicate<Pod> subjects) {
        this.config = Objects.requireNonNull(config);
        this.subjects = Objects.requireNonNull(subjects);
    }

    private final java.util.function.Predicate<Pod> subjects;

    public EngineConfig config() { return config; }

    /** Computes everything from scratch for these inputs (replacing any previous state). */
    public PolicyResult load(PolicyInputs in) {
        namespaces.clear();
        pods.clear();
        policies.clear();
        for (Namespace n : in.namespaces()) namespaces.put(n.name(), n);
        for (Pod p : in.pods()) pods.put(p.key(), p);
        for (Policy p : in.policies()) policies.put(p.key(), p);
        fqdnAddresses.clear();
        in.fqdns().forEach((k, v) -> { if (!v.isEmpty()) fqdnAddresses.put(k, new HashSet<>(v)); });
        rebuild();
        return result();
    }

    /** The current inputs, sorted (for a from-scratch comparison). */
    public PolicyInputs inputs() {
        Map<FqdnSelector, Set<Integer>> fqdns = new TreeMap<>();
        fqdnAddresses.forEach((k, v) -> fqdns.put(k, new TreeSet<>(v)));
        return new PolicyInputs(new TreeMap<>(namespaces).values().stream().toList(),
                new TreeMap<>(pods).values().stream().toList(), new TreeMap<>(policies).values().stream().toList(), fqdns);
    }

    private void rebuild() {
        podsByNamespace.clear();
        podIdentity.clear();
        podSubjectLabels.clear();
        members.clear();
        universe.clear();
        idsByNamespace.clear();
        selected.clear();
        selectorRules.clear();
        cidrRefs.clear();
        fqdnRules.clear();
        namedEgressRules.clear();
        rulesByNamespace.clear();
        ruleSubjects.clear();
        ruleEndpoints.clear();
        endpointRules.clear();
        endpoints.clear();
        podAddresses.clear();
        for (Pod p : pods.values()) {
            podAddress(p, 1, null);
            ensureNamespace(p.namespace());
            podsByNamespace.computeIfAbsent(p.namespace(), k -> new HashSet<>()).add(p.key());
            IdentityLabels l = identityLabels(p);
            podIdentity.put(p.key(), l);
            podSubjectLabels.put(p.key(), subjectLabels(p));
            members.computeIfAbsent(l, k -> new HashSet<>()).add(p.key());
        }
        List<Cidr> cidrs = new ArrayList<>();
        for (Policy pol : policies.values()) for (Rule r : pol.rules()) for (Peer pe : r.peers()) if (pe instanceof Peer.Block b) cidrs.add(b.cidr());
        Set<FqdnSelector> usedFqdns = new HashSet<>();
        for (Policy pol : policies.values()) for (Rule r : pol.rules()) for (Peer pe : r.peers()) if (pe instanceof Peer.Fqdn f) usedFqdns.add(f.selector());
        for (FqdnSelector f : usedFqdns) for (int ip : fqdnAddresses.getOrDefault(f, Set.of())) cidrs.add(new Cidr(ip, 32));
        alloc.reset(members.keySet(), cidrs);
        for (Reserved r : Reserved.values()) universe.put(r.id, r.identity().labels());
        for (IdentityLabels l : members.keySet()) addToUniverse(l);
        namedPorts = computeNamedPorts();
        namedPortsStale = false;
        for (Policy pol : policies.values()) for (Rule r : pol.rules()) registerRule(r);
        for (Pod p : pods.values()) endpointRules.put(p.key(), new HashSet<>());
        for (Policy pol : policies.values()) for (Rule r : pol.rules()) {
            Set<String> subj = subjectsOf(r);
            ruleSubjects.put(r, subj);
            ruleEndpoints.put(r, endpointsOf(subj));
            for (String e : subj) endpointRules.get(e).add(r);
        }
        Map<StateKey, PolicyState> memo = new HashMap<>();
        for (Pod p : pods.values()) if (subjects.test(p)) endpoints.put(p.key(), compute(p, memo));
    }

    public PolicyResult result() {
        return new PolicyResult(new TreeMap<>(endpoints), identities());
    }

    public List<Identity> identities() {
        List<Identity> out = new ArrayList<>();
        for (Reserved r : Reserved.values()) out.add(r.identity());
        out.addAll(alloc.all());
        out.sort(Comparator.comparingInt(Identity::id));
        return out;
    }

    public EndpointPolicy endpoint(String key) { return endpoints.get(key); }

    public Pod pod(String key) { return pods.get(key); }

    public Collection<Pod> pods() { return pods.values(); }

    /** The identity number of a pod. */
    public int identityOf(String podKey) { return alloc.identity(podIdentity.get(podKey)).id(); }

    public IdentityLabels identityLabels(int id) { return universe.get(id); }

    /** The pods holding an identity, sorted. */
    public List<String> podsOf(int id) {
        IdentityLabels l = universe.get(id);
        Set<String> m = l == null ? null : members.get(l);
        return m == null ? List.of() : new TreeSet<>(m).stream().toList();
    }

    /** The rules that select a pod, in a stable order. */
    public List<Rule> rulesFor(String podKey) {
        List<Rule> out = new ArrayList<>(endpointRules.getOrDefault(podKey, Set.of()));
        out.sort(RULE_ORDER);
        return out;
    }

    // ---- FQDN and DNS: what the agent's DNS proxy and FQDN cache ask ----

    /**
     * Every toFQDNs selector some rule names now, sorted: the names the DNS proxy learns (for the
     * selectors of its node's endpoints see {@link #fqdnSelectors(String)}).
     */
    public Set<FqdnSelector> fqdnSelectors() { return new TreeSet<>(fqdnRules.keySet()); }

    /** The selectors in use that a DNS answer for {@code name} feeds (what the FQDN cache updates on an answer), sorted. */
    public Set<FqdnSelector> fqdnSelectorsMatching(String name) {
        Set<FqdnSelector> out = new TreeSet<>();
        for (FqdnSelector f : fqdnRules.keySet()) if (f.matches(name)) out.add(f);
        return out;
    }

    /** The toFQDNs selectors of the egress rules selecting this endpoint, sorted (empty when none, or unknown endpoint). */
    public Set<FqdnSelector> fqdnSelectors(String endpoint) {
        Set<FqdnSelector> out = new TreeSet<>();
        for (Rule r : endpointRules.getOrDefault(endpoint, Set.of()))
            if (r.direction() == Direction.EGRESS && !r.deny()) for (Peer pe : r.peers()) if (pe instanceof Peer.Fqdn f) out.add(f.selector());
        return out;
    }

    /** The addresses the engine holds for a selector (what the last {@link Change.FqdnAddresses} gave), sorted. */
    public Set<Integer> fqdnAddresses(FqdnSelector selector) { return new TreeSet<>(fqdnAddresses.getOrDefault(selector, Set.of())); }

    /**
     * The DNS rules of an endpoint's egress policy (the union over its DNS redirect entries), sorted;
     * empty when no rule sends its DNS to the proxy. Which server and port a rule applies to is in
     * the entries: ask {@link PolicyState#decide} with a {@link PolicyState.DnsQuery} per query.
     */
    public Set<DnsRule> dnsRules(String endpoint) {
        EndpointPolicy e = endpoints.get(endpoint);
        Set<DnsRule> out = new TreeSet<>();
        if (e != null) for (var en : e.state().entries().entrySet())
            if (en.getKey().direction() == Direction.EGRESS && en.getValue().l7() == L7Kind.DNS) out.addAll(en.getValue().dns());
        return out;
    }

    /** How many endpoint states were computed so far (shared states once): a test counts what a change costs. */
    public long statesComputed() { return statesComputed; }

    /** The identities a peer selector matches now. */
    public Set<Integer> selectedBy(PeerSelector s) { return new TreeSet<>(selection(s)); }

    // ---- incremental ----

    /** Applies one change; returns, for each endpoint whose map state changed, what changed. */
    public Map<String, Delta> apply(Change change) {
        var ctx = new ApplyContext();
        switch (change) {
            case Change.PodUpsert(Pod p) -> upsertPod(p, ctx);
            case Change.PodDelete(String key) -> deletePod(key, ctx);
            case Change.NamespaceUpsert(Namespace n) -> upsertNamespace(n, ctx);
            case Change.NamespaceDelete(String name) -> upsertNamespace(new Namespace(name, Map.of()), ctx);
            case Change.PolicyUpsert(Policy p) -> {
                removePolicy(p.key(), ctx);
                policies.put(p.key(), p);
                for (Rule r : p.rules()) addRule(r, ctx);
            }
            case Change.PolicyDelete(String key) -> removePolicy(key, ctx);
            case Change.FqdnAddresses(FqdnSelector sel, Set<Integer> ips) -> setFqdnAddresses(sel, ips, ctx);
        }
        if (ctx.renumbered) {
            renumberings++;
            return recomputeAll();
        }
        refreshSelectors(ctx);
        for (Rule r : ctx.dirtyRules) {
            Set<String> s = ruleEndpoints.get(r);
            if (s != null) ctx.dirty.addAll(s);
        }
        Map<String, Delta> out = new TreeMap<>();
        Map<StateKey, PolicyState> memo = new HashMap<>();
        Map<DiffKey, Delta> diffs = new HashMap<>();
        for (String e : ctx.dirty) {
            EndpointPolicy old = endpoints.get(e);
            Pod p = pods.get(e);
            EndpointPolicy now = p == null || !subjects.test(p) ? null : compute(p, memo);
            if (now == null) endpoints.remove(e); else endpoints.put(e, now);
            Delta d = diff(old, now, diffs);
            if (d != null) out.put(e, d);
        }
        return out;
    }

    /**
     * How many changes so far moved existing identity numbers (a hash collision: every number is
     * recomputed). A consumer that patches per changed pod must then redo everything that holds
     * numbers (the ipcache), not only the changed pods' entries.
     */
    public long renumberings() { return renumberings; }

    private long renumberings;

    private Map<String, Delta> recomputeAll() {
        Map<String, EndpointPolicy> before = new HashMap<>(endpoints);
        rebuild();
        Map<String, Delta> out = new TreeMap<>();
        Map<DiffKey, Delta> diffs = new HashMap<>();
        Set<String> all = new HashSet<>(before.keySet());
        all.addAll(endpoints.keySet());
        for (String e : all) {
            Delta d = diff(before.get(e), endpoints.get(e), diffs);
            if (d != null) out.put(e, d);
        }
        return out;
    }

    private static final class ApplyContext {
        final Set<String> dirty = new LinkedHashSet<>();
        final Set<Rule> dirtyRules = new HashSet<>();
        final Map<Integer, IdentityLabels> addedIds = new HashMap<>();
        final Map<Integer, IdentityLabels> removedIds = new HashMap<>();
        final Set<Integer> portChangedIds = new HashSet<>();
        /** A pod's ports, address or identity changed: the named ports of any peer and CIDRs may resolve differently. */
        boolean portsChanged;
        boolean renumbered;
    }

    private void upsertPod(Pod p, ApplyContext ctx) {
        Pod old = pods.put(p.key(), p);
        ensureNamespace(p.namespace());
        podsByNamespace.computeIfAbsent(p.namespace(), k -> new HashSet<>()).add(p.key());
        endpointRules.computeIfAbsent(p.key(), k -> new HashSet<>());
        boolean portsDiffer = old == null || !old.ports().equals(p.ports());
        if (old == null || !old.podIP().equals(p.podIP())) {
            if (old != null) podAddress(old, -1, ctx);
            podAddress(p, 1, ctx);
        }
        reidentify(p.key(), ctx, portsDiffer);
        if (portsDiffer || !old.podIP().equals(p.podIP())) ctx.portsChanged = true;
        resubject(p, ctx);
        ctx.dirty.add(p.key());
    }

    private void deletePod(String key, ApplyContext ctx) {
        Pod old = pods.remove(key);
        if (old == null) return;
        Set<String> inNs = podsByNamespace.get(old.namespace());
        if (inNs != null) inNs.remove(key);
        podAddress(old, -1, ctx);
        IdentityLabels l = podIdentity.remove(key);
        podSubjectLabels.remove(key);
        leave(l, key, ctx);
        ctx.portsChanged = true;
        for (Rule r : endpointRules.getOrDefault(key, Set.of())) {
            Set<String> s = ruleSubjects.get(r);
            if (s != null) s.remove(key);
            Set<String> en = ruleEndpoints.get(r);
            if (en != null) en.remove(key);
        }
        endpointRules.remove(key);
        ctx.dirty.add(key);
    }

    private void upsertNamespace(Namespace n, ApplyContext ctx) {
        namespaces.put(n.name(), n);
        for (String key : new ArrayList<>(podsByNamespace.getOrDefault(n.name(), Set.of()))) {
            reidentify(key, ctx, false);
            resubject(pods.get(key), ctx);
            ctx.dirty.add(key);
        }
    }

    /** Recomputes a pod's identity labels; identities appearing or disappearing are noted. */
    private void reidentify(String key, ApplyContext ctx, boolean portsDiffer) {
        Pod p = pods.get(key);
        IdentityLabels now = identityLabels(p);
        IdentityLabels before = podIdentity.get(key);
        podSubjectLabels.put(key, subjectLabels(p));
        if (now.equals(before)) {
            if (portsDiffer) ctx.portChangedIds.add(alloc.identity(now).id());
            return;
        }
        if (before != null) leave(before, key, ctx);
        ctx.portsChanged = true;
        podIdentity.put(key, now);
        Set<String> m = members.computeIfAbsent(now, k -> new HashSet<>());
        m.add(key);
        if (m.size() == 1) {
            ctx.renumbered |= alloc.add(now);
            int id = alloc.identity(now).id();
            addToUniverse(now);
            ctx.addedIds.put(id, now);
            ctx.removedIds.remove(id);
        }
        ctx.portChangedIds.add(alloc.identity(now).id());
    }

    private void leave(IdentityLabels l, String key, ApplyContext ctx) {
        Set<String> m = members.get(l);
        int id = alloc.identity(l).id();
        ctx.portChangedIds.add(id);
        m.remove(key);
        if (m.isEmpty()) {
            members.remove(l);
            universe.remove(id);
            Set<Integer> ids = idsByNamespace.get(l.namespace());
            if (ids != null) ids.remove(id);
            ctx.renumbered |= alloc.remove(l);
            if (ctx.addedIds.remove(id) == null) ctx.removedIds.put(id, l);
        }
    }

    /** Re-evaluates which rules select a pod. */
    private void resubject(Pod p, ApplyContext ctx) {
        Set<Rule> now = new HashSet<>();
        for (String ns : List.of(p.namespace(), "")) for (Rule r : rulesByNamespace.getOrDefault(ns, List.of())) if (selectsSubject(r, p)) now.add(r);
        Set<Rule> before = endpointRules.put(p.key(), now);
        if (before != null) for (Rule r : before) {
            if (!now.contains(r)) ruleSubjects.get(r).remove(p.key());
            ruleEndpoints.get(r).remove(p.key());
        }
        boolean endpoint = subjects.test(p);
        for (Rule r : now) {
            ruleSubjects.get(r).add(p.key());
            if (endpoint) ruleEndpoints.get(r).add(p.key());
        }
    }

    private void removePolicy(String key, ApplyContext ctx) {
        Policy old = policies.remove(key);
        if (old == null) return;
        for (Rule r : old.rules()) {
            Set<String> subj = ruleSubjects.remove(r);
            ruleEndpoints.remove(r);
            for (String e : subj) {
                endpointRules.get(e).remove(r);
                ctx.dirty.add(e);
            }
            rulesByNamespace.get(r.subject().namespace()).remove(r);
            namedEgressRules.remove(r);
            for (Peer pe : r.peers()) {
                if (pe instanceof Peer.Selected s) {
                    Set<Rule> users = selectorRules.get(s.selector());
                    users.remove(r);
                    if (users.isEmpty()) {
                        selectorRules.remove(s.selector());
                        selected.remove(s.selector());
                    }
                } else if (pe instanceof Peer.Block b) {
                    unrefCidr(b.cidr(), ctx);
                } else if (pe instanceof Peer.Fqdn f) {
                    Set<Rule> users = fqdnRules.get(f.selector());
                    users.remove(r);
                    if (users.isEmpty()) {
                        fqdnRules.remove(f.selector());
                        for (int ip : fqdnAddresses.getOrDefault(f.selector(), Set.of())) unrefCidr(new Cidr(ip, 32), ctx);
                    }
                }
            }
        }
    }

    /** Counts a pod's address in or out; when an address starts or stops being a pod's, the toFQDNs rules holding it are dirty. */
    private void podAddress(Pod p, int delta, ApplyContext ctx) {
        if (!Ip.isIpv4(p.podIP())) return;
        int ip = Ip.parse(p.podIP());
        int n = podAddresses.merge(ip, delta, Integer::sum);
        if (n == 0) podAddresses.remove(ip);
        if (ctx == null || (n != 0 && n != delta)) return; // still a pod's, or was one already
        for (var e : fqdnRules.entrySet())
            if (fqdnAddresses.getOrDefault(e.getKey(), Set.of()).contains(ip)) ctx.dirtyRules.addAll(e.getValue());
    }

    private void unrefCidr(Cidr c, ApplyContext ctx) {
        int n = cidrRefs.merge(c, -1, Integer::sum);
        if (n == 0) {
            cidrRefs.remove(c);
            ctx.renumbered |= alloc.removeCidr(c);
        }
    }

    /**
     * A toFQDNs selector's addresses are now {@code now} (empty: none). Only the rules naming the
     * selector are dirty, so only the endpoints they select are recomputed; the CIDR identities
     * of addresses that appear are allocated and those of addresses no selector in use holds any
     * more are released.
     */
    private void setFqdnAddresses(FqdnSelector sel, Set<Integer> now, ApplyContext ctx) {
        Set<Integer> before = fqdnAddresses.getOrDefault(sel, Set.of());
        if (before.equals(now)) return;
        Set<Rule> users = fqdnRules.getOrDefault(sel, Set.of());
        if (!users.isEmpty()) {
            for (int ip : now) if (!before.contains(ip)) {
                Cidr c = new Cidr(ip, 32);
                if (!cidrRefs.containsKey(c)) ctx.renumbered |= alloc.addCidr(c);
                cidrRefs.merge(c, 1, Integer::sum);
            }
            for (int ip : before) if (!now.contains(ip)) unrefCidr(new Cidr(ip, 32), ctx);
            ctx.dirtyRules.addAll(users);
        }
        if (now.isEmpty()) fqdnAddresses.remove(sel); else fqdnAddresses.put(sel, new HashSet<>(now));
    }

    private void addRule(Rule r, ApplyContext ctx) {
        for (Peer pe : r.peers()) if (pe instanceof Peer.Block b && !cidrRefs.containsKey(b.cidr())) ctx.renumbered |= alloc.addCidr(b.cidr());
        Set<FqdnSelector> newlyUsed = new HashSet<>();
        for (Peer pe : r.peers())
            if (pe instanceof Peer.Fqdn f && fqdnRules.getOrDefault(f.selector(), Set.of()).isEmpty() && newlyUsed.add(f.selector()))
                for (int ip : fqdnAddresses.getOrDefault(f.selector(), Set.of())) {
                    Cidr c = new Cidr(ip, 32);
                    if (!cidrRefs.containsKey(c)) ctx.renumbered |= alloc.addCidr(c);
                    cidrRefs.merge(c, 1, Integer::sum);
                }
        registerRule(r, true);
        Set<String> subj = subjectsOf(r);
        ruleSubjects.put(r, subj);
        ruleEndpoints.put(r, endpointsOf(subj));
        for (String e : subj) {
            endpointRules.get(e).add(r);
            ctx.dirty.add(e);
        }
    }

    private void registerRule(Rule r) { registerRule(r, false); }

    /** {@code fqdnCounted}: the caller already counted the addresses of selectors this rule brings into use. */
    private void registerRule(Rule r, boolean fqdnCounted) {
        rulesByNamespace.computeIfAbsent(r.subject().namespace(), k -> new ArrayList<>()).add(r);
        if (r.direction() == Direction.EGRESS && r.hasNamedPort()) namedEgressRules.add(r);
        for (Peer pe : r.peers()) {
            if (pe instanceof Peer.Selected s) selectorRules.computeIfAbsent(s.selector(), k -> new HashSet<>()).add(r);
            else if (pe instanceof Peer.Block b) cidrRefs.merge(b.cidr(), 1, Integer::sum);
            else if (pe instanceof Peer.Fqdn f) {
                Set<Rule> users = fqdnRules.computeIfAbsent(f.selector(), k -> new HashSet<>());
                // a selector's addresses count once per selector in use (the rules share them)
                if (users.isEmpty() && !fqdnCounted) for (int ip : fqdnAddresses.getOrDefault(f.selector(), Set.of())) cidrRefs.merge(new Cidr(ip, 32), 1, Integer::sum);
                users.add(r);
            }
        }
    }

    /** Updates cached selections for identities that appeared or disappeared; marks their rules dirty. */
    private void refreshSelectors(ApplyContext ctx) {
        if (!ctx.addedIds.isEmpty() || !ctx.removedIds.isEmpty()) {
            for (var e : selected.entrySet()) {
                PeerSelector s = e.getKey();
                Set<Integer> set = e.getValue();
                boolean changed = false;
                for (var a : ctx.addedIds.entrySet()) if (s.matches(a.getValue())) changed |= set.add(a.getKey());
                for (Integer id : ctx.removedIds.keySet()) changed |= set.remove(id);
                if (changed) ctx.dirtyRules.addAll(selectorRules.getOrDefault(s, Set.of()));
            }
        }
        namedPortsStale |= ctx.portsChanged;
        if (namedEgressRules.isEmpty()) return;
        boolean globalChanged = false;
        if (namedPortsStale) {
            Map<String, Set<NamedPort>> g = computeNamedPorts();
            globalChanged = !g.equals(namedPorts);
            namedPorts = g;
            namedPortsStale = false;
        }
        for (Rule r : namedEgressRules) {
            if (r.anyPeer() && globalChanged) ctx.dirtyRules.add(r);
            for (Peer pe : r.peers()) {
                if (pe instanceof Peer.Block && globalChanged) ctx.dirtyRules.add(r);
                if (pe instanceof Peer.Selected s) for (Integer id : ctx.portChangedIds) if (selection(s.selector()).contains(id)) ctx.dirtyRules.add(r);
            }
        }
    }

    // ---- identities and subjects ----

    private void ensureNamespace(String ns) {
        namespaces.computeIfAbsent(ns, n -> new Namespace(n, Map.of()));
    }

    private IdentityLabels identityLabels(Pod p) {
        Namespace ns = namespaces.get(p.namespace());
        return IdentityLabels.pod(p.namespace(), config.labelFilter().apply(p.labels()), ns == null ? Map.of() : ns.labels());
    }

    /** All pod labels (no filter) plus the Cilium namespace labels: what endpointSelectors see. */
    private Map<String, String> subjectLabels(Pod p) {
        Namespace ns = namespaces.get(p.namespace());
        return IdentityLabels.pod(p.namespace(), p.labels(), ns == null ? Map.of() : ns.labels()).flat();
    }

    private void addToUniverse(IdentityLabels l) {
        int id = alloc.identity(l).id();
        universe.put(id, l);
        idsByNamespace.computeIfAbsent(l.namespace(), k -> new HashSet<>()).add(id);
    }

    private boolean selectsSubject(Rule r, Pod p) {
        Rule.Subject s = r.subject();
        if (s.nodes()) return false; // host endpoints are not modelled yet
        if (!s.namespace().isEmpty() && !s.namespace().equals(p.namespace())) return false;
        return s.cilium() ? s.selector().matches(podSubjectLabels.get(p.key())) : s.selector().matches(p.labels());
    }

    private Set<String> subjectsOf(Rule r) {
        Set<String> out = new HashSet<>();
        Collection<String> candidates = r.subject().namespace().isEmpty() ? pods.keySet()
                : podsByNamespace.getOrDefault(r.subject().namespace(), Set.of());
        for (String k : candidates) if (selectsSubject(r, pods.get(k))) out.add(k);
        return out;
    }

    /** The pods among {@code subj} whose own policy is computed. */
    private Set<String> endpointsOf(Set<String> subj) {
        Set<String> out = new HashSet<>();
        for (String k : subj) if (subjects.test(pods.get(k))) out.add(k);
        return out;
    }

    private Set<Integer> selection(PeerSelector s) {
        Set<Integer> hit = selected.get(s);
        if (hit != null) return hit;
        Set<Integer> out = new HashSet<>();
        if (s.kind() == PeerSelector.Kind.K8S && s.namespaces() != null) {
            for (Namespace n : namespaces.values()) {
                if (!s.namespaces().matches(n.labels())) continue;
                for (Integer id : idsByNamespace.getOrDefault(n.name(), Set.of())) if (s.matches(universe.get(id))) out.add(id);
            }
        } else {
            String ns = s.fixedNamespace();
            Collection<Integer> candidates = ns.isEmpty() ? universe.keySet() : idsByNamespace.getOrDefault(ns, Set.of());
            for (Integer id : candidates) if (s.matches(universe.get(id))) out.add(id);
        }
        selected.put(s, out);
        return out;
    }

    // ---- named ports ----

    private static int portKey(Protocol p, int port) { return p.number << 16 | port; }

    /**
     * A pod of an identity that declares a port name: its address (null when it has none) and that
     * port ({@code protocol << 16 | port}), or 0 for a pod of the identity that does not declare it.
     */
    private record NamedPort(int identity, Integer ip, int portKey) {}

    private Map<String, Set<NamedPort>> computeNamedPorts() {
        Map<String, Set<Integer>> declaring = new HashMap<>();
        for (Pod p : pods.values()) for (ContainerPort c : p.ports()) if (!c.name().isEmpty())
            declaring.computeIfAbsent(c.name(), k -> new HashSet<>()).add(identityOf(p.key()));
        Map<String, Set<NamedPort>> out = new HashMap<>();
        for (Pod p : pods.values()) {
            int id = identityOf(p.key());
            Integer ip = Ip.isIpv4(p.podIP()) ? Ip.parse(p.podIP()) : null;
            for (var d : declaring.entrySet()) {
                if (!d.getValue().contains(id)) continue;
                Set<NamedPort> set = out.computeIfAbsent(d.getKey(), k -> new HashSet<>());
                boolean declares = false;
                for (ContainerPort c : p.ports())
                    if (c.name().equals(d.getKey())) {
                        set.add(new NamedPort(id, ip, portKey(c.protocol(), c.port())));
                        declares = true;
                    }
                if (!declares) set.add(new NamedPort(id, ip, 0));
            }
        }
        return out;
    }

    private static void addPorts(Pod p, Map<String, Set<Integer>> out) {
        for (ContainerPort c : p.ports()) if (!c.name().isEmpty()) out.computeIfAbsent(c.name(), k -> new TreeSet<>()).add(portKey(c.protocol(), c.port()));
    }

    private Map<String, Set<Integer>> identityPorts(int id, Map<Integer, Map<String, Set<Integer>>> memo) {
        return memo.computeIfAbsent(id, i -> {
            Map<String, Set<Integer>> out = new HashMap<>();
            IdentityLabels l = universe.get(i);
            for (String k : l == null ? Set.<String>of() : members.getOrDefault(l, Set.of())) addPorts(pods.get(k), out);
            return out;
        });
    }

    // ---- compiling one endpoint ----

    private record StateKey(List<Rule> rules, List<ContainerPort> ports) {}

    private EndpointPolicy compute(Pod p, Map<StateKey, PolicyState> memo) {
        List<Rule> rules = rulesFor(p.key());
        boolean namedIngress = false;
        for (Rule r : rules) if (r.direction() == Direction.INGRESS && r.hasNamedPort()) namedIngress = true;
        StateKey key = new StateKey(rules, namedIngress ? p.ports() : List.of());
        PolicyState s = memo.get(key);
        if (s == null) {
            statesComputed++;
            s = state(rules, p);
            memo.put(key, s);
        }
        return new EndpointPolicy(p.key(), identityOf(p.key()), s);
    }

    private PolicyState state(List<Rule> rules, Pod pod) {
        Set<String> inPol = new TreeSet<>(), outPol = new TreeSet<>();
        for (Rule r : rules) (r.direction() == Direction.INGRESS ? inPol : outPol).add(r.policy());
        String mode = config.enforcementMode();
        if (mode.equals("never")) return new PolicyState(false, false, config.audit(), Map.of(), List.copyOf(inPol), List.copyOf(outPol));
        boolean in = mode.equals("always"), out = in;
        Entries entries = new Entries();
        Map<Integer, Map<String, Set<Integer>>> portMemo = new HashMap<>();
        for (Rule r : rules) {
            if (r.marker()) {
                if (r.direction() == Direction.INGRESS) in = true; else out = true;
                continue;
            }
            List<PolicyKey> targets = new ArrayList<>();
            if (r.anyPeer()) targets.add(new PolicyKey(r.direction(), Reserved.ANY, null, List.of(), 0, PortRange.ANY));
            for (Peer pe : r.peers()) {
                if (pe instanceof Peer.Selected s) {
                    for (Integer id : selection(s.selector())) targets.add(new PolicyKey(r.direction(), id, null, List.of(), 0, PortRange.ANY));
                } else if (pe instanceof Peer.Block b) {
                    targets.add(new PolicyKey(r.direction(), alloc.cidrIdentity(b.cidr()), b.cidr(), b.except(), 0, PortRange.ANY));
                } else if (pe instanceof Peer.Fqdn f) {
                    // each learned address a /32 CIDR entry; none learned yet: nothing (fail closed)
                    for (int ip : new TreeSet<>(fqdnAddresses.getOrDefault(f.selector(), Set.of()))) {
                        if (podAddresses.containsKey(ip)) continue; // a pod's: never by a DNS answer
                        Cidr c = new Cidr(ip, 32);
                        targets.add(new PolicyKey(r.direction(), alloc.cidrIdentity(c), c, List.of(), 0, PortRange.ANY));
                    }
                }
            }
            if (targets.isEmpty()) continue;
            if (r.ports().isEmpty()) {
                PolicyValue v = new PolicyValue(r.deny() ? Verdict.DENY : Verdict.ALLOW, List.of(), List.of(r.origin()));
                for (PolicyKey t : targets) put(entries, t, v);
                continue;
            }
            for (PortSpec ps : r.ports()) {
                PolicyValue v = r.deny() ? new PolicyValue(Verdict.DENY, List.of(), List.of(r.origin()))
                        : switch (ps.l7()) {
                            case NONE -> new PolicyValue(Verdict.ALLOW, List.of(), List.of(r.origin()));
                            case HTTP -> new PolicyValue(Verdict.REDIRECT, ps.http(), List.of(r.origin()));
                            case DNS -> PolicyValue.dns(ps.dns(), List.of(r.origin()));
                        };
                if (!ps.named()) {
                    for (int proto : protocols(ps))
                        for (PolicyKey t : targets) put(entries, with(t, proto, proto == 0 ? PortRange.ANY : ps.range()), v);
                } else if (r.direction() == Direction.INGRESS) {
                    Set<Integer> resolved = new TreeSet<>();
                    for (ContainerPort c : pod.ports())
                        if (c.name().equals(ps.name()) && (ps.protocol() == null || ps.protocol() == c.protocol())) resolved.add(portKey(c.protocol(), c.port()));
                    for (int pk : resolved) if (speaks(ps.l7(), pk >>> 16)) for (PolicyKey t : targets) put(entries, with(t, pk >>> 16, PortRange.of(pk & 0xffff)), v);
                } else {
                    for (PolicyKey t : targets) for (PolicyKey k : namedEgress(t, ps, portMemo))
                        if (speaks(ps.l7(), k.protocol())) put(entries, k, v);
                }
            }
        }
        return new PolicyState(in, out, config.audit(), entries.done(), List.copyOf(inPol), List.copyOf(outPol));
    }

    /**
     * An egress named port is the destination pod's container port of that name, so it reaches pods
     * only. An identity peer: the numbers its pods declare. Any peer or a CIDR (minus except): each
     * pod there that declares the name, with its own number, keyed by its identity; when some pods of
     * that identity lie outside the CIDR (or have no address yet), by the address of each pod inside
     * instead, so the others are not reached through their identity.
     */
    private List<PolicyKey> namedEgress(PolicyKey t, PortSpec ps, Map<Integer, Map<String, Set<Integer>>> portMemo) {
        List<PolicyKey> out = new ArrayList<>();
        if (!t.isCidr() && t.identity() != Reserved.ANY) {
            for (int pk : identityPorts(t.identity(), portMemo).getOrDefault(ps.name(), Set.of()))
                if (ps.protocol() == null || ps.protocol().number == pk >>> 16) out.add(with(t, pk >>> 16, PortRange.of(pk & 0xffff)));
            return out;
        }
        Map<Integer, List<NamedPort>> byIdentity = new TreeMap<>();
        for (NamedPort n : namedPorts.getOrDefault(ps.name(), Set.of())) byIdentity.computeIfAbsent(n.identity(), k -> new ArrayList<>()).add(n);
        for (var e : byIdentity.entrySet()) {
            boolean whole = e.getValue().stream().allMatch(n -> t.matchesPeer(e.getKey(), n.ip()));
            for (NamedPort n : e.getValue()) {
                int proto = n.portKey() >>> 16;
                if (n.portKey() == 0 || (ps.protocol() != null && ps.protocol().number != proto) || !t.matchesPeer(e.getKey(), n.ip())) continue;
                PolicyKey to = whole ? new PolicyKey(t.direction(), e.getKey(), null, List.of(), 0, PortRange.ANY)
                        : new PolicyKey(t.direction(), e.getKey(), new Cidr(n.ip(), 32), List.of(), 0, PortRange.ANY);
                out.add(with(to, proto, PortRange.of(n.portKey() & 0xffff)));
            }
        }
        return out;
    }

    private static final int[] ANY_L4 = {Protocol.TCP.number, Protocol.UDP.number, Protocol.SCTP.number};

    private static final int[] DNS_L4 = {Protocol.TCP.number, Protocol.UDP.number}, HTTP_L4 = {Protocol.TCP.number};

    private static int[] protocols(PortSpec ps) {
        if (ps.protocol() != null) return new int[] {ps.protocol().number};
        if (ps.l7() == L7Kind.DNS) return DNS_L4; // the DNS proxy speaks UDP and TCP only
        if (ps.l7() == L7Kind.HTTP) return HTTP_L4; // the HTTP proxy: TCP only
        return ps.range().isAny() ? new int[] {0} : ANY_L4;
    }

    /** Whether the proxy of an L7 kind takes this protocol: HTTP TCP, DNS UDP and TCP; plain L4 every one. */
    private static boolean speaks(L7Kind l7, int proto) {
        return switch (l7) {
            case NONE -> true;
            case HTTP -> proto == Protocol.TCP.number;
            case DNS -> proto == Protocol.TCP.number || proto == Protocol.UDP.number;
        };
    }

    private static PolicyKey with(PolicyKey t, int proto, PortRange range) {
        return new PolicyKey(t.direction(), t.identity(), t.cidr(), t.except(), proto, range);
    }

    private static void put(Entries entries, PolicyKey k, PolicyValue v) { entries.put(k, v); }

    /**
     * The entries of one state as rules add them: what {@link #merge} applied pairwise in order gives,
     * but a key that several rules name is merged once at the end, not into a new value (two sorted
     * sets and two lists) per rule: an endpoint whose rules name the same peers on the same ports
     * allocated quadratically per change.
     */
    static final class Entries {
        private final Map<PolicyKey, PolicyValue> values = new HashMap<>();
        private Map<PolicyKey, Merging> merging;

        void put(PolicyKey k, PolicyValue v) {
            if (merging != null) {
                Merging m = merging.get(k);
                if (m != null) {
                    m.add(v);
                    return;
                }
            }
            PolicyValue old = values.putIfAbsent(k, v);
            if (old == null || old == v) return;
            if (merging == null) merging = new HashMap<>();
            Merging m = new Merging(old);
            m.add(v);
            merging.put(k, m);
        }

        Map<PolicyKey, PolicyValue> done() {
            if (merging != null) merging.forEach((k, m) -> values.put(k, m.value()));
            return values;
        }
    }

    /** One key's values so far: the winning verdict's origins and L7 rules, or the one value that won whole. */
    private static final class Merging {
        private Verdict verdict;
        private L7Kind l7;
        private final TreeSet<String> origins = new TreeSet<>();
        private final TreeSet<HttpRule> http = new TreeSet<>();
        private final TreeSet<DnsRule> dns = new TreeSet<>();
        /** The value the merge so far is, unchanged (as {@link #merge} returns the winner of two verdicts); null once unions were taken. */
        private PolicyValue whole;

        Merging(PolicyValue first) { take(first); }

        private void take(PolicyValue v) {
            verdict = v.verdict();
            l7 = v.l7();
            origins.clear();
            http.clear();
            dns.clear();
            origins.addAll(v.origins());
            http.addAll(v.http());
            dns.addAll(v.dns());
            whole = v;
        }

        void add(PolicyValue v) {
            if (v == whole) return; // merge is not called for the value already there
            if (l7Conflict(verdict, l7, v)) {
                // Two proxies for one key: no packet may pick one silently; fail closed.
                verdict = Verdict.DENY;
                l7 = L7Kind.NONE;
                http.clear();
                dns.clear();
                origins.addAll(v.origins());
                whole = null;
            } else if (v.verdict() == verdict || allowIntoRedirect(verdict, v.verdict())) {
                // An L4 allow of exactly this key beside L7 rules: still proxied, every request allowed.
                if (v.verdict() != verdict) {
                    if (verdict == Verdict.ALLOW) l7 = v.l7();
                    if (l7 == L7Kind.HTTP) http.add(HttpRule.ANY); else dns.add(DnsRule.ANY);
                    verdict = Verdict.REDIRECT;
                }
                origins.addAll(v.origins());
                http.addAll(v.http());
                dns.addAll(v.dns());
                whole = null;
            } else if (rank(v.verdict()) > rank(verdict)) {
                take(v);
            }
        }

        PolicyValue value() {
            return whole != null ? whole : new PolicyValue(verdict, l7, List.copyOf(http), List.copyOf(dns), List.copyOf(origins));
        }

        private static int rank(Verdict v) { return v == Verdict.DENY ? 2 : v == Verdict.REDIRECT ? 1 : 0; }
    }

    private static boolean allowIntoRedirect(Verdict a, Verdict b) {
        return (a == Verdict.ALLOW && b == Verdict.REDIRECT) || (a == Verdict.REDIRECT && b == Verdict.ALLOW);
    }

    private static boolean l7Conflict(Verdict verdict, L7Kind l7, PolicyValue b) {
        return verdict == Verdict.REDIRECT && b.verdict() == Verdict.REDIRECT && l7 != b.l7();
    }

    /**
     * Same key from several rules: deny wins; an allow and a redirect make a redirect whose L7
     * rules also allow everything (Cilium's rule: an L4-only allow of the same port wildcards L7
     * for its peers, the traffic still goes through the proxy); two redirects to the same proxy
     * take the union of their rules; redirects to two different proxies (HTTP and DNS rules on
     * one port) deny, fail closed, as no packet can go to both.
     */
    static PolicyValue merge(PolicyValue a, PolicyValue b) {
        TreeSet<String> origins = new TreeSet<>(a.origins());
        origins.addAll(b.origins());
        if (l7Conflict(a.verdict(), a.l7(), b)) return new PolicyValue(Verdict.DENY, List.of(), List.copyOf(origins));
        if (a.verdict() != b.verdict() && !allowIntoRedirect(a.verdict(), b.verdict()))
            return a.verdict() == Verdict.DENY ? a : b;
        TreeSet<HttpRule> http = new TreeSet<>(a.http());
        http.addAll(b.http());
        TreeSet<DnsRule> dns = new TreeSet<>(a.dns());
        dns.addAll(b.dns());
        L7Kind l7 = a.l7() != L7Kind.NONE ? a.l7() : b.l7();
        if (a.verdict() != b.verdict()) {
            if (l7 == L7Kind.HTTP) http.add(HttpRule.ANY); else dns.add(DnsRule.ANY);
        }
        return new PolicyValue(a.verdict() == b.verdict() ? a.verdict() : Verdict.REDIRECT, l7, List.copyOf(http), List.copyOf(dns), List.copyOf(origins));
    }

    // ---- deltas ----

    private record DiffKey(PolicyState a, PolicyState b) {
        @Override public boolean equals(Object o) { return o instanceof DiffKey k && k.a == a && k.b == b; }
        @Override public int hashCode() { return System.identityHashCode(a) * 31 + System.identityHashCode(b); }
    }

    private static Delta diff(EndpointPolicy old, EndpointPolicy now, Map<DiffKey, Delta> cache) {
        if (old == null && now == null) return null;
        PolicyState a = old == null ? null : old.state(), b = now == null ? null : now.state();
        Delta d = cache.computeIfAbsent(new DiffKey(a, b), k -> entriesDiff(k.a, k.b));
        boolean meta = old == null || now == null || old.identity() != now.identity()
                || a.ingressEnforced() != b.ingressEnforced() || a.egressEnforced() != b.egressEnforced() || a.audit() != b.audit();
        if (d.isEmpty() && !meta) return null;
        return new Delta(d.added(), d.removed(), now);
    }

    private static Delta entriesDiff(PolicyState a, PolicyState b) {
        Map<PolicyKey, PolicyValue> ea = a == null ? Map.of() : a.entries(), eb = b == null ? Map.of() : b.entries();
        List<Delta.Entry> added = new ArrayList<>(), removed = new ArrayList<>();
        if (a != b) {
            for (var e : eb.entrySet()) if (!e.getValue().equals(ea.get(e.getKey()))) added.add(new Delta.Entry(e.getKey(), e.getValue()));
            for (var e : ea.entrySet()) if (!eb.containsKey(e.getKey())) removed.add(new Delta.Entry(e.getKey(), e.getValue()));
        }
        added.sort(Comparator.comparing(Delta.Entry::key));
        removed.sort(Comparator.comparing(Delta.Entry::key));
        return new Delta(added, removed, null);
    }
}
