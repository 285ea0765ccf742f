/* Service load balancing (the kube-proxy replacement): frontends, backends, backend choice
 * (connection tracking first, then session affinity, then Maglev or a random slot), translation and
 * reverse translation, the no-backend answer, and forwarding of translated packets.
 *
 * Maps, all written by the agent's LbReconciler from the model's LbState:
 *   sl_lb4_services     (address, port, proto) -> frontend id, backend count, flags
 *   sl_lb4_backends     backend id -> address, port
 *   sl_lb4_slots        (frontend id, slot 1..count) -> backend id      (random / stateless choice)
 *   sl_lb4_maglev       frontend id -> inner array of M backend ids     (loadBalancer.algorithm maglev)
 *   sl_lb4_reverse_nat  frontend id -> address, port                    (source of translated replies)
 *   sl_lb4_affinity     (client, frontend id) -> backend, last use      (sessionAffinity ClientIP)
 *   sl_lb_config        node-wide switches: enabled, masquerade, stateless, M, SNAT ports, loopback */
#ifndef SLUICE_LB_H
#define SLUICE_LB_H

#include "common.h"
#include "maps.h"
#include "drop.h"
#include "l3.h"
#include "conntrack.h"
#include "nat.h"
#include "icmp.h"
#include "icmp_nat.h"
#include "encap.h"

#define LB_SERVICES_MAX  65536    /* defaults; the agent sizes them from bpf.lbMapMax before load */
#define LB_BACKENDS_MAX  65536
#define LB_SLOTS_MAX     262144
#define LB_AFFINITY_MAX  65536
#define LB_MAGLEV_INNER  16381    /* template only: inner maps carry BPF_F_INNER_MAP, so any M fits */

/* lb4_service.flags */
enum sl_lb_flags {
	LB_F_AFFINITY        = 0x01,   /* sessionAffinity ClientIP */
	LB_F_LOCAL           = 0x02,   /* backends restricted to this node (eTP/iTP Local) */
	LB_F_PRESERVE_CLIENT = 0x04,   /* eTP Local: never SNAT external clients */
	LB_F_EXTERNAL        = 0x08,   /* reachable from outside the node: NodePort, ExternalIP, LoadBalancer */
	LB_F_REJECT          = 0x10,   /* no backend: ICMP port unreachable (else drop) */
	LB_F_MAGLEV          = 0x20,
};

/* lb4_service.type */
enum sl_lb_type {
	LB_T_CLUSTER_IP    = 1,
	LB_T_NODE_PORT     = 2,
	LB_T_EXTERNAL_IP   = 3,
	LB_T_LOAD_BALANCER = 4,
};

/* lb_config.flags */
enum sl_lb_config_flags {
	LB_CFG_ENABLED    = 0x01,   /* kubeProxyReplacement */
	LB_CFG_MASQUERADE = 0x02,   /* bpf.masquerade */
	LB_CFG_STATELESS  = 0x04,   /* conntrack.enabled false: no CT_SERVICE entries, hash choice */
	LB_CFG_DSR_TCP    = 0x08,   /* loadBalancer.mode dsr or hybrid: TCP to another node's backend by DSR (lib/dsr.h) */
	LB_CFG_DSR_UDP    = 0x10,   /* loadBalancer.mode dsr: UDP too */
};

struct lb4_key {
	__be32 address;
	__be16 dport;
	__u8 proto;
	__u8 pad;
};

struct lb4_service {
	__u32 id;                 /* frontend id: rev_nat_id, slot and Maglev key; 1..65535 */
	__u16 count;              /* backends (slots 1..count) */
	__u16 flags;              /* LB_F_* */
	__u32 affinity_timeout;   /* seconds */
	__u8 type;                /* LB_T_* */
	__u8 pad[3];
};

struct lb4_backend {
	__be32 address;
	__be16 port;
	__u8 proto;
	__u8 flags;
};

struct lb4_slot_key {
	__u32 id;
	__u32 slot;
};

struct lb4_reverse_nat {
	__be32 address;
	__be16 port;
	__u16 pad;
};

struct lb_affinity_key {
	__be32 client;
	__u32 id;
};

struct lb_affinity_value {
	__u64 last_used;          /* bpf_ktime_get_ns() */
	__u32 backend_id;
	__u32 pad;
};

