/* Direct server return (loadBalancer.mode dsr, and hybrid for TCP; native routing only).
 *
 * A NodePort, LoadBalancer or external-IP flow from outside the cluster whose backend is on
 * another node is forwarded by the entry node without source NAT: the backend sees the client's
 * address, and the backend's node answers the client directly, from the frontend, instead of
 * sending the reply back through the entry node. The backend's node learns the frontend from an
 * IPv4 option the entry node inserts right after the fixed IP header (so the header grows from 20
 * to 32 bytes), on a TCP SYN (later segments need no option: the backend's node keeps the frontend
 * in conntrack) and on every UDP datagram:
 *
 *   byte 0     type 0x9e (RFC 4727's experimental option 30, copied flag set)
 *   byte 1     length 12
 *   bytes 2-3  frontend port            (network order)
 *   bytes 4-7  frontend address
 *   bytes 8-11 entry node's address     (the node that chose the backend)
 *
 * The backend's node accepts the option only as the first option of a 32-byte IP header, when it
 * runs DSR itself in native routing, when the entry node is another cluster node and the frame
 * came from that very node's Ethernet address (the packet's IP source is the client's, so the
 * link layer is what says who forwarded it), when the client is outside the cluster, when the
 * frontend exists here too and is reachable from outside (a NodePort frontend: this node's own
 * NodePort with that port, and the option's address must be the entry node's), and when the
 * destination is a local endpoint. Anything else carrying the option is dropped
 * (DROP_DSR_INVALID): a forged option could otherwise make this node answer as any address. Pods
 * may not send the option at all (from_container drops it), so a pod cannot forge one that its
 * own node's MAC would vouch for. The option is removed before the packet reaches the pod. */
#ifndef SLUICE_DSR_H
#define SLUICE_DSR_H

#include "common.h"
#include "maps.h"
#include "drop.h"
#include "l3.h"
#include "conntrack.h"
#include "nat.h"
#include "lb.h"   /* included from lb.h itself, after the frontend maps and before lb4_node_ingress */

#define DSR_OPT_TYPE 0x9e
#define DSR_OPT_LEN  12

struct dsr_opt4 {
	__u8 type;
	__u8 len;
	__be16 port;
	__be32 address;
	__be32 entry;
};

/* An IPv4 header followed by the option: what a DSR packet starts with. */
struct dsr_hdr4 {
	struct iphdr ip;
	struct dsr_opt4 opt;
};

/* Whether the packet's first IP option is the DSR option's type (whatever else it holds). */
static __always_inline int dsr4_has_option(struct __sk_buff *skb, const struct flow4 *f)
{
	__u8 type;
	if (f->l4_off < ETH_HLEN + sizeof(struct iphdr) + 2)
		return 0;
	if (bpf_skb_load_bytes(skb, ETH_HLEN + sizeof(struct iphdr), &type, 1) < 0)
		return 0;
	return type == DSR_OPT_TYPE;
}

static __always_inline __sum16 ip_header_csum(void *hdr, __u32 size)
{
	return csum_fold32(bpf_csum_diff(NULL, 0, hdr, size, 0));
}

static __always_inline int dsr4_add_option(struct __sk_buff *skb, struct flow4 *f, const struct node_config *cfg)
{
	struct dsr_hdr4 h;
	if (bpf_skb_load_bytes(skb, ETH_HLEN, &h.ip, sizeof(h.ip)) < 0)
		return -DROP_INVALID_PACKET;
	if (h.ip.ihl != 5)
		return -DROP_DSR_NO_ROOM;
	__u32 mtu = 0;
	if (bpf_check_mtu(skb, cfg->uplink_ifindex, &mtu, DSR_OPT_LEN, 0) == BPF_MTU_CHK_RET_FRAG_NEEDED)
		return -DROP_DSR_NO_ROOM;
	if (bpf_skb_adjust_room(skb, DSR_OPT_LEN, BPF_ADJ_ROOM_NET, 0) < 0)
		return -DROP_DSR_NO_ROOM;
	h.opt.type = DSR_OPT_TYPE;
	h.opt.len = DSR_OPT_LEN;
	h.opt.port = f->orig_dport;
	h.opt.address = f->orig_daddr;
	h.opt.entry = cfg->node_ip;
	h.ip.ihl = (sizeof(h)) / 4;
	h.ip.tot_len = bpf_htons(bpf_ntohs(h.ip.tot_len) + DSR_OPT_LEN);
	h.ip.check = 0;
	h.ip.check = ip_header_csum(&h, sizeof(h));
	if (bpf_skb_store_bytes(skb, ETH_HLEN, &h, sizeof(h), 0) < 0)
		return -DROP_INVALID_PACKET;
	f->l4_off += DSR_OPT_LEN;
	return 1;
}

