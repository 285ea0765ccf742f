/* Drop reasons, counters and events: every packet the data path does not forward is counted
 * under a reason and reported on the events ring buffer. Numbers are stable API: the Java side
 * (dev.sluice.datapath.DropReason) and `sluice monitor` name them. */
#ifndef SLUICE_DROP_H
#define SLUICE_DROP_H

#include "maps.h"

/* Directions of counters, events and policy, seen from the endpoint. */
enum sl_direction {
	METRIC_INGRESS = 1,
	METRIC_EGRESS  = 2,
};

enum sl_reason {
	REASON_FORWARDED      = 0,
	DROP_INVALID_SOURCE   = 130,  /* source address is not the sending pod's own */
	DROP_UNSUPPORTED_L3   = 131,  /* an L3 protocol the data path does not handle yet */
	DROP_INVALID_PACKET   = 132,  /* truncated or malformed headers */
	DROP_NO_CONFIG        = 133,  /* the agent has not written the node config yet */
	DROP_UNKNOWN_ENDPOINT = 134,  /* traffic on a pod interface the agent does not know */
	DROP_NO_TUNNEL_KEY    = 135,  /* could not set the VXLAN tunnel key */
	DROP_TUNNEL_SOURCE    = 136,  /* VXLAN whose outer source is not a known remote node */
	DROP_TUNNEL_SPOOF     = 137,  /* tunnel packet whose inner source cannot come from the sending node */
	DROP_WIRE_SPOOF       = 138,  /* unencapsulated packet from the wire with a cluster source it cannot have */
	DROP_POLICY           = 140,  /* enforced direction, no rule allows it */
	DROP_POLICY_DENY      = 141,  /* a deny rule matches */
	DROP_POLICY_PENDING   = 142,  /* the endpoint's policy is not programmed yet */
	DROP_POLICY_FULL      = 143,  /* the endpoint's policy does not fit its map */
	DROP_PROXY_UNAVAILABLE = 144, /* an L7 rule applies and no L7 proxy runs */
	REASON_AUDIT          = 145,  /* not a drop: a would-be policy drop let through by audit mode */
	DROP_POLICY_REVOKED   = 146,  /* a reply of a flow that the policy no longer allows */
	DROP_NO_BACKEND       = 150,
	DROP_CT_FULL          = 151,
	DROP_FRAGMENT         = 152,  /* a non-first fragment whose first fragment was not seen, where ports are needed */
	DROP_NAT_NO_PORT      = 153,  /* no free port for source NAT (masquerade, NodePort to another node) */
};

enum sl_event_type {
	EVENT_DROP  = 1,
	EVENT_AUDIT = 2,   /* a policy drop that audit mode let through */
};

struct drop_event {
	__u8 type;
	__u8 reason;
	__u8 dir;
	__u8 proto;
	__u32 ifindex;
	__u32 src_identity;
	__u32 dst_identity;
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u32 len;
	__u16 endpoint;
	__u16 pad;
};

static __always_inline void count(__u8 reason, __u8 dir, __u16 endpoint, __u32 len)
{
	struct metrics_key k = { .reason = reason, .dir = dir, .endpoint = endpoint };
	struct metrics_value *v = bpf_map_lookup_elem(&sl_metrics, &k);
	if (v) {
		v->packets++;
		v->bytes += len;
	} else {
		struct metrics_value init = { .packets = 1, .bytes = len };
		bpf_map_update_elem(&sl_metrics, &k, &init, BPF_NOEXIST);
	}
}

/* Flow facts gathered while parsing (lib/l3.h, lib/l4.h), for every later decision. */
struct flow4 {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;       /* TCP/UDP/SCTP ports; ICMP echo: the identifier (request: sport, reply: dport) */
	__be16 dport;
	__u8 proto;
	__u8 fragment;      /* a non-first IPv4 fragment: no L4 header in this packet */
	__u8 ports_known;   /* sport/dport are valid: from this packet, or a non-first fragment's first one */
	__u8 tcp_flags;     /* TCP flags byte, 0 for others and non-first fragments */
	__u8 icmp_type;
	__u8 more_frags;    /* IP MF set */
	__u16 l4_off;       /* offset of the L4 header from the start of the frame */
	__be16 ip_id;
	__u16 pad;
	__u32 src_identity;
	__u32 dst_identity;
};

/* Counts the packet under reason and reports it on the events ring buffer. */
static __always_inline void notify(struct __sk_buff *skb, __u8 type, __u8 reason, __u8 dir, __u16 endpoint,
				   const struct flow4 *f)
{
	count(reason, dir, endpoint, skb->len);
	struct drop_event *e = bpf_ringbuf_reserve(&sl_events, sizeof(*e), 0);
	if (e) {
		__builtin_memset(e, 0, sizeof(*e));
		e->type = type;
		e->reason = reason;
		e->dir = dir;
		e->ifindex = skb->ifindex;
		e->len = skb->len;
		e->endpoint = endpoint;
		if (f) {
			e->proto = f->proto;
			e->saddr = f->saddr;
			e->daddr = f->daddr;
			e->sport = f->sport;
			e->dport = f->dport;
			e->src_identity = f->src_identity;
			e->dst_identity = f->dst_identity;
		}
		bpf_ringbuf_submit(e, 0);
	}
}

static __always_inline int drop(struct __sk_buff *skb, __u8 reason, __u8 dir, __u16 endpoint,
				const struct flow4 *f)
{
	notify(skb, EVENT_DROP, reason, dir, endpoint, f);
	return TC_ACT_SHOT;
}

#endif
