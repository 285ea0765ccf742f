package dev.sluice.lab.dns;

import dev.sluice.k8s.Pod;
import dev.sluice.k8s.Service;
import dev.sluice.net.Ip;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Header;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.SRVRecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/**
 * What the lab's cluster DNS knows at one moment, and its answers: pure, built from the API's
 * Services, pods and the lab's external names, as CoreDNS's kubernetes plugin answers them.
 * <ul>
 * <li>{@code <svc>.<ns>.svc.cluster.local} A: the ClusterIP; a headless Service: its ready pods' addresses</li>
 * <li>{@code <hostname>.<svc>.<ns>.svc.cluster.local} A: a pod with spec.hostname and spec.subdomain = a headless Service</li>
 * <li>{@code _<port>._<proto>.<svc>.<ns>.svc.cluster.local} SRV: the Service's named ports</li>
 * <li>{@code <a-b-c-d>.<ns>.pod.cluster.local} A: when a pod of that namespace has that address ("pods verified")</li>
 * <li>names set with {@code sluice lab dns set}: A with their own TTL</li>
 * <li>anything else in cluster.local: NXDOMAIN (with the zone's SOA); outside it: NXDOMAIN, not
 * authoritative (the lab has no route out, so nothing is forwarded)</li>
 * </ul>
 * A name that exists with no record of the asked type answers NOERROR with no answer (NODATA).
 */
public final class ClusterZone {
    public static final String DOMAIN = "cluster.local.";
    /** The TTL of every cluster record, as CoreDNS's kubernetes plugin default. */
    public static final int TTL = 30;
    static final Name ZONE = name(DOMAIN);
    static final SOARecord SOA = new SOARecord(ZONE, DClass.IN, TTL, name("ns.dns." + DOMAIN), name("hostmaster." + DOMAIN),
            1, 7200, 1800, 86400, TTL);

    /** A pod as DNS sees it: spec.hostname and spec.subdomain beside the model's fields ("" when unset). */
    public record PodEntry(Pod pod, String hostname, String subdomain) {}

    /** An external name and where it points. */
    public record External(String name, String address, int ttl) {}

    private final Map<Name, List<Record>> records = new HashMap<>();
    /** Names that exist without records of their own (parents of other names): NODATA, not NXDOMAIN. */
    private final Set<Name> nonTerminals = new HashSet<>();

    public static final ClusterZone EMPTY = new ClusterZone(List.of(), List.of(), List.of());

    public ClusterZone(List<Service> services, List<PodEntry> pods, List<External> externals) {
        nonTerminals.add(ZONE);
        nonTerminals.add(name("svc." + DOMAIN));
        nonTerminals.add(name("pod." + DOMAIN));
        Map<String, List<PodEntry>> podsByNs = new HashMap<>();
        for (PodEntry p : pods) {
            if (!Ip.isIpv4(p.pod().podIP())) continue;
            podsByNs.computeIfAbsent(p.pod().namespace(), k -> new ArrayList<>()).add(p);
            String ns = lower(p.pod().namespace());
            nonTerminals.add(name(ns + ".pod." + DOMAIN));
            add(a(p.pod().podIP().replace('.', '-') + "." + ns + ".pod." + DOMAIN, p.pod().podIP(), TTL));
        }
        for (Service s : services) {
            String ns = lower(s.namespace());
            String fqdn = lower(s.name()) + "." + ns + ".svc." + DOMAIN;
            nonTerminals.add(name(ns + ".svc." + DOMAIN));
            nonTerminals.add(name(fqdn));
            List<PodEntry> selected = new ArrayList<>();
            for (PodEntry p : podsByNs.getOrDefault(s.namespace(), List.of())) if (s.selects(p.pod())) selected.add(p);
            selected.sort((x, y) -> Integer.compareUnsigned(Ip.parse(x.pod().podIP()), Ip.parse(y.pod().podIP())));
            List<Name> targets = new ArrayList<>();
            if (s.headless()) {
                for (PodEntry p : selected) {
                    add(a(fqdn, p.pod().podIP(), TTL));
                    String host = !p.hostname().isEmpty() && p.subdomain().equalsIgnoreCase(s.name())
                            ? lower(p.hostname()) : p.pod().podIP().replace('.', '-');
                    Name hn = name(host + "." + fqdn);
                    add(a(hn.toString(), p.pod().podIP(), TTL));
                    targets.add(hn);
                }
            } else if (s.hasClusterIP()) {
                add(a(fqdn, s.clusterIP(), TTL));
                targets.add(name(fqdn));
            }
            for (Service.ServicePort sp : s.ports()) {
                if (sp.name().isEmpty()) continue;
                Name srv = name("_" + lower(sp.name()) + "._" + lower(sp.protocol().name()) + "." + fqdn);
                nonTerminals.add(name("_" + lower(sp.protocol().name()) + "." + fqdn));
                int port = s.headless() && sp.targetPortName().isEmpty() && sp.targetPort() > 0 ? sp.targetPort() : sp.port();
                for (Name t : targets) add(new SRVRecord(srv, DClass.IN, TTL, 0, 100 / Math.max(1, targets.size()), port, t));
                if (targets.isEmpty()) nonTerminals.add(srv);
            }
        }
        for (External e : externals) add(a(lower(e.name()) + (e.name().endsWith(".") ? "" : "."), e.address(), e.ttl()));
    }

