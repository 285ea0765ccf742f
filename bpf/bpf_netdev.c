/* Program on the node's uplink (eth0), tc ingress: packets from other nodes (native routing) or
 * from outside. What the wire may claim as its source is checked first; then service frontends
 * and replies of source-NATed flows; packets for a local pod go straight to its veth; everything
 * else to the node's stack. */
#include "lib/common.h"
#include "lib/maps.h"
#include "lib/drop.h"
#include "lib/l3.h"
#include "lib/lb.h"
#include "lib/l2.h"
#include "lib/constants.h"

/* Whether the L2 neighbour that sent the frame is the next hop this node would use towards the
 * packet's source: a strict reverse-path check that also compares the MAC, since a host on the
 * same segment can put any address in its packets. An unknown neighbour fails (the owner's ARP
 * request for this node, sent before its first packet, normally creates the entry). */
static __always_inline int wire_sender_owns(struct __sk_buff *skb, const struct flow4 *f)
{
	struct ethhdr eth;
	if (bpf_skb_load_bytes(skb, 0, &eth, sizeof(eth)) < 0)
		return 0;
	struct bpf_fib_lookup p = {};
	p.family = AF_INET4;
	p.ipv4_dst = f->saddr;
	p.ipv4_src = f->daddr;
	p.l4_protocol = f->proto;
	p.ifindex = skb->ifindex;
	long rc = bpf_fib_lookup(skb, &p, sizeof(p), 0);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_FRAG_NEEDED)
		return 0;
	if (p.ifindex != skb->ifindex)
		return 0;
	__u8 diff = 0;
	for (int i = 0; i < ETH_ALEN; i++)
		diff |= p.dmac[i] ^ eth.h_source[i];
	return diff == 0;
}

/* 0 when an unencapsulated packet from the wire may carry its source address, else the reason;
 * *src is the source's ipcache entry (NULL: the world). Never this node's own address (that would
 * be `host`, always allowed), a local pod's, or the service loopback. A pod or node address
 * elsewhere in the cluster only from the neighbour that owns it; in tunnel mode pods cross nodes
 * only inside the tunnel, so never a pod's. */
static __always_inline int wire_source_check(struct __sk_buff *skb, const struct flow4 *f, const struct node_config *cfg,
					     __be32 loopback, struct ipcache_value **srcp)
{
	if (f->saddr == loopback || lookup_endpoint4(f->saddr))
		return DROP_WIRE_SPOOF;
	struct ipcache_value *src = ipcache_lookup4(f->saddr);
	*srcp = src;
	if (!src)
		return 0;
	if (src->flags & IPCACHE_F_LOCAL_NODE)
		return DROP_WIRE_SPOOF;
	if ((cfg->flags & CONFIG_F_TUNNEL) && src->identity != IDENTITY_REMOTE_NODE)
		return DROP_WIRE_SPOOF;
	return wire_sender_owns(skb, f) ? 0 : DROP_WIRE_SPOOF;
}

SEC("tc")
int from_netdev(struct __sk_buff *skb)
{
	struct flow4 f = { .obs_point = OBS_FROM_NETWORK };
	int parsed = parse4(skb, &f);
	if (parsed == PARSE_ARP)
		return l2_respond_arp(skb);   /* announced addresses answered here, the rest to the stack (lib/l2.h) */
	if (parsed != PARSE_OK)
		return TC_ACT_OK;   /* IPv6 and others belong to the node's own stack, which validates them */
	struct node_config *cfg = node_config();
	if (!cfg)
		return TC_ACT_OK;
	struct lb_config *lc = lb_config();
	struct endpoint_info *dep = lookup_endpoint4(f.daddr);
	struct ipcache_value *src = NULL;
	int bad = wire_source_check(skb, &f, cfg, lc ? lc->loopback : 0, &src);
	if (bad)
		return drop(skb, bad, METRIC_INGRESS, dep ? dep->id : 0, &f);
	f.src_identity = src ? src->identity : IDENTITY_WORLD;
	/* Direct server return from another node (lib/dsr.h): checked, then to the backend. */
	int dr = dsr4_ingress(skb, &f, cfg, lc ? lc->flags : 0);
	if (dr >= 0)
		return dr;
	/* Services from outside (NodePort, ExternalIP, LoadBalancer) and replies to SNATed flows. */
	int lr = lb4_node_ingress(skb, &f, cfg);
	if (lr >= 0)
		return lr;
	if (!dep)
		return TC_ACT_OK;
	/* In tunnel mode nothing reaches a pod unencapsulated but through a frontend. */
	if (cfg->flags & CONFIG_F_TUNNEL)
		return drop(skb, DROP_WIRE_SPOOF, METRIC_INGRESS, dep->id, &f);
	f.dst_identity = dep->identity;
	trace_forward(skb, METRIC_INGRESS, dep->id, &f, OBS_FROM_NETWORK);
	return deliver_local(skb, dep, METRIC_INGRESS, dep->id, &f);
}

char _license[] SEC("license") = "GPL";
