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
	DROP_PROXY_UNAVAILABLE = 144, /* an L7 rule applies and no L7 proxy runs: its socket slot is empty, or a TCP
				       * segment of a connection the proxy does not hold (after an agent restart) */
	REASON_AUDIT          = 145,  /* not a drop: a would-be policy drop let through by audit mode */
	DROP_POLICY_REVOKED   = 146,  /* a reply of a flow that the policy no longer allows */
	DROP_PROXY_INVALID    = 147,  /* a packet for the L7 proxy it may not reach (lib/proxy.h): a proxy mark the
				       * endpoint's policy does not call for, or an IP fragment */
	DROP_NO_BACKEND       = 150,
	DROP_CT_FULL          = 151,
	DROP_FRAGMENT         = 152,  /* a non-first fragment whose first fragment was not seen, where ports are needed */
	DROP_NAT_NO_PORT      = 153,  /* no free port for source NAT (masquerade, NodePort to another node) */
	DROP_DSR_INVALID      = 154,  /* a DSR option the node does not accept (lib/dsr.h): forged, or from a pod */
	DROP_DSR_NO_ROOM      = 155,  /* no room for the DSR option: IP options present, or over the MTU */
	DROP_FRAG_NEEDED      = 156,  /* too big for a local backend's veth, DF set: answered "fragmentation needed" from the frontend */
};

enum sl_event_type {
	EVENT_DROP       = 1,
	EVENT_AUDIT      = 2,   /* a policy drop that audit mode let through */
	EVENT_TRACE      = 3,   /* forwarded (Hubble verdict FORWARDED) */
	EVENT_TRANSLATED = 4,   /* a service frontend translated to a backend (Hubble verdict TRANSLATED) */
};

/* Where an event was observed, numbered as Hubble's TraceObservationPoint so the agent maps them
 * one to one. FROM_* points see a packet arrive at a hook, TO_* points see it leave. */
enum sl_obs_point {
	OBS_UNKNOWN       = 0,
	OBS_TO_PROXY      = 1,    /* steered to the node's L7 proxy (lib/proxy.h) */
	OBS_TO_STACK      = 3,    /* handed to the node's own stack (native routing, the node, outside) */
	OBS_TO_OVERLAY    = 4,    /* into the VXLAN tunnel */
	OBS_FROM_ENDPOINT = 5,    /* from_container: the pod sent it */
	OBS_FROM_OVERLAY  = 9,    /* from_overlay: decapsulated */
	OBS_FROM_NETWORK  = 10,   /* from_netdev: the uplink */
	OBS_TO_NETWORK    = 11,   /* out of the uplink, next hop resolved by the data path */
	OBS_TO_ENDPOINT   = 101,  /* to_container: delivered into the pod */
};

/* bpf.monitorAggregation, in node_config.flags (CONFIG_MONITOR_*), as Cilium's levels:
 *   NONE    every forwarded packet at every point;
 *   LOW     forwarded packets only where they leave a hook (TO_*), plus the policy verdict of a
 *           new flow where it enters one (FROM_ENDPOINT with ct NEW);
 *   MEDIUM  as LOW, and a TO_* packet of an established flow only when its TCP flags add one not
 *           yet reported for that connection in that direction (ct_entry.*_flags_seen), when it is
 *           the flow's first reply, or when bpf.monitorAggregationInterval has passed since that
 *           direction's last report (ct_entry.last_*_report);
 *   MAXIMUM as MEDIUM (Cilium: an alias of the most aggressive level).
 * Drops, audits and translations are always reported (translations: once per new service flow
 * from LOW up). */
enum sl_monitor_aggregation {
	MONITOR_AGG_NONE    = 0,
	MONITOR_AGG_LOW     = 1,
	MONITOR_AGG_MEDIUM  = 2,
	MONITOR_AGG_MAXIMUM = 3,
};

/* Connection tracking state of an event's packet: the sl_ct_result + 1, 0 when not tracked here. */
enum sl_flow_ct {
	FLOW_CT_UNKNOWN     = 0,
	FLOW_CT_NEW         = 1,
	FLOW_CT_ESTABLISHED = 2,
	FLOW_CT_REPLY       = 3,
	FLOW_CT_RELATED     = 4,
};

/* Which policy lookup decided a packet (lib/policy.h): the agent finds the entry, and from it the
 * policies that produced it, by (endpoint, policy_dir, policy_identity, protocol, port masked to
 * policy_prefixlen) without computing anything again. */
