package dev.sluice.datapath.maps;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/**
 * A record on the sl_events ring buffer ({@code struct flow_event}, bpf/lib/drop.h): one verdict
 * of the data path (drop, audit, forwarded, translated) with where it was seen, the conntrack
 * state, TCP flags and the policy entry that decided it. Addresses are host-order ints, ports
 * host-order.
 *
 * @param policyMatch which lookup decided ({@code MATCH_*}); with {@code policyDirection},
 *     {@code policyIdentity}, the protocol, the port and {@code policyPrefixLength} it names the
 *     policy map entry, {@code policyRule} that entry's rule id
 * @param origDaddr for {@link #TRANSLATED}: the frontend the packet was sent to (and {@code origDport})
 * @param ktime bpf_ktime_get_ns() when it was seen (CLOCK_MONOTONIC)
 * @param icmpType for ICMP with {@code icmpKnown}: the type and code of the packet's own header (an
 *     error's outer one, never the packet it quotes); {@code icmpKnown} false when the packet did
 *     not carry the header (a non-first fragment)
 */
public record FlowEvent(int type, int reason, int direction, int protocol, int ifindex, int srcIdentity, int dstIdentity,
                        int saddr, int daddr, int sport, int dport, int length, int endpoint, int observationPoint, int ctState,
                        int tcpFlags, int policyMatch, int policyDirection, int policyPrefixLength, int policyIdentity, int policyRule,
                        int origDaddr, int origDport, int revNatId, long ktime,
                        int icmpType, int icmpCode, boolean icmpKnown) {
    /** {@code type}: enum sl_event_type. */
    public static final int DROP = 1, AUDIT = 2, TRACE = 3, TRANSLATED = 4;
    /** {@code observationPoint}: enum sl_obs_point, numbered as Hubble's TraceObservationPoint. */
    public static final int OBS_UNKNOWN = 0, OBS_TO_PROXY = 1, OBS_TO_STACK = 3, OBS_TO_OVERLAY = 4, OBS_FROM_ENDPOINT = 5, OBS_FROM_OVERLAY = 9,
            OBS_FROM_NETWORK = 10, OBS_TO_NETWORK = 11, OBS_TO_ENDPOINT = 101;
    /** {@code ctState}: enum sl_flow_ct. */
    public static final int CT_UNKNOWN = 0, CT_NEW = 1, CT_ESTABLISHED = 2, CT_REPLY = 3, CT_RELATED = 4;
    /** {@code policyMatch}: enum sl_policy_match. */
    public static final int MATCH_NONE = 0, MATCH_IDENTITY = 1, MATCH_ANY = 2, MATCH_CIDR = 3, MATCH_HOST = 4;
    /** enum sl_monitor_aggregation, in node_config.flags ({@link NodeConfig#MONITOR_SHIFT}). */
    public static final int AGG_NONE = 0, AGG_LOW = 1, AGG_MEDIUM = 2, AGG_MAXIMUM = 3;

    public static final MemoryLayout LAYOUT = MemoryLayout.structLayout(
            Layouts.U8.withName("type"), Layouts.U8.withName("reason"), Layouts.U8.withName("dir"), Layouts.U8.withName("proto"),
            Layouts.U32.withName("ifindex"), Layouts.U32.withName("src_identity"), Layouts.U32.withName("dst_identity"),
            Layouts.BE32.withName("saddr"), Layouts.BE32.withName("daddr"), Layouts.BE16.withName("sport"),
            Layouts.BE16.withName("dport"), Layouts.U32.withName("len"), Layouts.U16.withName("endpoint"),
            Layouts.U8.withName("obs_point"), Layouts.U8.withName("ct_state"), Layouts.U8.withName("tcp_flags"),
            Layouts.U8.withName("policy_match"), Layouts.U8.withName("policy_dir"), Layouts.U8.withName("policy_prefixlen"),
            Layouts.U32.withName("policy_identity"), Layouts.U32.withName("policy_rule"), Layouts.BE32.withName("orig_daddr"),
            Layouts.BE16.withName("orig_dport"), Layouts.U16.withName("rev_nat_id"), Layouts.U64.withName("ktime"),
            Layouts.U8.withName("icmp_type"), Layouts.U8.withName("icmp_code"), Layouts.U8.withName("icmp_known"),
            MemoryLayout.sequenceLayout(5, Layouts.U8).withName("pad"));
    private static final VarHandle TYPE = Layouts.field(LAYOUT, "type"), REASON = Layouts.field(LAYOUT, "reason"),
            DIR = Layouts.field(LAYOUT, "dir"), PROTO = Layouts.field(LAYOUT, "proto"), IFINDEX = Layouts.field(LAYOUT, "ifindex"),
            SRC_IDENTITY = Layouts.field(LAYOUT, "src_identity"), DST_IDENTITY = Layouts.field(LAYOUT, "dst_identity"),
            SADDR = Layouts.field(LAYOUT, "saddr"), DADDR = Layouts.field(LAYOUT, "daddr"), SPORT = Layouts.field(LAYOUT, "sport"),
            DPORT = Layouts.field(LAYOUT, "dport"), LEN = Layouts.field(LAYOUT, "len"), ENDPOINT = Layouts.field(LAYOUT, "endpoint"),
            OBS = Layouts.field(LAYOUT, "obs_point"), CT = Layouts.field(LAYOUT, "ct_state"), TCP_FLAGS = Layouts.field(LAYOUT, "tcp_flags"),
            P_MATCH = Layouts.field(LAYOUT, "policy_match"), P_DIR = Layouts.field(LAYOUT, "policy_dir"),
            P_PREFIX = Layouts.field(LAYOUT, "policy_prefixlen"), P_IDENTITY = Layouts.field(LAYOUT, "policy_identity"),
            P_RULE = Layouts.field(LAYOUT, "policy_rule"), ORIG_DADDR = Layouts.field(LAYOUT, "orig_daddr"),
            ORIG_DPORT = Layouts.field(LAYOUT, "orig_dport"), REV_NAT = Layouts.field(LAYOUT, "rev_nat_id"), KTIME = Layouts.field(LAYOUT, "ktime"),
            ICMP_TYPE = Layouts.field(LAYOUT, "icmp_type"), ICMP_CODE = Layouts.field(LAYOUT, "icmp_code"),
            ICMP_KNOWN = Layouts.field(LAYOUT, "icmp_known");

    public static FlowEvent read(MemorySegment s) {
        return new FlowEvent(u8(TYPE, s), u8(REASON, s), u8(DIR, s), u8(PROTO, s), (int) IFINDEX.get(s), (int) SRC_IDENTITY.get(s),
                (int) DST_IDENTITY.get(s), (int) SADDR.get(s), (int) DADDR.get(s), u16(SPORT, s), u16(DPORT, s), (int) LEN.get(s),
                u16(ENDPOINT, s), u8(OBS, s), u8(CT, s), u8(TCP_FLAGS, s), u8(P_MATCH, s), u8(P_DIR, s), u8(P_PREFIX, s),
                (int) P_IDENTITY.get(s), (int) P_RULE.get(s), (int) ORIG_DADDR.get(s), u16(ORIG_DPORT, s), u16(REV_NAT, s),
                (long) KTIME.get(s), u8(ICMP_TYPE, s), u8(ICMP_CODE, s), u8(ICMP_KNOWN, s) != 0);
    }

    /** Writes the record as the data path lays it out (tests and tools that replay events). */
    public void write(MemorySegment s) {
        TYPE.set(s, (byte) type);
        REASON.set(s, (byte) reason);
        DIR.set(s, (byte) direction);
        PROTO.set(s, (byte) protocol);
        IFINDEX.set(s, ifindex);
        SRC_IDENTITY.set(s, srcIdentity);
        DST_IDENTITY.set(s, dstIdentity);
        SADDR.set(s, saddr);
        DADDR.set(s, daddr);
        SPORT.set(s, (short) sport);
        DPORT.set(s, (short) dport);
        LEN.set(s, length);
        ENDPOINT.set(s, (short) endpoint);
        OBS.set(s, (byte) observationPoint);
        CT.set(s, (byte) ctState);
        TCP_FLAGS.set(s, (byte) tcpFlags);
        P_MATCH.set(s, (byte) policyMatch);
        P_DIR.set(s, (byte) policyDirection);
        P_PREFIX.set(s, (byte) policyPrefixLength);
        P_IDENTITY.set(s, policyIdentity);
        P_RULE.set(s, policyRule);
        ORIG_DADDR.set(s, origDaddr);
        ORIG_DPORT.set(s, (short) origDport);
        REV_NAT.set(s, (short) revNatId);
        KTIME.set(s, ktime);
        ICMP_TYPE.set(s, (byte) icmpType);
        ICMP_CODE.set(s, (byte) icmpCode);
        ICMP_KNOWN.set(s, (byte) (icmpKnown ? 1 : 0));
    }

    /** The events the ring had no room for, summed over CPUs, from sl_events_lost. */
    public static long lost(dev.sluice.bpf.BpfMap eventsLost) {
        return eventsLost.typed(NodeConfig.KEY, dev.sluice.bpf.Codec.u64()).getPerCpu(0)
                .map(l -> l.stream().mapToLong(Long::longValue).sum()).orElse(0L);
    }

    private static int u8(VarHandle h, MemorySegment s) { return (byte) h.get(s) & 0xff; }

    private static int u16(VarHandle h, MemorySegment s) { return (short) h.get(s) & 0xffff; }
}