struct lb_config {
	__be32 loopback;          /* service loopback: hairpin source, 169.254.42.1 */
	__u32 maglev_size;        /* M */
	__u32 flags;              /* LB_CFG_* */
	__u16 snat_min;           /* SNAT port range */
	__u16 snat_max;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LB_SERVICES_MAX);
	__type(key, struct lb4_key);
	__type(value, struct lb4_service);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} sl_lb4_services SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LB_BACKENDS_MAX);
	__type(key, __u32);
	__type(value, struct lb4_backend);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} sl_lb4_backends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LB_SLOTS_MAX);
	__type(key, struct lb4_slot_key);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} sl_lb4_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LB_SERVICES_MAX);
	__type(key, __u32);
	__type(value, struct lb4_reverse_nat);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} sl_lb4_reverse_nat SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, LB_AFFINITY_MAX);
	__type(key, struct lb_affinity_key);
	__type(value, struct lb_affinity_value);
} sl_lb4_affinity SEC(".maps");

struct lb_maglev_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LB_MAGLEV_INNER);
	__uint(map_flags, BPF_F_INNER_MAP);
	__type(key, __u32);
	__type(value, __u32);
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, LB_SERVICES_MAX);
	__type(key, __u32);
	__array(values, struct lb_maglev_inner);
} sl_lb4_maglev SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lb_config);
} sl_lb_config SEC(".maps");

static __always_inline struct lb_config *lb_config(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&sl_lb_config, &zero);
}

enum { LB_NONE = 0, LB_XLATED = 1, LB_NO_BACKEND = 2 };

/* What a translation did, for conntrack and the caller's forwarding. */
struct lb_result {
	__u32 rev_nat_id;
	__u32 backend_id;
	__u16 svc_flags;
	__u8 hairpin;
	__u8 new_flow;     /* translated and not an established service flow: events report it */
};

static __always_inline struct lb4_backend *lb4_backend(__u32 id)
{
	return bpf_map_lookup_elem(&sl_lb4_backends, &id);
}

/* Chooses a backend for a new flow: Maglev when the frontend has a table, else a slot, random or
 * (stateless mode) by the flow's hash so every packet of the flow agrees. 0 = none. */
static __always_inline __u32 lb4_pick(const struct lb4_service *svc, const struct flow4 *f, const struct lb_config *lc)
{
	if ((svc->flags & LB_F_MAGLEV) && lc->maglev_size) {
		__u32 id = svc->id;
		void *inner = bpf_map_lookup_elem(&sl_lb4_maglev, &id);
		if (inner) {
			__u32 idx = flow4_hash(f) % lc->maglev_size;
			__u32 *b = bpf_map_lookup_elem(inner, &idx);
			if (b && *b)
				return *b;
		}
	}
	__u32 r = (lc->flags & LB_CFG_STATELESS) ? flow4_hash(f) : bpf_get_prandom_u32();
	struct lb4_slot_key sk = { .id = svc->id, .slot = (r % svc->count) + 1 };
	__u32 *b = bpf_map_lookup_elem(&sl_lb4_slots, &sk);
	return b ? *b : 0;
}

/* Translates a packet to a frontend: returns LB_NONE (not a frontend, f unchanged), LB_XLATED
 * (destination is now the backend, f updated), LB_NO_BACKEND, or -DROP_*.
 * `external`: the packet comes from outside the node, where only external frontends answer. */
static __always_inline int lb4_xlate(struct __sk_buff *skb, struct flow4 *f, const struct lb_config *lc, int external,
				     struct lb_result *res)
{
	if (!(lc->flags & LB_CFG_ENABLED))
		return LB_NONE;
	if ((f->proto != IPPROTO_TCP && f->proto != IPPROTO_UDP) || !f->ports_known || !f->dport)
		return LB_NONE;
	struct lb4_key key = { .address = f->daddr, .dport = f->dport, .proto = f->proto };
	struct lb4_service *svc = bpf_map_lookup_elem(&sl_lb4_services, &key);
	if (!svc)
		return LB_NONE;
	if (external && !(svc->flags & LB_F_EXTERNAL))
		return LB_NONE;
	res->rev_nat_id = svc->id;
	res->svc_flags = svc->flags;
	if (svc->count == 0)
		return LB_NO_BACKEND;

