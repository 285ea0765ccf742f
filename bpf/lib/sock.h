/* Socket-level load balancing (socketLB): the maps of bpf_sock.c and its backend choice.
 *
 * A socket that connects (or sends a datagram) to a service frontend gets the backend's address
 * before any packet exists, so the per-packet path sees a plain flow to the backend (policy applies
 * to the backend's identity, no CT_SERVICE entry, no NAT). The frontends, backends, slots, Maglev
 * tables and lb_config are the per-packet path's own (lib/lb.h): one LbState, one set of maps.
 *
 * Maps:
 *   sl_sock_netns     netns cookie -> what it is (the node's own namespace, or a local pod's).
 *                     Written by the agent; a socket of any other namespace passes untouched, so
 *                     programs attached to a cgroup that holds foreign processes cannot affect them.
 *   sl_sock_rev       (socket cookie, backend address, port) -> the frontend the socket asked for:
 *                     getpeername and UDP recvmsg answer with it. LRU; written by the programs.
 *   sl_sock_affinity  (netns cookie, frontend id) -> backend, last use: sessionAffinity ClientIP
 *                     for sockets, whose client is their namespace (the source address is not
 *                     chosen yet at connect time). LRU; written by the programs.
 *   sl_sock_stats     per-CPU counters by enum sl_sock_stat. */
#ifndef SLUICE_SOCK_H
#define SLUICE_SOCK_H

#include "common.h"
#include "lb.h"

#define SOCK_NETNS_MAX    65536
#define SOCK_REV_MAX      131072
#define SOCK_AFFINITY_MAX 65536

/* sock_netns.kind */
enum sl_sock_netns_kind {
	SOCK_NS_HOST = 1,   /* the node's own namespace (kubelet, host-network pods) */
	SOCK_NS_POD  = 2,   /* a local pod's (socketLB.hostNamespaceOnly false) */
};

/* sl_sock_stats index */
enum sl_sock_stat {
	SOCK_STAT_CONNECT    = 0,   /* connect() translated to a backend */
	SOCK_STAT_SENDMSG    = 1,   /* an unconnected datagram translated to a backend */
	SOCK_STAT_NO_BACKEND = 2,   /* refused: the frontend has no backend */
	SOCK_STAT_REV        = 3,   /* recvmsg/getpeername answered with the frontend */
	SOCK_STAT_FOREIGN    = 4,   /* a socket of a namespace this node does not serve: untouched */
	SOCK_STAT_MAX        = 5,
};

struct sock_netns {
	__u32 endpoint;           /* endpoint id of the pod, 0 for the node */
	__be32 address;           /* the pod's address (the source of its flows, for events); 0 for the node */
	__u8 kind;                /* SOCK_NS_* */
	__u8 pad[3];
};

struct sock_rev_key {
	__u64 cookie;             /* bpf_get_socket_cookie */
	__be32 address;           /* backend */
	__be16 port;
	__u16 pad;
};

struct sock_rev_value {
	__be32 address;           /* the frontend as the socket named it (127.0.0.1 for a loopback NodePort) */
	__be16 port;
	__u16 rev_nat_id;         /* frontend id */
};

struct sock_affinity_key {
	__u64 netns;
	__u32 id;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SOCK_NETNS_MAX);
	__type(key, __u64);
	__type(value, struct sock_netns);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} sl_sock_netns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SOCK_REV_MAX);
	__type(key, struct sock_rev_key);
	__type(value, struct sock_rev_value);
} sl_sock_rev SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SOCK_AFFINITY_MAX);
	__type(key, struct sock_affinity_key);
	__type(value, struct lb_affinity_value);
} sl_sock_affinity SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SOCK_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} sl_sock_stats SEC(".maps");

static __always_inline void sock_stat(__u32 i)
{
	__u64 *v = bpf_map_lookup_elem(&sl_sock_stats, &i);
	if (v)
		*v += 1;
}

/* A translation at the socket, on the events ring as the per-packet path reports its own
 * (EVENT_TRANSLATED at the client's FROM_ENDPOINT point, the frontend in orig_daddr), so flows
 * name the Service whichever path translated them. The source port is not chosen yet: 0. */
static __always_inline void sock_emit_translated(const struct sock_netns *sn, __u8 proto, __be32 frontend, __be16 fport,
						 const struct lb4_backend *be, __u32 rev_nat_id)
{
	struct flow_event *e = event_reserve(EVENT_TRANSLATED, REASON_FORWARDED, METRIC_EGRESS, (__u16)sn->endpoint, OBS_FROM_ENDPOINT);
	if (!e)
		return;
	e->proto = proto;
	e->ct_state = FLOW_CT_NEW;
	if (sn->kind == SOCK_NS_POD) {
		struct endpoint_info *ep = lookup_endpoint4(sn->address);
		e->saddr = sn->address;
		e->src_identity = ep ? ep->identity : IDENTITY_UNKNOWN;
	} else {
		struct node_config *cfg = node_config();
		e->saddr = cfg ? cfg->node_ip : 0;
		e->src_identity = IDENTITY_HOST;
	}
	e->daddr = be->address;
	e->dport = be->port;
	struct ipcache_value *dst = ipcache_lookup4(be->address);
	e->dst_identity = dst ? dst->identity : IDENTITY_WORLD;
	e->orig_daddr = frontend;
	e->orig_dport = fport;
	e->rev_nat_id = (__u16)rev_nat_id;
	bpf_ringbuf_submit(e, 0);
}

/* The backend for a new socket to `svc`, as lb4_xlate chooses for a new flow: affinity first, then
 * Maglev or a slot (lb4_pick). `f` stands for the socket's flow; its source port is not chosen yet,
 * so the caller puts bits of the socket cookie there for the Maglev hash. 0 = none. */
static __always_inline __u32 sock4_pick(const struct lb4_service *svc, const struct flow4 *f, const struct lb_config *lc,
					__u64 netns, struct lb4_backend **bep)
{
	__u64 now = bpf_ktime_get_ns();
	__u32 bid = 0;
	struct lb4_backend *be = NULL;
	struct sock_affinity_key ak = { .netns = netns, .id = svc->id };
	if (svc->flags & LB_F_AFFINITY) {
		struct lb_affinity_value *av = bpf_map_lookup_elem(&sl_sock_affinity, &ak);
		if (av && now - av->last_used <= (__u64)svc->affinity_timeout * NSEC_PER_SEC) {
			be = lb4_backend(av->backend_id);
			if (be)
				bid = av->backend_id;
		}
	}
	if (!be) {
		bid = lb4_pick(svc, f, lc);
		be = bid ? lb4_backend(bid) : NULL;
		if (!be)
			return 0;
	}
	if (svc->flags & LB_F_AFFINITY) {
		struct lb_affinity_value av = { .last_used = now, .backend_id = bid };
		bpf_map_update_elem(&sl_sock_affinity, &ak, &av, BPF_ANY);
	}
	*bep = be;
	return bid;
}

#endif
