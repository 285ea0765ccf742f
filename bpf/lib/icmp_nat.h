/* ICMP errors about translated flows, translated back: the packet an error quotes left with the
 * addresses after translation (a Service's backend, this node's SNAT address and port), while its
 * sender only knows the ones before (the frontend, its own address and port). Without rewriting
 * the quote, the sender's stack finds no socket for it and ignores the error: a "fragmentation
 * needed" is lost and PMTU discovery through a Service stalls the connection.
 *
 * Only errors (destination unreachable, time exceeded, parameter problem) quoting a first or whole
 * TCP or UDP packet with its ports, and only when the quote is exactly the translated flow's packet
 * as this node sent it (checked by the caller against conntrack, or here against sl_snat), are
 * rewritten: the quoted address and port, the quoted IP header checksum, the quoted L4 checksum
 * when the quote is long enough to carry it (a UDP checksum of 0 stays 0; a quote that ends inside
 * it keeps its one byte, whose new value would depend on the missing one), the ICMP checksum, and
 * the outer header's addresses with its checksum. Anything else (a truncated quote, a quoted ICMP
 * message, a quote of another flow) is left exactly as it is, to the verdicts that existed before. */
#ifndef SLUICE_ICMP_NAT_H
#define SLUICE_ICMP_NAT_H

#include "common.h"
#include "icmp.h"
#include "nat.h"

/* The packet an ICMP error quotes: where its parts are, and the parts translation changes. */
struct icmp4_quote {
	struct iphdr ip;
	__be16 ports[2];   /* source, destination */
	__u16 ip_off;      /* quoted IP header, from the start of the frame */
	__u16 l4_off;      /* quoted TCP/UDP header */
	__u16 csum_off;    /* quoted L4 checksum; 0 when not quoted, or UDP without checksum */
	__sum16 l4_csum;
};

/* Loads the quote of an ICMP error. 0, or -1 when the packet is not an error quoting a first (or
 * only) fragment of TCP or UDP with both ports, within the outer packet's own length. */
static __always_inline int icmp4_quote_load(struct __sk_buff *skb, const struct flow4 *f, struct icmp4_quote *q)
{
	if (f->proto != IPPROTO_ICMP || f->fragment || !icmp_is_error(f->icmp_type))
		return -1;
	__be16 tot;
	if (bpf_skb_load_bytes(skb, ETH_HLEN + __builtin_offsetof(struct iphdr, tot_len), &tot, sizeof(tot)) < 0)
		return -1;
	__u32 end = ETH_HLEN + bpf_ntohs(tot);   /* not the frame's end: Ethernet padding is no quote */
	q->ip_off = f->l4_off + 8;
	if (q->ip_off + sizeof(q->ip) > end || bpf_skb_load_bytes(skb, q->ip_off, &q->ip, sizeof(q->ip)) < 0)
		return -1;
	if (q->ip.version != 4 || q->ip.ihl < 5 || (q->ip.frag_off & bpf_htons(IP_OFFSET)))
		return -1;
	if (q->ip.protocol != IPPROTO_TCP && q->ip.protocol != IPPROTO_UDP)
		return -1;
	q->l4_off = q->ip_off + q->ip.ihl * 4;
	if (q->l4_off + 4 > end || bpf_skb_load_bytes(skb, q->l4_off, q->ports, sizeof(q->ports)) < 0)
		return -1;
	__u32 coff = q->l4_off + (q->ip.protocol == IPPROTO_TCP ? 16 : 6);
	q->csum_off = 0;
	q->l4_csum = 0;
	if (coff + 2 <= end && bpf_skb_load_bytes(skb, coff, &q->l4_csum, sizeof(q->l4_csum)) == 0 &&
	    !(q->ip.protocol == IPPROTO_UDP && q->l4_csum == 0))
		q->csum_off = coff;
	return 0;
}

/* RFC 1624: a checksum after a 4-byte field went from `from` to `to` (and a 2-byte one, `pfrom` to `pto`). */
static __always_inline __sum16 csum_update(__sum16 check, __be32 from, __be32 to, __be16 pfrom, __be16 pto)
{
	__be32 f[2] = { from, pfrom }, t[2] = { to, pto };
	return csum_fold32(bpf_csum_diff(f, sizeof(f), t, sizeof(t), (__u16)~check));
}

/* Rewrites one 16- or 32-bit field of the ICMP message body (all the quote's fields sit at even
 * offsets from the ICMP header, so their 16-bit words line up with the ICMP checksum's). */
static __always_inline int icmp4_body_store(struct __sk_buff *skb, const struct flow4 *f, __u32 off, __be32 from, __be32 to,
					    __u32 size)
{
	if (from == to)
		return 0;
	if (bpf_l4_csum_replace(skb, f->l4_off + 2, from, to, size) < 0)
		return -1;
	if (size == 2) {
		__u16 v = (__u16)to;
		return bpf_skb_store_bytes(skb, off, &v, 2, 0) < 0 ? -1 : 0;
	}
	return bpf_skb_store_bytes(skb, off, &to, 4, 0) < 0 ? -1 : 0;
}