	__u64 now = bpf_ktime_get_ns();
	int stateful = !(lc->flags & LB_CFG_STATELESS);
	struct ct_state st = {};
	int ct = CT_NEW;
	__u32 bid = 0;
	struct lb4_backend *be = NULL;
	/* An established connection keeps its backend, whatever happened to the backend list since;
	 * unless that backend is gone or its id now names another backend. */
	if (stateful) {
		ct = ct_lookup4(skb, f, CT_SERVICE, &st);
		/* A non-first fragment follows its first fragment's backend, or is dropped. */
		if (f->fragment && ct != CT_ESTABLISHED)
			return -DROP_FRAGMENT;
		if (ct == CT_ESTABLISHED) {
			be = lb4_backend(st.backend_id);
			if (be && be->address == st.nat_addr && be->port == st.nat_port)
				bid = st.backend_id;
			else
				be = NULL;
		}
	}
	if (!be && (svc->flags & LB_F_AFFINITY)) {
		struct lb_affinity_key ak = { .client = f->saddr, .id = svc->id };
		struct lb_affinity_value *av = bpf_map_lookup_elem(&sl_lb4_affinity, &ak);
		if (av && now - av->last_used <= (__u64)svc->affinity_timeout * NSEC_PER_SEC) {
			be = lb4_backend(av->backend_id);
			if (be)
				bid = av->backend_id;
		}
	}
	if (!be) {
		if (f->fragment && stateful)
			return -DROP_FRAGMENT;   /* its backend is gone: never a new one mid-datagram */
		bid = lb4_pick(svc, f, lc);
		be = bid ? lb4_backend(bid) : NULL;
		if (!be)
			return LB_NO_BACKEND;
	}
	if (svc->flags & LB_F_AFFINITY) {
		struct lb_affinity_key ak = { .client = f->saddr, .id = svc->id };
		struct lb_affinity_value av = { .last_used = now, .backend_id = bid };
		bpf_map_update_elem(&sl_lb4_affinity, &ak, &av, BPF_ANY);
	}
	__be32 baddr = be->address;
	__be16 bport = be->port;
	if (stateful && (ct != CT_ESTABLISHED || st.backend_id != bid)) {
		struct ct_state ns = { .rev_nat_id = svc->id, .backend_id = bid, .nat_addr = baddr, .nat_port = bport };
		int r = ct_create4(skb, f, CT_SERVICE, &ns);
		if (r)
			return -r;
	}
	if (nat4_rewrite(skb, f, 0, f->daddr, baddr, f->dport, bport) < 0)
		return -DROP_INVALID_PACKET;
	f->orig_daddr = f->daddr;
	f->orig_dport = f->dport;
	f->rev_nat_id = svc->id;
	f->daddr = baddr;
	f->dport = bport;
	res->backend_id = bid;
	res->new_flow = stateful && ct != CT_ESTABLISHED;
	return LB_XLATED;
}

/* from_container: translation, plus hairpin: a pod that reaches itself through a Service gets the
 * service loopback as source, so its answer leaves the pod and can be translated back. */
static __always_inline int lb4_xlate_pod(struct __sk_buff *skb, struct flow4 *f, const struct lb_config *lc,
					 struct lb_result *res)
{
	int r = lb4_xlate(skb, f, lc, 0, res);
	if (r != LB_XLATED || f->daddr != f->saddr)
		return r;
	__be32 lo = lc->loopback;
	if (nat4_rewrite(skb, f, 1, f->saddr, lo, f->sport, f->sport) < 0)
		return -DROP_INVALID_PACKET;
	f->saddr = lo;
	res->hairpin = 1;
	return r;
}

/* Source of a translated flow's reply back to its frontend (and, for hairpin, the destination back
 * from the loopback to the pod itself). A frontend removed meanwhile leaves the packet as is. */
static __always_inline int lb4_rev_nat(struct __sk_buff *skb, struct flow4 *f, __u32 rev_nat_id, __u16 ct_flags)
{
	struct lb4_reverse_nat *rn = bpf_map_lookup_elem(&sl_lb4_reverse_nat, &rev_nat_id);
	if (!rn)
		return 0;
	__be32 vip = rn->address;
	__be16 vport = rn->port;
	__be32 self = f->saddr;
	if (ct_flags & CT_F_HAIRPIN) {
		if (nat4_rewrite(skb, f, 0, f->daddr, self, f->dport, f->dport) < 0)
			return -1;
		f->daddr = self;
	}
	if (nat4_rewrite(skb, f, 1, f->saddr, vip, f->sport, vport) < 0)
		return -1;
	f->saddr = vip;
	f->sport = vport;
	return 0;
}