enum sl_policy_match {
	POLICY_MATCH_NONE     = 0,   /* no entry matched: default allow, or default deny (reason 140) */
	POLICY_MATCH_IDENTITY = 1,   /* the peer's own identity */
	POLICY_MATCH_ANY      = 2,   /* identity 0: any peer */
	POLICY_MATCH_CIDR     = 3,   /* the CIDR-set identity of the peer's address (sl_policy_cidr) */
	POLICY_MATCH_HOST     = 4,   /* the node itself reaching its pod: always allowed, no entry */
};

/* One record on sl_events for every verdict: drops, audits, forwarded packets (aggregated, see
 * sl_monitor_aggregation) and service translations. Read by the agent as
 * dev.sluice.datapath.maps.FlowEvent; DatapathLayoutTest checks its layout. */
struct flow_event {
	__u8 type;             /* EVENT_* */
	__u8 reason;           /* DROP_* for drops, REASON_AUDIT, REASON_FORWARDED otherwise */
	__u8 dir;              /* METRIC_INGRESS / METRIC_EGRESS, seen from the endpoint */
	__u8 proto;
	__u32 ifindex;
	__u32 src_identity;
	__u32 dst_identity;
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u32 len;
	__u16 endpoint;        /* endpoint id, 0 when not attributable */
	__u8 obs_point;        /* OBS_* */
	__u8 ct_state;         /* FLOW_CT_* */
	__u8 tcp_flags;
	__u8 policy_match;     /* POLICY_MATCH_* */
	__u8 policy_dir;       /* direction of the policy check that decided, 0 = none ran */
	__u8 policy_prefixlen; /* bits of protocol+port the matched entry covers: 0 any, 8 any port, 24 one port */
	__u32 policy_identity; /* the identity the matched entry is keyed by (0 = any peer) */
	__u32 policy_rule;     /* the matched entry's rule id (policy_value.rule) */
	__be32 orig_daddr;     /* EVENT_TRANSLATED: the frontend the packet was sent to */
	__be16 orig_dport;
	__u16 rev_nat_id;      /* EVENT_TRANSLATED: the frontend id */
	__u64 ktime;           /* bpf_ktime_get_ns() */
	/* ICMP: the type and code of the packet's own header, the outer one of an error (whose quoted
	 * packet, which its sender chose, only serves conntrack's RELATED), when the packet carried
	 * that header (icmp_known 0: a non-first fragment, or a header cut short). */
	__u8 icmp_type;
	__u8 icmp_code;
	__u8 icmp_known;
	__u8 pad[5];
};

/* Events the ring buffer had no room for, one counter per CPU (index 0). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} sl_events_lost SEC(".maps");

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

/* Flow facts gathered while parsing (lib/l3.h, lib/l4.h), for every later decision, and what the
 * hooks learn on the way (conntrack, policy, translation) for the events. */
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
	__u8 icmp_code;
	__u8 pad;
	__u32 src_identity;
	__u32 dst_identity;
	/* for events */
	__u8 obs_point;     /* the hook's own point: drops and translations are reported there */
	__u8 ct_state;      /* FLOW_CT_* of the last conntrack lookup */
	__u8 monitor;       /* the last lookup found something to report: new flow, first reply, TCP flags new in
			     * this direction, or bpf.monitorAggregationInterval passed since the last report */
	__u8 policy_match;  /* POLICY_MATCH_* of the last policy check */
	__u8 policy_dir;
	__u8 policy_prefixlen;
	__u16 rev_nat_id;   /* translated: frontend id */
	__u32 policy_identity;
	__u32 policy_rule;
	__be32 orig_daddr;  /* translated: the frontend */
	__be16 orig_dport;
	__u16 pad2;
};

static __always_inline __u8 monitor_aggregation(void)
{
	__u32 zero = 0;
	struct node_config *c = bpf_map_lookup_elem(&sl_config, &zero);
	return c ? (c->flags & CONFIG_MONITOR_MASK) >> CONFIG_MONITOR_SHIFT : MONITOR_AGG_NONE;
}

/* bpf.monitorAggregationInterval in seconds (node_config.flags bits 16-31), 0: no periodic report. */
static __always_inline __u32 monitor_interval(void)
{
	__u32 zero = 0;
	struct node_config *c = bpf_map_lookup_elem(&sl_config, &zero);
	return c ? c->flags >> CONFIG_MONITOR_INTERVAL_SHIFT : 0;
}

