/* Connection tracking: every flow from and to a local endpoint, plus the service entries that pin
 * a client's connection to its backend.
 *
 * An entry is keyed by the tuple of the packet that created it and the hook that saw it:
 *   CT_EGRESS  created in from_container (the local pod sent the first packet),
 *   CT_INGRESS created in to_container (the first packet was delivered into the local pod),
 *   CT_SERVICE created by the load balancer, keyed by the tuple before translation (client ->
 *              frontend); it remembers the chosen backend so only NEW flows select one.
 * ct_lookup4(dir) first looks up {tuple, dir}: hit = CT_ESTABLISHED. Then {reversed tuple,
 * opposite dir}: hit = CT_REPLY. So a reply is recognised on the other side, whether both pods
 * are on this node (both entries live in the same per-node maps) or on two nodes (each node has
 * its own entry). ICMP errors whose embedded header matches an entry are CT_RELATED.
 *
 * Both maps are LRU hashes sized by bpf.ctTcpMax / bpf.ctAnyMax. An LRU never fails an insert: it
 * evicts, which would silently break an established flow. So the data path counts its inserts in
 * sl_ct_fill and, at the configured maximum, refuses new flows with DROP_CT_FULL instead; the
 * agent's garbage collector removes expired entries and corrects the count. */
#ifndef SLUICE_CONNTRACK_H
#define SLUICE_CONNTRACK_H

#include "common.h"
#include "maps.h"
#include "drop.h"
#include "l4.h"
#include "icmp.h"

#define CT_TCP_MAX 524288   /* defaults; the agent sets bpf.ctTcpMax / bpf.ctAnyMax before load */
#define CT_ANY_MAX 262144

enum sl_ct_result { CT_NEW = 0, CT_ESTABLISHED = 1, CT_REPLY = 2, CT_RELATED = 3 };
enum sl_ct_dir {
	CT_EGRESS  = 1,   /* from a local pod (from_container) */
	CT_INGRESS = 2,   /* into a local pod (to_container) */
	CT_SERVICE = 3,   /* client -> frontend, before translation: the chosen backend */
};

/* Lifetimes in seconds, refreshed by every packet of the flow. */
#define CT_TIMEOUT_SYN         60      /* TCP until the first reply */
#define CT_TIMEOUT_TCP         21600   /* TCP established (Cilium's default, 6 h) */
#define CT_TIMEOUT_CLOSE       10      /* TCP after FIN or RST */
#define CT_TIMEOUT_UDP         60      /* UDP and other non-TCP */
#define CT_TIMEOUT_ICMP        30
#define NSEC_PER_SEC 1000000000ULL

/* ct_entry.flags / ct_state.flags */
enum sl_ct_flags {
	CT_F_SYN_ONLY   = 0x01,   /* TCP: only SYNs seen so far, no reply or ACK */
	CT_F_REPLY_SEEN = 0x02,
	CT_F_CLOSE_TX   = 0x04,   /* FIN or RST from the side that opened */
	CT_F_CLOSE_RX   = 0x08,   /* FIN or RST from the other side */
	CT_F_HAIRPIN    = 0x10,   /* a pod reached itself through a Service: source NATed to the service loopback */
	CT_F_NODEPORT   = 0x20,   /* external client, local backend, no SNAT: the backend's replies are reverse-translated */
	CT_F_DSR        = 0x40,   /* DSR flow from another node (lib/dsr.h): replies leave from nat_addr:nat_port */
};

struct ct4_key {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;      /* TCP/UDP port; ICMP echo: the identifier (request: sport, reply: dport) */
	__be16 dport;
	__u8 proto;
	__u8 dir;          /* CT_EGRESS, CT_INGRESS, CT_SERVICE */
	__u16 pad;
};