    private void add(Record r) { records.computeIfAbsent(r.getName(), k -> new ArrayList<>()).add(r); }

    private static String lower(String s) { return s.toLowerCase(Locale.ROOT); }

    static Name name(String s) {
        try {
            return Name.fromString(s.endsWith(".") ? s : s + ".");
        } catch (TextParseException e) {
            throw new IllegalArgumentException("not a DNS name: " + s + " (" + e.getMessage() + ")");
        }
    }

    private static ARecord a(String name, String ip, int ttl) {
        try {
            return new ARecord(name(name), DClass.IN, ttl, InetAddress.getByAddress(java.nio.ByteBuffer.allocate(4).putInt(Ip.parse(ip)).array()));
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(ip, e);
        }
    }

    /** The records of one name (no wildcard, no CNAME chasing); empty when none. */
    public List<Record> lookup(Name n, int type) {
        List<Record> out = new ArrayList<>();
        for (Record r : records.getOrDefault(canonical(n), List.of()))
            if (type == Type.ANY || r.getType() == type) out.add(r);
        return out;
    }

    private static Name canonical(Name n) {
        try {
            return Name.fromString(lower(n.toString()));
        } catch (TextParseException e) {
            return n;
        }
    }

    /** Whether the name exists (has records or children). */
    public boolean exists(Name n) {
        Name c = canonical(n);
        return records.containsKey(c) || nonTerminals.contains(c);
    }

    /**
     * The answer to one query message; FORMERR for a message without exactly one question (or
     * that is itself a response), NOTIMP for another opcode, REFUSED for a class other than IN.
     */
    public Message answer(Message q) {
        Header qh = q.getHeader();
        Message r = new Message(qh.getID());
        Header h = r.getHeader();
        h.setFlag(Flags.QR);
        if (qh.getFlag(Flags.RD)) h.setFlag(Flags.RD);
        h.setOpcode(qh.getOpcode());
        Record question = q.getQuestion();
        if (question != null) r.addRecord(question, Section.QUESTION);
        OPTRecord opt = q.getOPT();
        if (opt != null) r.addRecord(new OPTRecord(4096, 0, 0), Section.ADDITIONAL);
        if (qh.getFlag(Flags.QR) || qh.getCount(Section.QUESTION) != 1 || question == null) {
            h.setRcode(Rcode.FORMERR);
            return r;
        }
        if (qh.getOpcode() != Opcode.QUERY) {
            h.setRcode(Rcode.NOTIMP);
            return r;
        }
        if (question.getDClass() != DClass.IN) {
            h.setRcode(Rcode.REFUSED);
            return r;
        }
        Name n = canonical(question.getName());
        List<Record> ans = lookup(n, question.getType());
        boolean inZone = n.subdomain(ZONE);
        if (inZone) h.setFlag(Flags.AA);
        if (!ans.isEmpty()) {
            h.setFlag(Flags.AA);
            ans.forEach(x -> r.addRecord(x, Section.ANSWER));
            if (question.getType() == Type.SRV)
                for (Record x : ans)
                    for (Record t : lookup(((SRVRecord) x).getTarget(), Type.A)) r.addRecord(t, Section.ADDITIONAL);
            return r;
        }
        if (exists(n)) {
            h.setFlag(Flags.AA);
            if (inZone) r.addRecord(SOA, Section.AUTHORITY);
            return r; // NODATA
        }
        h.setRcode(Rcode.NXDOMAIN);
        if (inZone) r.addRecord(SOA, Section.AUTHORITY);
        return r;
    }
}
