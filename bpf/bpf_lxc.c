/* Programs on the host side of every pod veth (lxc*):
 *   from_container: tc ingress, packets the pod sends;
 *   to_container:   tc egress, packets delivered into the pod. */
#include "lib/common.h"
#include "lib/maps.h"
#include "lib/drop.h"
#include "lib/l3.h"
#include "lib/conntrack.h"
#include "lib/lb.h"
#include "lib/policy.h"
#include "lib/encap.h"
#include "lib/proxy.h"
#include "lib/constants.h"

/* Policy on a reply: the flow was allowed when it was opened, in direction `dir` of this endpoint
 * (ingress: the peer opened it; egress: the pod did). A revoked policy ends the flow in both
 * directions at once: the opener's packets fail the normal check, its peer's replies fail this
 * one (DROP_POLICY_REVOKED), so a stream from the peer cannot outlive the permission either. */
static __always_inline int policy_check_reply(const struct endpoint_info *ep, __u8 dir, __u32 peer_identity,
					      __be32 peer_addr, struct flow4 *f, int *audited)
{
	__u8 steer;   /* replies are not steered: the proxy's own socket answers the client */
	int pr = policy_check(ep, dir, peer_identity, peer_addr, f, f->sport, audited, &steer);
	if (pr == DROP_POLICY || pr == DROP_POLICY_DENY || pr == DROP_FRAGMENT)
		return DROP_POLICY_REVOKED;
	return pr;
}

/* A REDIRECT (policy_check's *steer) in direction `dir`: the proxy slot that takes it, or 0 with
 * *reason set when none can (its socket is missing: DROP_PROXY_UNAVAILABLE, fail closed; in audit
 * mode the flow passes unproxied, reported as an audit event). */
static __always_inline __u32 proxy_choose(const struct endpoint_info *ep, __u8 dir, __u8 steer, __u8 proto,
					  int *audited, int *reason)
{
	__u32 slot = proxy_slot(dir, steer, proto);
	if (proxy_slot_ready(slot))
		return slot;
	if (ep->flags & EP_F_AUDIT)
		*audited = DROP_PROXY_UNAVAILABLE;
	else
		*reason = DROP_PROXY_UNAVAILABLE;
	return PROXY_SLOT_NONE;
}

/* from_container, a packet to_container re-injected for the ingress proxy (MARK_MAGIC_TO_PROXY):
 * the mark is not trusted alone. The destination must be the endpoint behind this very veth and
 * its ingress policy for this flow, from the source identity in the mark, must still redirect. */
static __always_inline int to_ingress_proxy(struct __sk_buff *skb, struct flow4 *f)
{
	__u32 identity = skb->mark & MARK_IDENTITY_MASK;
	skb->mark = 0;
	f->obs_point = OBS_TO_ENDPOINT;
	struct endpoint_info *dep = lookup_endpoint4(f->daddr);
	if (!dep || dep->ifindex != skb->ifindex)
		return drop(skb, DROP_PROXY_INVALID, METRIC_INGRESS, lxc_endpoint_id(skb->ifindex), f);
	__u16 epid = dep->id;
	f->src_identity = identity;
	f->dst_identity = dep->identity;
	int audited = 0, reason = 0;
	__u8 steer = 0;
	int pr = policy_check(dep, METRIC_INGRESS, identity, f->saddr, f, f->dport, &audited, &steer);
	if (pr)
		return drop(skb, pr, METRIC_INGRESS, epid, f);
	if (!steer)
		return drop(skb, DROP_PROXY_INVALID, METRIC_INGRESS, epid, f);
	__u32 slot = proxy_choose(dep, METRIC_INGRESS, steer, f->proto, &audited, &reason);
	if (!slot)
		return drop(skb, reason ? reason : DROP_PROXY_UNAVAILABLE, METRIC_INGRESS, epid, f);
	int sr = proxy_assign(skb, f, slot, identity);
	if (sr)
		return drop(skb, sr, METRIC_INGRESS, epid, f);
	count(REASON_FORWARDED, METRIC_INGRESS, epid, skb->len);
	trace_forward(skb, METRIC_INGRESS, epid, f, OBS_TO_PROXY);
	return TC_ACT_OK;
}