struct ct_entry {
	__u64 lifetime;    /* expiry, bpf_ktime_get_ns() clock (CLOCK_MONOTONIC) */
	__u32 rev_nat_id;  /* frontend id whose address replies get as their source; 0 = none */
	__u32 backend_id;  /* CT_SERVICE: the backend chosen */
	__be32 nat_addr;   /* CT_SERVICE: that backend's address and port when chosen (ids are reused) */
	__be16 nat_port;
	__u16 flags;       /* CT_F_* */
	__u32 src_identity;
	__u8 tx_flags_seen;  /* TCP flags reported (events) from the side that opened, and from the other */
	__u8 rx_flags_seen;
	__u16 pad;
	__u64 packets;
	__u64 bytes;
	__u32 last_tx_report;  /* when a packet from the opener, and from the other side, was last */
	__u32 last_rx_report;  /* reported (events, medium): seconds of bpf_ktime_get_ns(); 0 never */
};

/* What a lookup found, and what a create stores. Add fields at the end. */
struct ct_state {
	__u32 rev_nat_id;
	__u32 backend_id;
	__u16 flags;
	__u16 pad;
	__be32 nat_addr;
	__be16 nat_port;
	__u16 pad2;
	__u32 src_identity;
};

/* sl_ct_fill[0] counts sl_ct_tcp inserts, [1] sl_ct_any; the agent's GC subtracts what it removes. */
#define CT_FILL_TCP 0
#define CT_FILL_ANY 1

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, CT_TCP_MAX);
	__type(key, struct ct4_key);
	__type(value, struct ct_entry);
} sl_ct_tcp SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, CT_ANY_MAX);
	__type(key, struct ct4_key);
	__type(value, struct ct_entry);
} sl_ct_any SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __s64);
} sl_ct_fill SEC(".maps");

/* The fill level at which new flows are refused, per table: the maps' max_entries, written by the
 * agent; 0 (not written) disables the check. */
struct ct_limits {
	__u32 tcp_max;
	__u32 any_max;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ct_limits);
} sl_ct_limits SEC(".maps");

/* Builds the key of the packet from its flow facts (ICMP echo: the identifier as a port).
 * Returns 0; 1 for an ICMP error whose quote belongs to it (lib/icmp.h): the key is then the
 * quoted packet's tuple; -1 when the ports are needed and unknown (a non-first fragment whose
 * first fragment was not seen). */
static __always_inline int ct_key4(struct __sk_buff *skb, const struct flow4 *f, int dir, struct ct4_key *k)
{
	k->saddr = f->saddr;
	k->daddr = f->daddr;
	k->sport = f->sport;
	k->dport = f->dport;
	k->proto = f->proto;
	if (f->fragment && !f->ports_known && (l4_has_ports(f->proto) || f->proto == IPPROTO_ICMP))
		return -1;
	if (f->proto != IPPROTO_ICMP || f->fragment || !icmp_is_error(f->icmp_type))
		return 0;
	if (icmp_quoted_tuple(skb, f, dir == CT_EGRESS, &k->saddr, &k->daddr, &k->sport, &k->dport, &k->proto) < 0)
		return 0;   /* not about a flow of its own addresses: a plain ICMP packet */
	return 1;
}

static __always_inline struct ct_entry *ct_map_lookup(struct ct4_key *k)
{
	if (k->proto == IPPROTO_TCP)
		return bpf_map_lookup_elem(&sl_ct_tcp, k);
	return bpf_map_lookup_elem(&sl_ct_any, k);
}

static __always_inline __u64 ct_timeout(__u8 proto, __u16 flags)
{
	if (proto == IPPROTO_TCP) {
		if (flags & (CT_F_CLOSE_TX | CT_F_CLOSE_RX))
			return CT_TIMEOUT_CLOSE;
		return (flags & CT_F_SYN_ONLY) ? CT_TIMEOUT_SYN : CT_TIMEOUT_TCP;
	}
	return proto == IPPROTO_ICMP ? CT_TIMEOUT_ICMP : CT_TIMEOUT_UDP;
}

static __always_inline void ct_fill_state(const struct ct_entry *e, struct ct_state *st)
{
	st->rev_nat_id = e->rev_nat_id;
	st->backend_id = e->backend_id;
	st->flags = e->flags;
	st->nat_addr = e->nat_addr;
	st->nat_port = e->nat_port;
	st->src_identity = e->src_identity;
}

