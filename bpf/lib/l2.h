/* L2 announcements: the node that holds a Service's lease answers ARP for its LoadBalancer and
 * external addresses on the chosen interfaces, in the uplink's tc ingress program, so an outside
 * host on the same segment reaches the address without a route (docs/services.md, "L2
 * announcements").
 *
 * Map contract (sl_l2_responder): key (address, ifindex) this node announces; value the MAC to
 * answer with (the interface's own) and the entry's expiry in bpf_ktime_get_ns() time. The agent
 * writes an entry when it acquires the Service's lease and moves the expiry forward on every renewal
 * (renewal time + the lease duration); an agent that dies stops renewing, and the entry stops
 * answering when its lease would have expired, when another node may take the lease. The agent
 * deletes the entry when it loses or gives up the lease.
 *
 * Only a well-formed Ethernet/IPv4 ARP request, addressed to the broadcast address or to this
 * interface, from a unicast sender whose ARP sender address is the frame's source, for an address
 * announced here and not expired, is answered: the request is turned into the reply in place and
 * sent back out of the interface it came in on. Everything else goes to the node's stack untouched
 * (the stack validates ARP itself and owns none of these addresses), counted in sl_l2_stats under
 * its reason. Nothing a packet carries ever writes an entry. */
#ifndef SLUICE_L2_H
#define SLUICE_L2_H

#include "common.h"

#define L2_RESPONDER_MAX 8192

#ifndef ARPOP_REQUEST
#define ARPOP_REQUEST 1
#define ARPOP_REPLY   2
#endif
#define ARPHRD_ETHER_ 1

struct l2_responder_key {
	__be32 ip4;
	__u32 ifindex;
};

struct l2_responder_value {
	__u64 expires;      /* bpf_ktime_get_ns() after which the entry no longer answers */
	__u8 mac[6];        /* the interface's MAC: the reply's sender */
	__u8 pad[2];
	__u64 replies;      /* ARP replies sent for this entry */
};

/* What happened to an ARP frame on the uplink: sl_l2_stats index (per CPU). Only L2_REPLIED sends
 * anything; every other outcome hands the frame to the node's stack as it came. */
enum sl_l2_outcome {
	L2_REPLIED          = 0,
	L2_PASS_TRUNCATED   = 1,   /* shorter than an Ethernet/IPv4 ARP packet */
	L2_PASS_NOT_ETH_IP4 = 2,   /* hardware or protocol type or length other than Ethernet (6) / IPv4 (4) */
	L2_PASS_NOT_REQUEST = 3,   /* a reply, or another operation */
	L2_PASS_NOT_FOR_US  = 4,   /* unicast to another MAC */
	L2_PASS_BAD_SENDER  = 5,   /* sender MAC multicast, zero, this interface's own, or not the frame's source */
	L2_PASS_GRATUITOUS  = 6,   /* sender address = target address: someone announcing or claiming it */
	L2_PASS_NOT_ANNOUNCED = 7, /* the target address is not announced on this interface */
	L2_PASS_EXPIRED     = 8,   /* announced, but the lease was not renewed in time */
	L2_PASS_STORE_FAILED = 9,  /* the reply could not be written into the packet */
	L2_OUTCOME_MAX      = 10,
};

struct arp_eth4 {
	__be16 htype;
	__be16 ptype;
	__u8 hlen;
	__u8 plen;
	__be16 op;
	__u8 sha[6];
	__be32 spa;
	__u8 tha[6];
	__be32 tpa;
} __attribute__((packed));

struct eth_arp4 {
	struct ethhdr eth;
	struct arp_eth4 arp;
} __attribute__((packed));

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, L2_RESPONDER_MAX);
	__type(key, struct l2_responder_key);
	__type(value, struct l2_responder_value);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} sl_l2_responder SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, L2_OUTCOME_MAX);
	__type(key, __u32);
	__type(value, __u64);
} sl_l2_stats SEC(".maps");

