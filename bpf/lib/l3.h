/* Header parsing and L2 rewrite shared by the programs. */
#ifndef SLUICE_L3_H
#define SLUICE_L3_H

#include "common.h"
#include "drop.h"
#include "maps.h"
#include "l4.h"

enum sl_parse {
	PARSE_OK      = 0,
	PARSE_NOT_IP4 = 1,
	PARSE_ARP     = 2,
	PARSE_BAD     = 3,
};

#define IP_MF     0x2000
#define IP_OFFSET 0x1fff

/* Validates the Ethernet and IPv4 headers and fills the flow facts, L4 included (lib/l4.h).
 * PARSE_BAD: a header is truncated or inconsistent (IHL, total length, a cut-short L4 header). */
static __always_inline int parse4(struct __sk_buff *skb, struct flow4 *f)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > end)
		return PARSE_BAD;
	if (eth->h_proto == bpf_htons(ETH_P_ARP))
		return PARSE_ARP;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return PARSE_NOT_IP4;
	struct iphdr ip;
	if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip)) < 0)
		return PARSE_BAD;
	__u32 hlen = ip.ihl * 4;
	__u32 tot = bpf_ntohs(ip.tot_len);
	if (ip.version != 4 || hlen < sizeof(ip) || tot < hlen || skb->len < ETH_HLEN + tot)
		return PARSE_BAD;
	f->saddr = ip.saddr;
	f->daddr = ip.daddr;
	f->proto = ip.protocol;
	f->ip_id = ip.id;
	f->fragment = (ip.frag_off & bpf_htons(IP_OFFSET)) != 0;
	f->more_frags = (ip.frag_off & bpf_htons(IP_MF)) != 0;
	f->l4_off = ETH_HLEN + hlen;
	if (!f->fragment && l4_parse(skb, f, tot - hlen) < 0)
		return PARSE_BAD;
	if (f->fragment || f->more_frags)
		l4_frag_ports(f);
	return PARSE_OK;
}

/* Rewrites the Ethernet addresses for delivery to a local pod. */
static __always_inline int rewrite_l2(struct __sk_buff *skb, const __u8 *dst, const __u8 *src)
{
	if (bpf_skb_store_bytes(skb, 0, dst, ETH_ALEN, 0) < 0)
		return -1;
	if (bpf_skb_store_bytes(skb, ETH_ALEN, src, ETH_ALEN, 0) < 0)
		return -1;
	return 0;
}

/* Delivers to a local endpoint: new MACs, then out of its host-side veth into the pod. A packet
 * larger than the pod's MTU (the underlay's is larger in tunnel mode) goes through the node's stack
 * instead, which fragments it or answers "fragmentation needed" as the sender asked; the mark
 * carries its identity there just the same. */
static __always_inline int deliver_local(struct __sk_buff *skb, const struct endpoint_info *dep, __u8 dir_from,
					 __u16 from_ep, struct flow4 *f)
{
	__u8 mac[ETH_ALEN], node_mac[ETH_ALEN];
	__builtin_memcpy(mac, dep->mac, ETH_ALEN);
	__builtin_memcpy(node_mac, dep->node_mac, ETH_ALEN);
	if (!skb->mark)
		skb->mark = MARK_ID_MAGIC | (f->src_identity & ~MARK_ID_MAGIC_MASK);
	__u32 mtu = 0;
	if (bpf_check_mtu(skb, dep->ifindex, &mtu, 0, 0) == BPF_MTU_CHK_RET_FRAG_NEEDED) {
		bpf_skb_change_type(skb, PACKET_HOST);
		return TC_ACT_OK;
	}
	if (rewrite_l2(skb, mac, node_mac) < 0)
		return drop(skb, DROP_INVALID_PACKET, dir_from, from_ep, f);
	return bpf_redirect(dep->ifindex, 0);
}

#endif