/* Refreshes an entry for a packet in the given direction (reply = from the side that did not open).
 * Returns 1 when the packet is worth reporting under monitor aggregation medium: its TCP flags add
 * one not yet reported in its direction, it is the flow's first reply, or the direction's last
 * report is bpf.monitorAggregationInterval old. The entry then remembers the flags and the time.
 * Nothing here decides a verdict. */
static __always_inline int ct_touch(struct ct_entry *e, __u8 proto, __u8 tcpflags, int reply, __u32 len, __u64 now)
{
	int monitor = 0;
	__u32 now_s = now / NSEC_PER_SEC;
	if (reply) {
		if ((e->rx_flags_seen | tcpflags) != e->rx_flags_seen || !(e->flags & CT_F_REPLY_SEEN)) {
			e->rx_flags_seen |= tcpflags;
			monitor = 1;
		}
	} else if ((e->tx_flags_seen | tcpflags) != e->tx_flags_seen) {
		e->tx_flags_seen |= tcpflags;
		monitor = 1;
	}
	if (!monitor) {
		__u32 interval = monitor_interval();
		if (interval && now_s - (reply ? e->last_rx_report : e->last_tx_report) >= interval)
			monitor = 1;
	}
	if (monitor) {
		if (reply)
			e->last_rx_report = now_s;
		else
			e->last_tx_report = now_s;
	}
	__u16 fl = e->flags;
	if (reply)
		fl |= CT_F_REPLY_SEEN;
	if (proto == IPPROTO_TCP) {
		/* The opener's ACK also ends the SYN phase: service entries never see replies. */
		if (reply || (tcpflags & TCP_F_ACK))
			fl &= ~CT_F_SYN_ONLY;
		if (tcpflags & (TCP_F_FIN | TCP_F_RST))
			fl |= reply ? CT_F_CLOSE_RX : CT_F_CLOSE_TX;
	}
	if (fl != e->flags)
		e->flags = fl;
	e->lifetime = now + ct_timeout(proto, fl) * NSEC_PER_SEC;
	e->packets++;
	e->bytes += len;
	return monitor;
}

static __always_inline __u8 ct_opposite(int dir)
{
	return dir == CT_EGRESS ? CT_INGRESS : dir == CT_INGRESS ? CT_EGRESS : dir;
}

static __always_inline void ct_reverse(const struct ct4_key *k, struct ct4_key *r, __u8 dir)
{
	r->saddr = k->daddr;
	r->daddr = k->saddr;
	r->sport = k->dport;
	r->dport = k->sport;
	r->proto = k->proto;
	r->dir = dir;
}

/* Looks up the flow of this packet as seen at hook `dir`; returns CT_*; refreshes lifetime and TCP
 * state; fills *st from the entry found (left untouched on CT_NEW). A TCP SYN on an entry that is
 * closing is a new connection reusing the tuple: CT_NEW, and ct_create4 replaces the entry.
 * An ICMP error is CT_RELATED when the packet it quotes passed this hook the other way, as a
 * packet of a flow this endpoint opened or answered. */
static __always_inline int ct_lookup4_(struct __sk_buff *skb, struct flow4 *f, int dir, struct ct_state *st);

/* As ct_lookup4_, and records the result in f for the events: its state and whether it is worth
 * reporting under aggregation (a new or related flow, or what ct_touch says). */
static __always_inline int ct_lookup4(struct __sk_buff *skb, struct flow4 *f, int dir, struct ct_state *st)
{
	f->monitor = 0;
	int r = ct_lookup4_(skb, f, dir, st);
	f->ct_state = r + 1;
	if (r == CT_NEW || r == CT_RELATED)
		f->monitor = 1;
	return r;
}

