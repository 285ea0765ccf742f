/* Per-endpoint policy enforcement.
 *
 * sl_policy holds every local endpoint's policy map state as one longest-prefix-match trie keyed by
 * {endpoint, peer identity, direction | protocol, port}: the first 72 bits are always exact, then
 * protocol (8 bits) and destination port (16 bits, network order) may be a prefix, so a port range
 * is a few power-of-two aligned prefixes and "any port" or "any protocol" is a shorter prefix.
 * The agent writes, for every prefix, the combined verdict of all entries covering it, so the
 * longest match alone is the answer for its identity. A packet is decided by up to three lookups
 * whose verdicts combine with DENY over REDIRECT over ALLOW (an L7 rule on a port is not bypassed
 * by a wider L4 allow of the same peer, the CVE-2024-52529 class):
 *   1. the peer's identity, 2. any peer (identity 0), 3. the peer's address: sl_policy_cidr maps
 *      (endpoint, direction, address prefix) to a CIDR-set identity standing for exactly the
 *      ipBlock/CIDR rules that match that address, which is then looked up like 1.
 * The cost is the same however many policies exist. */
#ifndef SLUICE_POLICY_H
#define SLUICE_POLICY_H

#include "common.h"
#include "maps.h"
#include "drop.h"
#include "l4.h"

#define POLICY_MAX       1048576
#define POLICY_CIDR_MAX  262144

/* Verdicts; a larger number wins when several lookups match. */
enum sl_verdict {
	POLICY_NONE     = 0,
	POLICY_ALLOW    = 1,
	POLICY_REDIRECT = 2,   /* allowed at L4, to the L7 proxy named by policy_value.l7 */
	POLICY_DENY     = 3,
};

/* policy_value.l7: which proxy a REDIRECT entry goes to. */
enum sl_l7 {
	L7_NONE = 0,
	L7_HTTP = 1,
	L7_DNS  = 2,
};

#define POLICY_KEY_FIXED_BITS 72   /* endpoint 32 + identity 32 + direction 8 */

struct policy_key {
	__u32 prefixlen;
	__u32 endpoint;
	__u32 identity;    /* 0 = any peer */
	__u8 direction;    /* METRIC_INGRESS 1, METRIC_EGRESS 2 */
	__u8 protocol;
	__be16 dport;
};

struct policy_value {
	__u8 verdict;      /* POLICY_* */
	__u8 prefixlen;    /* the key's prefix over protocol+port (0, 8, 9..24): events name the matched key */
	__u8 l7;           /* L7_* for POLICY_REDIRECT, else L7_NONE */
	__u8 pad;
	__u32 rule;        /* the agent's id for the rules that produced this entry (monitor, trace) */
};

#define POLICY_CIDR_FIXED_BITS 64  /* endpoint 32 + direction 8 + pad 24 */

struct policy_cidr_key {
	__u32 prefixlen;
	__u32 endpoint;
	__u8 direction;
	__u8 pad[3];
	__be32 addr;
};

struct policy_cidr_value {
	__u32 identity;    /* the CIDR-set identity to look up in sl_policy */
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, POLICY_MAX);
	__type(key, struct policy_key);
	__type(value, struct policy_value);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} sl_policy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, POLICY_CIDR_MAX);
	__type(key, struct policy_cidr_key);
	__type(value, struct policy_cidr_value);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} sl_policy_cidr SEC(".maps");

/* endpoint_info.flags, written by the agent with the endpoint's policy */
enum sl_endpoint_flags {
	EP_F_INGRESS_ENFORCED = 0x01,
	EP_F_EGRESS_ENFORCED  = 0x02,
	EP_F_AUDIT            = 0x04,
	EP_F_POLICY_PENDING   = 0x08,   /* the agent has not computed this endpoint's policy yet: drop all */
	EP_F_POLICY_OVERFLOW  = 0x10,   /* the endpoint's policy did not fit its map: drop all */
};

/* What one lookup matched, for the events (struct flow_event policy_*). */
struct policy_hit {
	__u32 identity;
	__u32 rule;
	__u8 verdict;
	__u8 prefixlen;
	__u8 kind;         /* POLICY_MATCH_* */
	__u8 l7;           /* L7_* of a REDIRECT */
};

static __always_inline void policy_lookup(__u32 ep, __u32 identity, __u8 dir, __u8 proto, __be16 dport, __u8 kind,
					  struct policy_hit *best)
{
	struct policy_key k = {
		.prefixlen = POLICY_KEY_FIXED_BITS + 24,
		.endpoint = ep, .identity = identity, .direction = dir, .protocol = proto, .dport = dport,
	};
	struct policy_value *v = bpf_map_lookup_elem(&sl_policy, &k);
	/* the first lookup with the strongest verdict names the entry */
	if (!v || v->verdict <= best->verdict)
		return;
	best->verdict = v->verdict;
	best->identity = identity;
	best->rule = v->rule;
	best->prefixlen = v->prefixlen;
	best->kind = kind;
	best->l7 = v->l7;
}