/* Entry node: whether this translated packet (f->daddr a backend on another node, f->orig_* the
 * frontend) goes by DSR: the mode says so for its protocol, routing is native, and the client is
 * outside the cluster (a cluster address must come from the node that owns it, which the backend's
 * node checks, so cluster clients keep SNAT). Returns 0 when not (source NAT as before), 1 when it
 * does (forward it as it is now, with the option added to a UDP datagram or a TCP SYN), or -DROP_*:
 * no room for the option (IP options already present, or over the uplink's MTU). */
static __always_inline int dsr4_egress(struct __sk_buff *skb, struct flow4 *f, const struct node_config *cfg,
				       const struct lb_config *lc)
{
	__u32 want = f->proto == IPPROTO_TCP ? LB_CFG_DSR_TCP : f->proto == IPPROTO_UDP ? LB_CFG_DSR_UDP : 0;
	if (!(lc->flags & want) || (cfg->flags & CONFIG_F_TUNNEL) || ipcache_lookup4(f->saddr))
		return 0;
	if (f->proto == IPPROTO_TCP && (f->tcp_flags & (TCP_F_SYN | TCP_F_ACK)) != TCP_F_SYN)
		return 1;
	return dsr4_add_option(skb, f, cfg);
}

/* The sender of the frame is the neighbour this node reaches `addr` through. */
static __always_inline int dsr4_frame_from(struct __sk_buff *skb, __be32 addr, __be32 self)
{
	struct ethhdr eth;
	if (bpf_skb_load_bytes(skb, 0, &eth, sizeof(eth)) < 0)
		return 0;
	struct bpf_fib_lookup p = {};
	p.family = AF_INET4;
	p.ipv4_dst = addr;
	p.ipv4_src = self;
	p.ifindex = skb->ifindex;
	long rc = bpf_fib_lookup(skb, &p, sizeof(p), 0);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS || p.ifindex != skb->ifindex)
		return 0;
	__u8 diff = 0;
	for (int i = 0; i < ETH_ALEN; i++)
		diff |= p.dmac[i] ^ eth.h_source[i];
	return diff == 0;
}

/* Backend node, from the uplink: a packet whose first IP option is the DSR option. Returns -1 when
 * it has none (the caller goes on as before); else the option was checked (see the top of this
 * file), removed, the flow's conntrack entry made with the frontend to answer from (CT_F_DSR), and
 * the packet delivered to the pod, or dropped with DROP_DSR_INVALID. */