static __always_inline int l2_count(__u32 outcome)
{
	__u64 *n = bpf_map_lookup_elem(&sl_l2_stats, &outcome);
	if (n)
		*n += 1;
	return outcome == L2_REPLIED ? TC_ACT_REDIRECT : TC_ACT_OK;
}

static __always_inline int mac_eq(const __u8 *a, const __u8 *b)
{
	__u8 d = 0;
	for (int i = 0; i < ETH_ALEN; i++)
		d |= a[i] ^ b[i];
	return d == 0;
}

static __always_inline int mac_is_zero(const __u8 *a)
{
	__u8 o = 0;
	for (int i = 0; i < ETH_ALEN; i++)
		o |= a[i];
	return o == 0;
}

static __always_inline int mac_is_broadcast(const __u8 *a)
{
	__u8 x = 0xff;
	for (int i = 0; i < ETH_ALEN; i++)
		x &= a[i];
	return x == 0xff;
}

/* An ARP frame on the uplink (Ethernet type 0x0806): answered when this node announces its target
 * (TC_ACT_REDIRECT back out of the same interface), else TC_ACT_OK, untouched. */
static __always_inline int l2_respond_arp(struct __sk_buff *skb)
{
	struct eth_arp4 p;
	if (bpf_skb_load_bytes(skb, 0, &p, sizeof(p)) < 0)
		return l2_count(L2_PASS_TRUNCATED);
	if (p.arp.htype != bpf_htons(ARPHRD_ETHER_) || p.arp.ptype != bpf_htons(ETH_P_IP) || p.arp.hlen != ETH_ALEN || p.arp.plen != 4)
		return l2_count(L2_PASS_NOT_ETH_IP4);
	if (p.arp.op != bpf_htons(ARPOP_REQUEST))
		return l2_count(L2_PASS_NOT_REQUEST);
	struct l2_responder_key k = { .ip4 = p.arp.tpa, .ifindex = skb->ifindex };
	struct l2_responder_value *v = bpf_map_lookup_elem(&sl_l2_responder, &k);
	if (!v)
		return l2_count(L2_PASS_NOT_ANNOUNCED);
	if (!mac_is_broadcast(p.eth.h_dest) && !mac_eq(p.eth.h_dest, v->mac))
		return l2_count(L2_PASS_NOT_FOR_US);
	if ((p.arp.sha[0] & 1) || mac_is_zero(p.arp.sha) || mac_eq(p.arp.sha, v->mac) || !mac_eq(p.arp.sha, p.eth.h_source))
		return l2_count(L2_PASS_BAD_SENDER);
	if (p.arp.spa == p.arp.tpa)
		return l2_count(L2_PASS_GRATUITOUS);
	if (bpf_ktime_get_ns() >= v->expires)
		return l2_count(L2_PASS_EXPIRED);

	/* The reply, to the asker only: op 2, we are the sender, the asker the target. An RFC 5227
	 * probe (sender address 0.0.0.0) gets target address 0.0.0.0, as Linux answers it. */
	struct eth_arp4 r = p;
	__builtin_memcpy(r.eth.h_dest, p.arp.sha, ETH_ALEN);
	__builtin_memcpy(r.eth.h_source, v->mac, ETH_ALEN);
	r.arp.op = bpf_htons(ARPOP_REPLY);
	__builtin_memcpy(r.arp.sha, v->mac, ETH_ALEN);
	r.arp.spa = p.arp.tpa;
	__builtin_memcpy(r.arp.tha, p.arp.sha, ETH_ALEN);
	r.arp.tpa = p.arp.spa;
	if (bpf_skb_store_bytes(skb, 0, &r, sizeof(r), 0) < 0)
		return l2_count(L2_PASS_STORE_FAILED);
	__sync_fetch_and_add(&v->replies, 1);
	l2_count(L2_REPLIED);
	return bpf_redirect(skb->ifindex, 0);
}

#endif