static __always_inline __u32 policy_cidr_identity(__u32 ep, __u8 dir, __be32 addr)
{
	struct policy_cidr_key k = { .prefixlen = POLICY_CIDR_FIXED_BITS + 32, .endpoint = ep, .direction = dir, .addr = addr };
	struct policy_cidr_value *v = bpf_map_lookup_elem(&sl_policy_cidr, &k);
	return v ? v->identity : 0;
}

static __always_inline __u8 max_verdict(__u8 a, __u8 b) { return a > b ? a : b; }

/* policy_check's *steer for a REDIRECT entry that names no proxy (the agent never writes one):
 * no proxy slot takes it, so it fails closed with DROP_PROXY_UNAVAILABLE. */
#define POLICY_STEER_UNKNOWN 0xff

/* The verdict for a packet of endpoint `ep` in direction `dir` with the given peer, to destination
 * port `dport` (the flow's, as its opener sent it): 0 to pass, or the drop reason. *audited is set
 * when audit mode lets a would-be drop pass. The deciding entry is recorded in f (policy_*).
 * A REDIRECT passes (0) with *steer set to its L7_* kind: the caller steers the packet to that
 * proxy (lib/proxy.h) or drops it with DROP_PROXY_UNAVAILABLE; audit mode steers it too (the proxy
 * decides). Otherwise *steer is 0. */
static __always_inline int policy_check(const struct endpoint_info *ep, __u8 dir, __u32 peer_identity,
					__be32 peer_addr, struct flow4 *f, __be16 dport, int *audited, __u8 *steer)
{
	*steer = 0;
	f->policy_dir = dir;
	f->policy_match = POLICY_MATCH_NONE;
	f->policy_identity = 0;
	f->policy_rule = 0;
	f->policy_prefixlen = 0;
	if (ep->flags & EP_F_POLICY_PENDING)
		return DROP_POLICY_PENDING;
	if (ep->flags & EP_F_POLICY_OVERFLOW)
		return DROP_POLICY_FULL;
	int enforced = dir == METRIC_INGRESS ? (ep->flags & EP_F_INGRESS_ENFORCED) : (ep->flags & EP_F_EGRESS_ENFORCED);
	/* The node itself always reaches its pods (kubelet health checks), as in Cilium's default. */
	if (dir == METRIC_INGRESS && peer_identity == IDENTITY_HOST) {
		f->policy_match = POLICY_MATCH_HOST;
		return 0;
	}

	/* Without its ports (a non-first fragment whose first was not seen) only rules for every port
	 * can match. */
	__u8 proto = f->proto;
	if (!f->ports_known || !l4_has_ports(proto))
		dport = 0;
	struct policy_hit hit = {};
	policy_lookup(ep->id, peer_identity, dir, proto, dport, POLICY_MATCH_IDENTITY, &hit);
	policy_lookup(ep->id, 0, dir, proto, dport, POLICY_MATCH_ANY, &hit);
	__u32 cidr_id = policy_cidr_identity(ep->id, dir, peer_addr);
	if (cidr_id)
		policy_lookup(ep->id, cidr_id, dir, proto, dport, POLICY_MATCH_CIDR, &hit);
	__u8 v = hit.verdict;
	f->policy_match = hit.kind;
	f->policy_identity = hit.identity;
	f->policy_rule = hit.rule;
	f->policy_prefixlen = hit.prefixlen;

	int reason = 0;
	if (v == POLICY_DENY)
		reason = DROP_POLICY_DENY;
	else if (v == POLICY_REDIRECT)
		*steer = hit.l7 ? hit.l7 : POLICY_STEER_UNKNOWN;
	else if (v == POLICY_NONE && enforced)
		reason = f->ports_known || !l4_has_ports(proto) ? DROP_POLICY : DROP_FRAGMENT;
	if (reason && (ep->flags & EP_F_AUDIT)) {
		*audited = reason;
		return 0;
	}
	return reason;
}

/* The source identity of a packet arriving at to_container at endpoint `ep`; *hairpin is set for
 * a pod's own request through its own Service, which only from_container marks so. */
static __always_inline __u32 ingress_identity(struct __sk_buff *skb, const struct endpoint_info *ep, __be32 saddr, int *hairpin)
{
	__u32 mark = skb->mark;
	if (mark == MARK_MAGIC_HAIRPIN) {
		skb->mark = 0;
		*hairpin = 1;
		return ep->identity;
	}
	__u32 magic = mark & MARK_ID_MAGIC_MASK;
	if (magic == MARK_ID_MAGIC || magic == MARK_PROXY_EGRESS || magic == MARK_PROXY_INGRESS) {
		/* MARK_PROXY_*: a proxy's upstream connection, from the node's address on behalf of
		 * the client whose identity the proxy put in SO_MARK (lib/common.h) */
		skb->mark = 0;
		return mark & MARK_IDENTITY_MASK;
	}
	struct ipcache_value *v = ipcache_lookup4(saddr);
	return v ? v->identity : IDENTITY_WORLD;
}

#endif
