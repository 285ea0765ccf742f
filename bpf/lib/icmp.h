/* ICMP: the packet an error is about (for conntrack's RELATED), and building a port unreachable. */
#ifndef SLUICE_ICMP_H
#define SLUICE_ICMP_H

#include "common.h"
#include "l4.h"

static __always_inline int icmp_is_error(__u8 type)
{
	return type == ICMP_DEST_UNREACH || type == ICMP_TIME_EXCEEDED || type == ICMP_PARAMETERPROB;
}

/* The tuple of the packet an ICMP error quotes, as that packet was sent (ICMP echo: the
 * identifier as source port). The quote must belong to the error's own addresses: an error goes
 * back to the sender of the packet it is about, so the quoted source must be the error's
 * destination; and when the error comes from a pod (`from_pod`), which is an end host and not a
 * router, the quoted destination must be the pod itself. An attacker can thus never make an error
 * "related" to a flow of other endpoints. Returns 0, or -1 when the quote is truncated or does not
 * belong (then the error is only a new ICMP packet, subject to policy). */
static __always_inline int icmp_quoted_tuple(struct __sk_buff *skb, const struct flow4 *f, int from_pod, __be32 *saddr,
					     __be32 *daddr, __be16 *sport, __be16 *dport, __u8 *proto)
{
	struct iphdr inner;
	if (f->fragment || bpf_skb_load_bytes(skb, f->l4_off + 8, &inner, sizeof(inner)) < 0)
		return -1;
	if (inner.version != 4 || inner.ihl < 5)
		return -1;
	if (inner.saddr != f->daddr || (from_pod && inner.daddr != f->saddr))
		return -1;
	__u32 ioff = f->l4_off + 8 + inner.ihl * 4;
	*saddr = inner.saddr;
	*daddr = inner.daddr;
	*proto = inner.protocol;
	*sport = 0;
	*dport = 0;
	if (l4_has_ports(inner.protocol)) {
		__be16 ports[2];
		if (bpf_skb_load_bytes(skb, ioff, ports, sizeof(ports)) < 0)
			return -1;
		*sport = ports[0];
		*dport = ports[1];
	} else if (inner.protocol == IPPROTO_ICMP) {
		__u8 ih[8];
		if (bpf_skb_load_bytes(skb, ioff, ih, sizeof(ih)) < 0)
			return -1;
		if (ih[0] == ICMP_ECHO)
			*sport = *(__be16 *)&ih[4];
		else if (ih[0] == ICMP_ECHOREPLY)
			*dport = *(__be16 *)&ih[4];
	}
	return 0;
}

struct icmp4_unreach {
	__u8 type;
	__u8 code;
	__sum16 check;
	__u32 unused;
	__u8 orig[28];   /* the offending packet's IP header and first 8 bytes of its payload */
};

static __always_inline __u16 csum_fold32(__u32 c)
{
	c = (c & 0xffff) + (c >> 16);
	c = (c & 0xffff) + (c >> 16);
	return (__u16)~c;
}

/* Turns the packet into an ICMP port unreachable to its sender, from the address it was sent to,
 * carrying its header as RFC 792 asks; Ethernet addresses swapped. Only a 20-byte IP header is
 * quoted exactly; others (options) are refused with -1. */
static __always_inline int icmp4_port_unreach(struct __sk_buff *skb)
{
	struct ethhdr eth;
	struct icmp4_unreach icmp = { .type = ICMP_DEST_UNREACH, .code = 3 };
	if (bpf_skb_load_bytes(skb, 0, &eth, sizeof(eth)) < 0)
		return -1;
	if (bpf_skb_load_bytes(skb, ETH_HLEN, icmp.orig, sizeof(icmp.orig)) < 0)
		return -1;
	struct iphdr *o = (struct iphdr *)icmp.orig;
	if (o->ihl != 5)
		return -1;
	struct iphdr ip = {
		.version = 4, .ihl = 5, .ttl = 64, .protocol = IPPROTO_ICMP,
		.tot_len = bpf_htons(sizeof(struct iphdr) + sizeof(icmp)), .saddr = o->daddr, .daddr = o->saddr,
	};
	ip.check = csum_fold32(bpf_csum_diff(NULL, 0, (__be32 *)&ip, sizeof(ip), 0));
	icmp.check = csum_fold32(bpf_csum_diff(NULL, 0, (__be32 *)&icmp, sizeof(icmp), 0));
	__u8 mac[ETH_ALEN];
	__builtin_memcpy(mac, eth.h_dest, ETH_ALEN);
	__builtin_memcpy(eth.h_dest, eth.h_source, ETH_ALEN);
	__builtin_memcpy(eth.h_source, mac, ETH_ALEN);
	if (bpf_skb_change_tail(skb, ETH_HLEN + sizeof(ip) + sizeof(icmp), 0) < 0)
		return -1;
	if (bpf_skb_store_bytes(skb, 0, &eth, sizeof(eth), 0) < 0)
		return -1;
	if (bpf_skb_store_bytes(skb, ETH_HLEN, &ip, sizeof(ip), 0) < 0)
		return -1;
	if (bpf_skb_store_bytes(skb, ETH_HLEN + sizeof(ip), &icmp, sizeof(icmp), 0) < 0)
		return -1;
	return 0;
}

#endif
