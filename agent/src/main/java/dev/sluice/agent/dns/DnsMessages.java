package dev.sluice.agent.dns;

import java.io.IOException;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Header;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/** The DNS proxy's reading and writing of messages (dnsjava), without I/O. */
final class DnsMessages {
    private DnsMessages() {}

    /** A query the proxy may forward: one question, class IN, opcode QUERY, not a response. */
    record Query(Message message, String qname, int qtype) {}

    /** Why a message from a client is not a query the proxy forwards, with the RCODE to answer. */
    record Rejected(int rcode, String reason) {}

    /** The query, or why not; {@code Rejected} with rcode -1 when not even the header reads (nothing can be answered). */
    static Object readQuery(byte[] wire) {
        Message m;
        try {
            m = new Message(wire);
        } catch (IOException | RuntimeException e) {
            return new Rejected(wire.length < Header.LENGTH ? -1 : Rcode.FORMERR, "malformed: " + e.getMessage());
        }
        Header h = m.getHeader();
        if (h.getFlag(Flags.QR)) return new Rejected(Rcode.FORMERR, "malformed: a response sent as a query");
        if (h.getOpcode() != Opcode.QUERY) return new Rejected(Rcode.NOTIMP, "opcode " + Opcode.string(h.getOpcode()) + " (expected: QUERY)");
        if (h.getCount(Section.QUESTION) != 1 || m.getQuestion() == null)
            return new Rejected(Rcode.FORMERR, "malformed: " + h.getCount(Section.QUESTION) + " questions (expected: 1)");
        if (h.getCount(Section.ANSWER) != 0 || h.getCount(Section.AUTHORITY) != 0)
            return new Rejected(Rcode.FORMERR, "malformed: a query with answer or authority records");
        Record q = m.getQuestion();
        if (q.getDClass() != DClass.IN) return new Rejected(Rcode.REFUSED, "class " + DClass.string(q.getDClass()) + " (expected: IN)");
        return new Query(m, canonical(q.getName()), q.getType());
    }

    static String canonical(Name n) { return n.toString().toLowerCase(Locale.ROOT); }

    /** An answer with {@code rcode} and the query's id, flags RD and question; from the header alone when the query did not parse. */
    static byte[] answer(byte[] query, Message parsed, int rcode) {
        Message r;
        if (parsed != null) {
            r = new Message(parsed.getHeader().getID());
            if (parsed.getHeader().getFlag(Flags.RD)) r.getHeader().setFlag(Flags.RD);
            if (parsed.getQuestion() != null && parsed.getHeader().getCount(Section.QUESTION) == 1) r.addRecord(parsed.getQuestion(), Section.QUESTION);
            r.getHeader().setOpcode(parsed.getHeader().getOpcode());
        } else {
            if (query.length < Header.LENGTH) return null;
            try {
                r = new Message(new Header(Arrays.copyOf(query, Header.LENGTH)).getID());
            } catch (IOException e) {
                return null;
            }
        }
        r.getHeader().setFlag(Flags.QR);
        r.getHeader().setFlag(Flags.RA);
        r.getHeader().setRcode(rcode);
        return r.toWire();
    }

    /** Whether an upstream message answers {@code q} (sent with id {@code id}): a response, the same id and question. */
    static boolean answers(Message response, int id, Query q) {
        Header h = response.getHeader();
        if (!h.getFlag(Flags.QR) || h.getID() != id) return false;
        Record rq = response.getQuestion();
        if (rq == null) return h.getRcode() != Rcode.NOERROR; // some servers drop the question from errors
        return rq.getType() == q.qtype() && canonical(rq.getName()).equals(q.qname()) && rq.getDClass() == DClass.IN;
    }

    /** The addresses an answer gives for {@code qname}, following its CNAME chain only, and the least TTL on the way. */
    record Learned(List<InetAddress> addresses, List<String> cnames, int ttl, List<String> rrtypes) {}

    static Learned learned(Message response, String qname) {
        List<Record> answers = response.getSection(Section.ANSWER);
        Set<String> names = new LinkedHashSet<>();
        names.add(qname);
        List<String> cnames = new ArrayList<>();
        long ttl = Long.MAX_VALUE;
        // a chain of at most 16 hops, in any order of records
        for (int hop = 0; hop < 16; hop++) {
            boolean grew = false;
            for (Record r : answers) {
                if (r instanceof CNAMERecord c && names.contains(canonical(c.getName()))) {
                    String t = canonical(c.getTarget());
                    if (names.add(t)) {
                        cnames.add(t);
                        ttl = Math.min(ttl, c.getTTL());
                        grew = true;
                    }
                }
            }
            if (!grew) break;
        }
        List<InetAddress> out = new ArrayList<>();
        List<String> types = new ArrayList<>();
        long addrTtl = Long.MAX_VALUE;
        for (Record r : answers) {
            types.add(Type.string(r.getType()));
            if (!names.contains(canonical(r.getName()))) continue; // not on qname's chain: never learned
            InetAddress a = r instanceof ARecord ar ? ar.getAddress() : r instanceof AAAARecord aaaa ? aaaa.getAddress() : null;
            if (a == null || out.contains(a)) continue;
            out.add(a);
            addrTtl = Math.min(addrTtl, r.getTTL());
        }
        long least = out.isEmpty() ? 0 : Math.min(ttl, addrTtl);
        return new Learned(out, cnames, (int) Math.min(Integer.MAX_VALUE, least), types);
    }
}