SEC("tc")
int from_container(struct __sk_buff *skb)
{
	struct flow4 f = { .obs_point = OBS_FROM_ENDPOINT };
	int r = parse4(skb, &f);
	if (r == PARSE_ARP)
		return TC_ACT_OK;
	if (r == PARSE_NOT_IP4)
		return drop(skb, DROP_UNSUPPORTED_L3, METRIC_EGRESS, lxc_endpoint_id(skb->ifindex), NULL);
	if (r != PARSE_OK)
		return drop(skb, DROP_INVALID_PACKET, METRIC_EGRESS, lxc_endpoint_id(skb->ifindex), &f);
	/* A pod cannot send a mark (the kernel clears it when the packet leaves the pod's namespace):
	 * this is to_container's re-injection for the ingress proxy. */
	if ((skb->mark & MARK_ID_MAGIC_MASK) == MARK_MAGIC_TO_PROXY)
		return to_ingress_proxy(skb, &f);

	/* Anti-spoofing: the source must be the address the agent gave the pod behind this very veth. */
	struct endpoint_info *ep = lookup_endpoint4(f.saddr);
	if (!ep || ep->ifindex != skb->ifindex)
		return drop(skb, DROP_INVALID_SOURCE, METRIC_EGRESS, lxc_endpoint_id(skb->ifindex), &f);
	f.src_identity = ep->identity;
	__u16 epid = ep->id;
	/* The DSR option is the nodes' own (lib/dsr.h): a pod may not forge one. */
	if (dsr4_has_option(skb, &f))
		return drop(skb, DROP_DSR_INVALID, METRIC_EGRESS, epid, &f);

	struct node_config *cfg = node_config();
	if (!cfg)
		return drop(skb, DROP_NO_CONFIG, METRIC_EGRESS, epid, &f);

	/* Services: a new flow to a frontend gets a backend; f then holds the backend address. */
	struct lb_result lb = {};
	struct lb_config *lc = lb_config();
	if (lc) {
		int lr = lb4_xlate_pod(skb, &f, lc, &lb);
		if (lr == LB_NO_BACKEND)
			return lb4_no_backend(skb, &lb, METRIC_EGRESS, epid, &f, 1, 0);
		if (lr < 0)
			return drop(skb, -lr, METRIC_EGRESS, epid, &f);
		if (lr == LB_XLATED)
			trace_translated(skb, METRIC_EGRESS, epid, &f, lb.new_flow);
	}

	/* Connection tracking of every flow from the pod, after service translation. */
	struct ct_state ct = {};
	int ctr = ct_lookup4(skb, &f, CT_EGRESS, &ct);
	/* A pod reaching itself through its own Service (hairpin) is its own loopback traffic: no
	 * policy applies to it in either direction, as the Kubernetes e2e reachability tables expect. */
	int self_hairpin = lb.hairpin || ((ctr == CT_ESTABLISHED || ctr == CT_REPLY) && (ct.flags & CT_F_HAIRPIN));
	int audited = 0;
	__u32 slot = PROXY_SLOT_NONE;
	if ((ctr == CT_NEW || ctr == CT_ESTABLISHED) && !self_hairpin) {
		/* Egress policy, after service translation (the peer is the backend), on every packet of a
		 * flow the pod opened: a policy change takes effect at once. */
		struct ipcache_value *peer = ipcache_lookup4(f.daddr);
		f.dst_identity = peer ? peer->identity : IDENTITY_WORLD;
		__u8 steer = 0;
		int pr = policy_check(ep, METRIC_EGRESS, f.dst_identity, f.daddr, &f, f.dport, &audited, &steer);
		if (!pr && steer) {
			/* An L7 rule: every packet of the flow goes to the egress proxy (lib/proxy.h). */
			slot = proxy_choose(ep, METRIC_EGRESS, steer, f.proto, &audited, &pr);
			if (slot)
				pr = proxy_assign(skb, &f, slot, f.src_identity);
		}
		if (pr)
			return drop(skb, pr, METRIC_EGRESS, epid, &f);
	} else if (ctr == CT_REPLY && !self_hairpin) {
		/* The pod answering a flow opened towards it: its ingress policy must still allow that flow,
		 * from the opener as it is known now. */
		struct ipcache_value *peer = ipcache_lookup4(f.daddr);
		f.dst_identity = peer ? peer->identity : IDENTITY_WORLD;
		/* A node opened it on behalf of another identity (an L7 proxy's upstream: its mark or
		 * VXLAN key named the client, lib/proxy.h): the opener is that client, not the node. */
		if ((f.dst_identity == IDENTITY_HOST || f.dst_identity == IDENTITY_REMOTE_NODE) && ct.src_identity)
			f.dst_identity = ct.src_identity;
		int pr = policy_check_reply(ep, METRIC_INGRESS, f.dst_identity, f.daddr, &f, &audited);
		if (pr)
			return drop(skb, pr, METRIC_EGRESS, epid, &f);
	}
	if (audited)
		notify(skb, EVENT_AUDIT, REASON_AUDIT, METRIC_EGRESS, epid, &f);
	if (ctr == CT_NEW) {
		struct ct_state nct = { .rev_nat_id = lb.rev_nat_id, .backend_id = lb.backend_id,
					.flags = lb.hairpin ? CT_F_HAIRPIN : 0 };
		int cr = ct_create4(skb, &f, CT_EGRESS, &nct);
		if (cr)
			return drop(skb, cr, METRIC_EGRESS, epid, &f);
	}
	/* The egress verdict: under aggregation, reported for new flows only. */
	trace_forward(skb, METRIC_EGRESS, epid, &f, OBS_FROM_ENDPOINT);
	if (slot) {
		/* assigned to the proxy's socket: the node's policy routing delivers it locally */
		count(REASON_FORWARDED, METRIC_EGRESS, epid, skb->len);
		trace_forward(skb, METRIC_EGRESS, epid, &f, OBS_TO_PROXY);
		return TC_ACT_OK;
	}
	if (ctr == CT_REPLY && (ct.flags & CT_F_DSR)) {
		/* The pod answering a client another node sent by DSR: straight to it, from the frontend. */
		if (dsr4_rev_nat(skb, &f, &ct) < 0)
			return drop(skb, DROP_INVALID_PACKET, METRIC_EGRESS, epid, &f);
		return lb4_forward(skb, &f, cfg, f.src_identity, METRIC_EGRESS, epid);
	}
	if (ctr == CT_REPLY && (ct.flags & CT_F_NODEPORT)) {
		/* A local backend answering an external client of a frontend: source back to the frontend. */
		if (lb4_rev_nat(skb, &f, ct.rev_nat_id, ct.flags) < 0)
			return drop(skb, DROP_INVALID_PACKET, METRIC_EGRESS, epid, &f);
		return lb4_forward(skb, &f, cfg, f.src_identity, METRIC_EGRESS, epid);
	}

	/* A pod answering itself through its own Service (hairpin): back into the pod, where
	 * to_container translates it. */
	if (lc && f.daddr == lc->loopback) {
		count(REASON_FORWARDED, METRIC_EGRESS, epid, skb->len);
		return deliver_local(skb, ep, METRIC_EGRESS, epid, &f);
	}

	struct endpoint_info *dep = lookup_endpoint4(f.daddr);
	if (dep) {
		f.dst_identity = dep->identity;
		if (lb.hairpin)
			skb->mark = MARK_MAGIC_HAIRPIN;
		count(REASON_FORWARDED, METRIC_EGRESS, epid, skb->len);
		return deliver_local(skb, dep, METRIC_EGRESS, epid, &f);
	}

	struct ipcache_value *dst = ipcache_lookup4(f.daddr);
	if (dst && dst->tunnel_ep && (cfg->flags & CONFIG_F_TUNNEL))
		return encap_redirect(skb, cfg, dst->tunnel_ep, f.src_identity, METRIC_EGRESS, epid, &f);
	/* Masquerade: outside the cluster (no ipcache entry), the flow leaves with the node's address. */
	if (!dst && lc && (lc->flags & LB_CFG_MASQUERADE) && ctr != CT_REPLY) {
		int nr = nat4_snat(skb, &f, cfg->node_ip, lc->snat_min, lc->snat_max, 0);
		if (nr > 1)
			return drop(skb, nr, METRIC_EGRESS, epid, &f);
		if (nr == 1) {
			count(REASON_FORWARDED, METRIC_EGRESS, epid, skb->len);
			trace_forward(skb, METRIC_EGRESS, epid, &f, OBS_TO_NETWORK);
			return bpf_redirect_neigh(cfg->uplink_ifindex, NULL, 0, 0);
		}
	}
	/* Native routing, the node itself, or outside: the node's routing table decides. */
	count(REASON_FORWARDED, METRIC_EGRESS, epid, skb->len);
	trace_forward(skb, METRIC_EGRESS, epid, &f, OBS_TO_STACK);
	return TC_ACT_OK;
}