static __always_inline int dsr4_ingress(struct __sk_buff *skb, struct flow4 *f, const struct node_config *cfg, __u32 lb_flags)
{
	if (!dsr4_has_option(skb, f))
		return -1;
	struct dsr_hdr4 h;
	if (f->l4_off != ETH_HLEN + sizeof(h) || bpf_skb_load_bytes(skb, ETH_HLEN, &h, sizeof(h)) < 0 || h.opt.len != DSR_OPT_LEN)
		return drop(skb, DROP_DSR_INVALID, METRIC_INGRESS, 0, f);
	if (!(lb_flags & (LB_CFG_DSR_TCP | LB_CFG_DSR_UDP)) || (cfg->flags & CONFIG_F_TUNNEL))
		return drop(skb, DROP_DSR_INVALID, METRIC_INGRESS, 0, f);
	if ((f->proto != IPPROTO_TCP && f->proto != IPPROTO_UDP) || f->fragment || !f->ports_known)
		return drop(skb, DROP_DSR_INVALID, METRIC_INGRESS, 0, f);
	/* the client is outside the cluster; the entry node is another node, and it sent this frame */
	if (ipcache_lookup4(f->saddr))
		return drop(skb, DROP_DSR_INVALID, METRIC_INGRESS, 0, f);
	struct ipcache_value *en = ipcache_lookup4(h.opt.entry);
	if (!en || en->identity != IDENTITY_REMOTE_NODE || (en->flags & IPCACHE_F_LOCAL_NODE) ||
	    !dsr4_frame_from(skb, h.opt.entry, cfg->node_ip))
		return drop(skb, DROP_DSR_INVALID, METRIC_INGRESS, 0, f);
	/* the frontend exists here too, for outside clients */
	struct lb4_key k = { .address = h.opt.address, .dport = h.opt.port, .proto = f->proto };
	struct lb4_service *svc = bpf_map_lookup_elem(&sl_lb4_services, &k);
	if (!svc && h.opt.address == h.opt.entry) {
		k.address = cfg->node_ip;   /* a NodePort: the same port at this node's address */
		svc = bpf_map_lookup_elem(&sl_lb4_services, &k);
		if (svc && svc->type != LB_T_NODE_PORT)
			svc = NULL;
	}
	if (!svc || !(svc->flags & LB_F_EXTERNAL))
		return drop(skb, DROP_DSR_INVALID, METRIC_INGRESS, 0, f);
	struct endpoint_info *dep = lookup_endpoint4(f->daddr);
	if (!dep)
		return drop(skb, DROP_DSR_INVALID, METRIC_INGRESS, 0, f);
	/* the option goes: the pod sees the packet as the client sent it, but for the destination */
	if (bpf_skb_adjust_room(skb, -DSR_OPT_LEN, BPF_ADJ_ROOM_NET, 0) < 0)
		return drop(skb, DROP_INVALID_PACKET, METRIC_INGRESS, dep->id, f);
	h.ip.ihl = 5;
	h.ip.tot_len = bpf_htons(bpf_ntohs(h.ip.tot_len) - DSR_OPT_LEN);
	h.ip.check = 0;
	h.ip.check = ip_header_csum(&h.ip, sizeof(h.ip));
	if (bpf_skb_store_bytes(skb, ETH_HLEN, &h.ip, sizeof(h.ip), 0) < 0)
		return drop(skb, DROP_INVALID_PACKET, METRIC_INGRESS, dep->id, f);
	f->l4_off -= DSR_OPT_LEN;
	struct ct_state st = { .flags = CT_F_DSR, .nat_addr = h.opt.address, .nat_port = h.opt.port };
	int cr = ct_create4(skb, f, CT_INGRESS, &st);
	if (cr)
		return drop(skb, cr, METRIC_INGRESS, dep->id, f);
	f->dst_identity = dep->identity;
	__u32 mtu = icmp4_too_big_for_backend(skb, f, dep->ifindex);
	if (mtu)   /* the frontend's "fragmentation needed", straight to the client */
		return icmp4_answer_too_big(skb, f, mtu, h.opt.address, h.opt.port, dep->id);
	trace_forward(skb, METRIC_INGRESS, dep->id, f, OBS_FROM_NETWORK);
	return deliver_local(skb, dep, METRIC_INGRESS, dep->id, f);
}

/* Backend node, from_container: the pod's reply in a DSR flow leaves from the frontend. 0, or -1. */
static __always_inline int dsr4_rev_nat(struct __sk_buff *skb, struct flow4 *f, const struct ct_state *ct)
{
	if (nat4_rewrite(skb, f, 1, f->saddr, ct->nat_addr, f->sport, ct->nat_port) < 0)
		return -1;
	f->saddr = ct->nat_addr;
	f->sport = ct->nat_port;
	return 0;
}

#endif