/* Makes the quote's source (src = 1) or destination address and port `ip`:`port`, keeping the
 * quoted IP header checksum, the quoted L4 checksum (pseudo header and port) and the ICMP checksum
 * valid. q is updated. 0, or -1. */
static __always_inline int icmp4_quote_rewrite(struct __sk_buff *skb, const struct flow4 *f, struct icmp4_quote *q, int src,
					       __be32 ip, __be16 port)
{
	__be32 old_ip = src ? q->ip.saddr : q->ip.daddr;
	__be16 old_port = q->ports[src ? 0 : 1];
	__sum16 check = csum_update(q->ip.check, old_ip, ip, 0, 0);
	__u32 addr_off = q->ip_off + (src ? __builtin_offsetof(struct iphdr, saddr) : __builtin_offsetof(struct iphdr, daddr));
	if (icmp4_body_store(skb, f, addr_off, old_ip, ip, 4) < 0)
		return -1;
	if (icmp4_body_store(skb, f, q->ip_off + __builtin_offsetof(struct iphdr, check), q->ip.check, check, 2) < 0)
		return -1;
	if (icmp4_body_store(skb, f, q->l4_off + (src ? 0 : 2), old_port, port, 2) < 0)
		return -1;
	if (q->csum_off) {
		__sum16 l4 = csum_update(q->l4_csum, old_ip, ip, old_port, port);
		if (q->ip.protocol == IPPROTO_UDP && l4 == 0)
			l4 = 0xffff;   /* 0 would mean "no checksum" */
		if (icmp4_body_store(skb, f, q->csum_off, q->l4_csum, l4, 2) < 0)
			return -1;
		q->l4_csum = l4;
	}
	q->ip.check = check;
	if (src) {
		q->ip.saddr = ip;
		q->ports[0] = port;
	} else {
		q->ip.daddr = ip;
		q->ports[1] = port;
	}
	return 0;
}

/* An ICMP error to this node (f->daddr, the SNAT address) about a packet it source-NATed: a
 * NodePort client's packet on its way to a backend on another node, or a masqueraded pod's. The
 * quote's source must be this node and its tuple must be a live sl_snat flow (NAT_IN of its
 * reverse); then the quote's source and the error's destination become the original sender, and
 * *rev_nat_id says which frontend, if any, the quote's destination is to become (the caller's
 * half: lb4_icmp_err_to_frontend). The flow's lifetime is not refreshed: an error keeps nothing
 * alive. Returns 1 when translated (f->daddr updated), 0 when not such an error, -1 on failure. */
static __always_inline int nat4_icmp_err_rev_snat(struct __sk_buff *skb, struct flow4 *f, struct icmp4_quote *q,
						  __u32 *rev_nat_id)
{
	if (icmp4_quote_load(skb, f, q) < 0 || q->ip.saddr != f->daddr)
		return 0;
	struct ct4_key in = {
		.saddr = q->ip.daddr, .daddr = q->ip.saddr, .sport = q->ports[1], .dport = q->ports[0],
		.proto = q->ip.protocol, .dir = NAT_IN,
	};
	struct nat4_entry *e = bpf_map_lookup_elem(&sl_snat, &in);
	if (!e || e->lifetime <= bpf_ktime_get_ns())
		return 0;
	__be32 to = e->to_addr;
	__be16 to_port = e->to_port;
	*rev_nat_id = e->rev_nat_id;
	if (icmp4_quote_rewrite(skb, f, q, 1, to, to_port) < 0)
		return -1;
	if (nat4_rewrite(skb, f, 0, f->daddr, to, 0, 0) < 0)
		return -1;
	f->daddr = to;
	return 1;
}

#ifndef ICMP_FRAG_NEEDED
#define ICMP_FRAG_NEEDED 4
#endif

/* "Fragmentation needed" with the next-hop MTU, quoting the IP header and 8 bytes (RFC 1191). */
struct icmp4_frag_needed {
	__u8 type;
	__u8 code;
	__sum16 check;
	__be16 unused;
	__be16 mtu;
	__u8 orig[28];
};

/* A packet translated to a local backend (its destination is now the backend; the client sent it
 * to `vip`:`vport`) that does not fit the backend's veth and may not be fragmented. The node's
 * stack would answer it, but quoting the backend, which the client does not know: so the data path
 * answers instead. The packet becomes the "fragmentation needed" (next-hop MTU `mtu`) from the
 * frontend to the client, quoting the client's packet as the client sent it (destination and port
 * restored, the quoted IP checksum and a quoted UDP checksum with them), Ethernet addresses
 * swapped for the way back. 0 done (send it back out of skb->ifindex), -1 not done (no DF, IP
 * options, not TCP/UDP: the caller delivers as before). */