/* ICMP errors about Service flows (lib/icmp_nat.h): the quote's destination, a backend, becomes the
 * frontend `rev_nat_id` again, and so does the error's source when the backend itself (or, for
 * `any_source`, whoever) sent it. A frontend removed meanwhile leaves the packet as it is. */
static __always_inline int lb4_icmp_err_to_frontend(struct __sk_buff *skb, struct flow4 *f, struct icmp4_quote *q,
						    __u32 rev_nat_id, int any_source)
{
	struct lb4_reverse_nat *rn = bpf_map_lookup_elem(&sl_lb4_reverse_nat, &rev_nat_id);
	if (!rn)
		return 0;
	__be32 vip = rn->address;
	__be16 vport = rn->port;
	__be32 backend = q->ip.daddr;
	if (icmp4_quote_rewrite(skb, f, q, 0, vip, vport) < 0)
		return -1;
	if (any_source || f->saddr == backend) {
		if (nat4_rewrite(skb, f, 1, f->saddr, vip, 0, 0) < 0)
			return -1;
		f->saddr = vip;
	}
	return 0;
}

/* to_container, an ICMP error that conntrack found RELATED to the pod's own flow `ct` (its
 * CT_EGRESS entry: the quote is the pod's packet as it left, after translation). Translated only
 * when that flow went to a Service and the quote is the pod's packet to that very backend (address,
 * port, protocol); the error's source stays unless it is the backend (a router on the way is still
 * that router). Returns 0, or -1 on a failed rewrite. */
static __always_inline int lb4_icmp_err_rev_nat(struct __sk_buff *skb, struct flow4 *f, const struct ct_state *ct)
{
	struct icmp4_quote q;
	if (!ct->rev_nat_id || (ct->flags & (CT_F_NODEPORT | CT_F_HAIRPIN)) || icmp4_quote_load(skb, f, &q) < 0)
		return 0;
	struct lb4_backend *be = lb4_backend(ct->backend_id);
	if (!be || q.ip.saddr != f->daddr || q.ip.daddr != be->address || q.ports[1] != be->port || q.ip.protocol != be->proto)
		return 0;
	return lb4_icmp_err_to_frontend(skb, f, &q, ct->rev_nat_id, 0);
}

/* The frontend id a packet delivered from the uplink or tunnel was translated from (mark), or 0. */
static __always_inline __u32 lb4_mark_rev_nat(struct __sk_buff *skb)
{
	if ((skb->mark & MARK_MAGIC_MASK) != MARK_MAGIC_LB)
		return 0;
	__u32 id = skb->mark & 0xffff;
	skb->mark = 0;
	return id;
}

/* A frontend without a backend: counted and reported as DROP_NO_BACKEND either way; with reject
 * the sender also gets an ICMP port unreachable (TCP fails at once with "connection refused"),
 * sent back out of the interface it came in on. `peer`: that interface is a pod's host veth, so
 * the answer goes straight into the pod. A Local-policy frontend reached from outside only drops:
 * another node may have backends, and the client should try it. */
static __always_inline int lb4_no_backend(struct __sk_buff *skb, const struct lb_result *res, __u8 dir, __u16 ep,
					  const struct flow4 *f, int peer, int external)
{
	drop(skb, DROP_NO_BACKEND, dir, ep, f);
	if (!(res->svc_flags & LB_F_REJECT) || (external && (res->svc_flags & LB_F_LOCAL)))
		return TC_ACT_SHOT;
	if (icmp4_port_unreach(skb) < 0)
		return TC_ACT_SHOT;
	return peer ? bpf_redirect_peer(skb->ifindex, 0) : bpf_redirect(skb->ifindex, 0);
}

/* Sends a translated packet on its way: to a local pod, into the tunnel, or out of the uplink with
 * the next hop resolved by the kernel (the packet may carry the node's own address as source,
 * which the forwarding path would refuse as martian). */
static __always_inline int lb4_forward(struct __sk_buff *skb, struct flow4 *f, const struct node_config *cfg,
				       __u32 tunnel_identity, __u8 dir, __u16 ep)
{
	struct endpoint_info *dep = lookup_endpoint4(f->daddr);
	if (dep) {
		f->dst_identity = dep->identity;
		count(REASON_FORWARDED, dir, ep ? ep : dep->id, skb->len);
		return deliver_local(skb, dep, dir, ep ? ep : dep->id, f);
	}
	struct ipcache_value *dst = ipcache_lookup4(f->daddr);
	if (dst && dst->tunnel_ep && (cfg->flags & CONFIG_F_TUNNEL))
		return encap_redirect(skb, cfg, dst->tunnel_ep, tunnel_identity, dir, ep, f);
	count(REASON_FORWARDED, dir, ep, skb->len);
	trace_forward(skb, dir, ep, f, OBS_TO_NETWORK);
	return bpf_redirect_neigh(cfg->uplink_ifindex, NULL, 0, 0);
}