static __always_inline int ct_lookup4_(struct __sk_buff *skb, struct flow4 *f, int dir, struct ct_state *st)
{
	struct ct4_key k = {}, r = {};
	int kr = ct_key4(skb, f, dir, &k);
	if (kr < 0)
		return CT_NEW;
	__u64 now = bpf_ktime_get_ns();
	struct ct_entry *e;
	if (kr == 1) {
		k.dir = ct_opposite(dir);
		e = ct_map_lookup(&k);
		if (!e || e->lifetime <= now) {
			ct_reverse(&k, &r, dir);
			e = ct_map_lookup(&r);
		}
		if (e && e->lifetime > now) {
			ct_fill_state(e, st);
			return CT_RELATED;
		}
		return CT_NEW;
	}
	__u8 tcpflags = f->tcp_flags;
	k.dir = dir;
	e = ct_map_lookup(&k);
	if (e && e->lifetime > now) {
		if ((tcpflags & (TCP_F_SYN | TCP_F_ACK)) == TCP_F_SYN && (e->flags & (CT_F_CLOSE_TX | CT_F_CLOSE_RX)))
			return CT_NEW;
		f->monitor = ct_touch(e, k.proto, tcpflags, 0, skb->len, now);
		ct_fill_state(e, st);
		return CT_ESTABLISHED;
	}
	if (dir == CT_SERVICE)
		return CT_NEW;
	ct_reverse(&k, &r, ct_opposite(dir));
	e = ct_map_lookup(&r);
	if (e && e->lifetime > now) {
		f->monitor = ct_touch(e, k.proto, tcpflags, 1, skb->len, now);
		ct_fill_state(e, st);
		return CT_REPLY;
	}
	return CT_NEW;
}

static __always_inline __s64 *ct_fill(__u8 proto)
{
	__u32 i = proto == IPPROTO_TCP ? CT_FILL_TCP : CT_FILL_ANY;
	return bpf_map_lookup_elem(&sl_ct_fill, &i);
}

/* Creates (or replaces an expired or closing) entry for this packet at hook `dir`.
 * Returns 0, or DROP_CT_FULL when the table holds its configured maximum. */
static __always_inline int ct_create4(struct __sk_buff *skb, const struct flow4 *f, int dir, const struct ct_state *st)
{
	struct ct4_key k = {};
	if (ct_key4(skb, f, dir, &k) != 0)
		return 0;   /* errors belong to the flow they are about, and fragments to their first; they open none */
	k.dir = dir;
	__u8 tcpflags = f->tcp_flags;
	struct ct_entry e = {
		.rev_nat_id = st->rev_nat_id, .backend_id = st->backend_id, .nat_addr = st->nat_addr, .nat_port = st->nat_port,
		.flags = st->flags & (CT_F_HAIRPIN | CT_F_NODEPORT | CT_F_DSR), .src_identity = f->src_identity, .packets = 1, .bytes = skb->len,
		.tx_flags_seen = tcpflags,
	};
	if (k.proto == IPPROTO_TCP && (tcpflags & (TCP_F_SYN | TCP_F_ACK)) == TCP_F_SYN)
		e.flags |= CT_F_SYN_ONLY;
	__u64 now = bpf_ktime_get_ns();
	e.lifetime = now + ct_timeout(k.proto, e.flags) * NSEC_PER_SEC;
	e.last_tx_report = now / NSEC_PER_SEC;   /* a new flow is reported */
	__u32 zero = 0, max = 0;
	struct ct_limits *lim = bpf_map_lookup_elem(&sl_ct_limits, &zero);
	if (lim)
		max = k.proto == IPPROTO_TCP ? lim->tcp_max : lim->any_max;
	__s64 *fill = ct_fill(k.proto);
	if (fill && max && *fill >= (__s64)max)
		return DROP_CT_FULL;
	long r;
	if (k.proto == IPPROTO_TCP)
		r = bpf_map_update_elem(&sl_ct_tcp, &k, &e, BPF_NOEXIST);
	else
		r = bpf_map_update_elem(&sl_ct_any, &k, &e, BPF_NOEXIST);
	if (r == 0) {
		if (fill)
			__sync_fetch_and_add(fill, 1);
		return 0;
	}
	/* -EEXIST: an expired entry the GC has not removed yet, or a closing one being reused */
	if (k.proto == IPPROTO_TCP)
		r = bpf_map_update_elem(&sl_ct_tcp, &k, &e, BPF_EXIST);
	else
		r = bpf_map_update_elem(&sl_ct_any, &k, &e, BPF_EXIST);
	return r == 0 ? 0 : DROP_CT_FULL;
}

#endif