/* A zeroed event reserved on the events ring with its header filled (the caller fills the rest and
 * submits it), or NULL: the ring is full, counted in sl_events_lost. */
static __always_inline struct flow_event *event_reserve(__u8 type, __u8 reason, __u8 dir, __u16 endpoint, __u8 obs)
{
	struct flow_event *e = bpf_ringbuf_reserve(&sl_events, sizeof(*e), 0);
	if (!e) {
		__u32 zero = 0;
		__u64 *lost = bpf_map_lookup_elem(&sl_events_lost, &zero);
		if (lost)
			*lost += 1;
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->type = type;
	e->reason = reason;
	e->dir = dir;
	e->endpoint = endpoint;
	e->obs_point = obs;
	e->ktime = bpf_ktime_get_ns();
	return e;
}

/* Reports the packet on the events ring buffer; a full ring counts it in sl_events_lost. */
static __always_inline void emit(struct __sk_buff *skb, __u8 type, __u8 reason, __u8 dir, __u16 endpoint,
				 const struct flow4 *f, __u8 obs)
{
	struct flow_event *e = event_reserve(type, reason, dir, endpoint, obs);
	if (!e)
		return;
	e->ifindex = skb->ifindex;
	e->len = skb->len;
	if (f) {
		e->proto = f->proto;
		e->saddr = f->saddr;
		e->daddr = f->daddr;
		e->sport = f->sport;
		e->dport = f->dport;
		e->src_identity = f->src_identity;
		e->dst_identity = f->dst_identity;
		e->ct_state = f->ct_state;
		e->tcp_flags = f->tcp_flags;
		e->policy_match = f->policy_match;
		e->policy_dir = f->policy_dir;
		e->policy_prefixlen = f->policy_prefixlen;
		e->policy_identity = f->policy_identity;
		e->policy_rule = f->policy_rule;
		e->orig_daddr = f->orig_daddr;
		e->orig_dport = f->orig_dport;
		e->rev_nat_id = f->rev_nat_id;
		/* ports_known without a fragment: l4_parse read this packet's own ICMP header */
		if (f->proto == IPPROTO_ICMP && !f->fragment && f->ports_known) {
			e->icmp_type = f->icmp_type;
			e->icmp_code = f->icmp_code;
			e->icmp_known = 1;
		}
	}
	bpf_ringbuf_submit(e, 0);
}

/* Counts the packet under reason and reports it on the events ring buffer, at the hook's point. */
static __always_inline void notify(struct __sk_buff *skb, __u8 type, __u8 reason, __u8 dir, __u16 endpoint,
				   const struct flow4 *f)
{
	count(reason, dir, endpoint, skb->len);
	emit(skb, type, reason, dir, endpoint, f, f ? f->obs_point : OBS_UNKNOWN);
}

static __always_inline int obs_is_from(__u8 obs)
{
	return obs == OBS_FROM_ENDPOINT || obs == OBS_FROM_OVERLAY || obs == OBS_FROM_NETWORK;
}

/* A forwarded packet seen at `obs`, reported as the node's aggregation level allows (counting is
 * the caller's: every forwarded packet is counted once, where it leaves). */
static __always_inline void trace_forward(struct __sk_buff *skb, __u8 dir, __u16 endpoint, const struct flow4 *f, __u8 obs)
{
	__u8 agg = monitor_aggregation();
	if (agg >= MONITOR_AGG_LOW) {
		if (obs_is_from(obs)) {
			if (f->ct_state != FLOW_CT_NEW)
				return;
		} else if (agg >= MONITOR_AGG_MEDIUM && !f->monitor) {
			return;
		}
	}
	emit(skb, EVENT_TRACE, REASON_FORWARDED, dir, endpoint, f, obs);
}

/* A service translation: reported for every packet with aggregation none, else once per new flow. */
static __always_inline void trace_translated(struct __sk_buff *skb, __u8 dir, __u16 endpoint, const struct flow4 *f, int new_flow)
{
	if (!new_flow && monitor_aggregation() >= MONITOR_AGG_LOW)
		return;
	emit(skb, EVENT_TRANSLATED, REASON_FORWARDED, dir, endpoint, f, f->obs_point);
}

static __always_inline int drop(struct __sk_buff *skb, __u8 reason, __u8 dir, __u16 endpoint,
				const struct flow4 *f)
{
	notify(skb, EVENT_DROP, reason, dir, endpoint, f);
	return TC_ACT_SHOT;
}

#endif