#include "dsr.h"

/* Packets arriving at the node from the uplink or the tunnel: replies to flows this node
 * source-NATed, and external clients of NodePort, ExternalIP and LoadBalancer frontends.
 * Returns -1 when the packet is none of these (the caller continues as before), else a tc verdict. */
static __always_inline int lb4_node_ingress(struct __sk_buff *skb, struct flow4 *f, const struct node_config *cfg)
{
	struct lb_config *lc = lb_config();
	if (!lc)
		return -1;
	if (f->daddr == cfg->node_ip) {
		__u32 rev = 0;
		int r = nat4_rev_snat(skb, f, &rev);
		if (r < 0)
			return drop(skb, DROP_INVALID_PACKET, METRIC_INGRESS, 0, f);
		if (r > 0) {
			if (rev && lb4_rev_nat(skb, f, rev, 0) < 0)
				return drop(skb, DROP_INVALID_PACKET, METRIC_INGRESS, 0, f);
			return lb4_forward(skb, f, cfg, IDENTITY_HOST, METRIC_INGRESS, 0);
		}
		/* An ICMP error about a packet this node source-NATed: to its original sender, as the
		 * frontend's error when the flow was a NodePort client's (PMTU discovery through a Service). */
		struct icmp4_quote q;
		r = nat4_icmp_err_rev_snat(skb, f, &q, &rev);
		if (r > 0 && rev)
			r = lb4_icmp_err_to_frontend(skb, f, &q, rev, 1) < 0 ? -1 : 1;
		if (r < 0)
			return drop(skb, DROP_INVALID_PACKET, METRIC_INGRESS, 0, f);
		if (r > 0)
			return lb4_forward(skb, f, cfg, IDENTITY_HOST, METRIC_INGRESS, 0);
	}
	struct lb_result res = {};
	int r = lb4_xlate(skb, f, lc, 1, &res);
	if (r == LB_NONE)
		return -1;
	if (r < 0)
		return drop(skb, -r, METRIC_INGRESS, 0, f);
	if (r == LB_NO_BACKEND)
		return lb4_no_backend(skb, &res, METRIC_INGRESS, 0, f, 0, 1);
	struct endpoint_info *dep = lookup_endpoint4(f->daddr);
	trace_translated(skb, METRIC_INGRESS, dep ? dep->id : 0, f, res.new_flow);
	if (dep) {
		/* Too big for the backend's veth, DF set: the frontend's own "fragmentation needed". */
		__u32 mtu = icmp4_too_big_for_backend(skb, f, dep->ifindex);
		if (mtu)
			return icmp4_answer_too_big(skb, f, mtu, f->orig_daddr, f->orig_dport, dep->id);
		/* A local backend sees the client as it is; its replies are translated in from_container. */
		skb->mark = MARK_MAGIC_LB | (res.rev_nat_id & 0xffff);
		f->dst_identity = dep->identity;
		count(REASON_FORWARDED, METRIC_INGRESS, dep->id, skb->len);
		return deliver_local(skb, dep, METRIC_INGRESS, dep->id, f);
	}
	/* A backend on another node: direct server return when configured (lib/dsr.h), else SNAT to
	 * this node so the replies come back here to be translated. */
	r = dsr4_egress(skb, f, cfg, lc);
	if (r < 0)
		return drop(skb, -r, METRIC_INGRESS, 0, f);
	if (r > 0)
		return lb4_forward(skb, f, cfg, IDENTITY_HOST, METRIC_INGRESS, 0);
	r = nat4_snat(skb, f, cfg->node_ip, lc->snat_min, lc->snat_max, res.rev_nat_id);
	if (r < 0 || r > 1)
		return drop(skb, r < 0 ? DROP_INVALID_PACKET : r, METRIC_INGRESS, 0, f);
	return lb4_forward(skb, f, cfg, IDENTITY_HOST, METRIC_INGRESS, 0);
}

#endif