static __always_inline int icmp4_frag_needed_xlated(struct __sk_buff *skb, const struct flow4 *f, __be32 vip, __be16 vport,
						    __u32 mtu)
{
	struct ethhdr eth;
	struct icmp4_frag_needed icmp = { .type = ICMP_DEST_UNREACH, .code = ICMP_FRAG_NEEDED, .mtu = bpf_htons((__u16)mtu) };
	if ((f->proto != IPPROTO_TCP && f->proto != IPPROTO_UDP) || f->fragment || mtu < 68 || mtu > 0xffff)
		return -1;
	if (bpf_skb_load_bytes(skb, 0, &eth, sizeof(eth)) < 0 || bpf_skb_load_bytes(skb, ETH_HLEN, icmp.orig, sizeof(icmp.orig)) < 0)
		return -1;
	struct iphdr *o = (struct iphdr *)icmp.orig;
	if (o->ihl != 5 || !(o->frag_off & bpf_htons(0x4000)))   /* IP_DF: else the stack fragments it */
		return -1;
	__be16 *ports = (__be16 *)(icmp.orig + sizeof(struct iphdr));
	__be32 backend = o->daddr;
	__be16 bport = ports[1];
	o->check = csum_update(o->check, backend, vip, 0, 0);
	o->daddr = vip;
	ports[1] = vport;
	if (f->proto == IPPROTO_UDP && ports[3]) {
		__sum16 c = csum_update(ports[3], backend, vip, bport, vport);
		ports[3] = c ? c : 0xffff;
	}
	struct iphdr ip = {
		.version = 4, .ihl = 5, .ttl = 64, .protocol = IPPROTO_ICMP,
		.tot_len = bpf_htons(sizeof(struct iphdr) + sizeof(icmp)), .saddr = vip, .daddr = o->saddr,
	};
	ip.check = csum_fold32(bpf_csum_diff(NULL, 0, (__be32 *)&ip, sizeof(ip), 0));
	icmp.check = csum_fold32(bpf_csum_diff(NULL, 0, (__be32 *)&icmp, sizeof(icmp), 0));
	__u8 mac[ETH_ALEN];
	__builtin_memcpy(mac, eth.h_dest, ETH_ALEN);
	__builtin_memcpy(eth.h_dest, eth.h_source, ETH_ALEN);
	__builtin_memcpy(eth.h_source, mac, ETH_ALEN);
	if (bpf_skb_change_tail(skb, ETH_HLEN + sizeof(ip) + sizeof(icmp), 0) < 0)
		return -1;
	if (bpf_skb_store_bytes(skb, 0, &eth, sizeof(eth), 0) < 0 || bpf_skb_store_bytes(skb, ETH_HLEN, &ip, sizeof(ip), 0) < 0 ||
	    bpf_skb_store_bytes(skb, ETH_HLEN + sizeof(ip), &icmp, sizeof(icmp), 0) < 0)
		return -1;
	return 0;
}

/* Before delivering a translated packet to the local backend behind `ifindex`: that interface's
 * MTU when the packet exceeds it and may not be fragmented (DF set, a whole TCP/UDP packet with a
 * 20-byte header: what icmp4_frag_needed_xlated answers), else 0 (deliver as before; without DF
 * the stack fragments it). */
static __always_inline __u32 icmp4_too_big_for_backend(struct __sk_buff *skb, const struct flow4 *f, __u32 ifindex)
{
	__u32 mtu = 0;
	struct iphdr ip;
	if ((f->proto != IPPROTO_TCP && f->proto != IPPROTO_UDP) || f->fragment)
		return 0;
	if (bpf_check_mtu(skb, ifindex, &mtu, 0, 0) != BPF_MTU_CHK_RET_FRAG_NEEDED)
		return 0;
	if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip)) < 0 || ip.ihl != 5 || !(ip.frag_off & bpf_htons(0x4000)))
		return 0;
	return mtu >= 68 && mtu <= 0xffff ? mtu : 0;
}

/* Reports the packet as DROP_FRAG_NEEDED (counted, an event), then turns it into the frontend's
 * "fragmentation needed" back out of the interface it came in on. */
static __always_inline int icmp4_answer_too_big(struct __sk_buff *skb, const struct flow4 *f, __u32 mtu, __be32 vip, __be16 vport,
						__u16 ep)
{
	drop(skb, DROP_FRAG_NEEDED, METRIC_INGRESS, ep, f);
	if (icmp4_frag_needed_xlated(skb, f, vip, vport, mtu) < 0)
		return TC_ACT_SHOT;
	return bpf_redirect(skb->ifindex, 0);
}

#endif