SEC("tc")
int to_container(struct __sk_buff *skb)
{
	struct flow4 f = { .obs_point = OBS_TO_ENDPOINT };
	int r = parse4(skb, &f);
	if (r == PARSE_ARP)
		return TC_ACT_OK;
	if (r == PARSE_NOT_IP4)
		return drop(skb, DROP_UNSUPPORTED_L3, METRIC_INGRESS, lxc_endpoint_id(skb->ifindex), NULL);
	if (r != PARSE_OK)
		return drop(skb, DROP_INVALID_PACKET, METRIC_INGRESS, lxc_endpoint_id(skb->ifindex), &f);
	/* A pod's answer to itself through its own Service is addressed to the service loopback. */
	struct lb_config *lc = lb_config();
	int to_loopback = lc && f.daddr == lc->loopback;
	struct endpoint_info *ep = lookup_endpoint4(to_loopback ? f.saddr : f.daddr);
	if (!ep || ep->ifindex != skb->ifindex)
		return drop(skb, DROP_UNKNOWN_ENDPOINT, METRIC_INGRESS, lxc_endpoint_id(skb->ifindex), &f);
	f.dst_identity = ep->identity;

	/* The request of a pod's hairpin flow to itself (source: the service loopback, marked so by
	 * this node's from_container) is not subject to policy. */
	int hairpin_mark = 0;
	/* the ingress proxy's own upstream connection: its L7 check is done */
	int from_ingress_proxy = (skb->mark & MARK_ID_MAGIC_MASK) == MARK_PROXY_INGRESS;
	f.src_identity = ingress_identity(skb, ep, f.saddr, &hairpin_mark);
	int self_hairpin = hairpin_mark && lc && f.saddr == lc->loopback;
	/* Connection tracking of every flow into the pod. */
	struct ct_state ct = {};
	int ctr = ct_lookup4(skb, &f, CT_INGRESS, &ct);
	int audited = 0;
	__u32 slot = PROXY_SLOT_NONE;
	if ((ctr == CT_NEW || ctr == CT_ESTABLISHED) && !self_hairpin) {
		/* Ingress policy on every packet of a flow opened towards the pod. */
		__u8 steer = 0;
		int pr = policy_check(ep, METRIC_INGRESS, f.src_identity, f.saddr, &f, f.dport, &audited, &steer);
		if (!pr && steer && !from_ingress_proxy)
			slot = proxy_choose(ep, METRIC_INGRESS, steer, f.proto, &audited, &pr);
		if (pr)
			return drop(skb, pr, METRIC_INGRESS, ep->id, &f);
	} else if (ctr == CT_REPLY && !(ct.flags & CT_F_HAIRPIN)) {
		/* A reply to a flow the pod opened: its egress policy must still allow that flow. */
		int pr = policy_check_reply(ep, METRIC_EGRESS, f.src_identity, f.saddr, &f, &audited);
		if (pr)
			return drop(skb, pr, METRIC_INGRESS, ep->id, &f);
	}
	if (audited)
		notify(skb, EVENT_AUDIT, REASON_AUDIT, METRIC_INGRESS, ep->id, &f);
	if (ctr == CT_NEW) {
		struct ct_state nct = { .rev_nat_id = lb4_mark_rev_nat(skb) };
		if (nct.rev_nat_id)
			nct.flags = CT_F_NODEPORT;
		if (self_hairpin)
			nct.flags |= CT_F_HAIRPIN;
		int cr = ct_create4(skb, &f, CT_INGRESS, &nct);
		if (cr)
			return drop(skb, cr, METRIC_INGRESS, ep->id, &f);
	} else if (ctr == CT_REPLY && ct.rev_nat_id && !(ct.flags & CT_F_NODEPORT)) {
		/* The reply of a backend to this pod's service flow: source back to the frontend. */
		if (lb4_rev_nat(skb, &f, ct.rev_nat_id, ct.flags) < 0)
			return drop(skb, DROP_INVALID_PACKET, METRIC_INGRESS, ep->id, &f);
	} else if (ctr == CT_RELATED && lb4_icmp_err_rev_nat(skb, &f, &ct) < 0) {
		/* An ICMP error about this pod's service flow now names the frontend (lib/icmp_nat.h). */
		return drop(skb, DROP_INVALID_PACKET, METRIC_INGRESS, ep->id, &f);
	}
	if (slot) {
		/* for the ingress proxy: back into this veth's ingress, where from_container assigns it
		 * (to_ingress_proxy); counted there */
		if (f.fragment || f.more_frags)
			return drop(skb, DROP_PROXY_INVALID, METRIC_INGRESS, ep->id, &f);
		return proxy_reinject(skb, f.src_identity);
	}
	count(REASON_FORWARDED, METRIC_INGRESS, ep->id, skb->len);
	trace_forward(skb, METRIC_INGRESS, ep->id, &f, OBS_TO_ENDPOINT);
	return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
