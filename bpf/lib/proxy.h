/* Steering flows to the node's L7 proxies (the agent's HTTP and DNS proxies), without iptables.
 *
 * A policy entry with verdict POLICY_REDIRECT names a proxy (policy_value.l7). The proxy's sockets
 * sit in the node's namespace in sl_proxy_socks, a sockmap the agent fills (key = slot, value =
 * the socket's fd on update; a lookup from user space returns its cookie):
 *   PROXY_SLOT_HTTP_INGRESS 1: the HTTP listener for a pod's ingress rules
 *   PROXY_SLOT_HTTP_EGRESS  2: the HTTP listener for a pod's egress rules
 *   PROXY_SLOT_DNS_UDP      3: the DNS proxy's UDP socket (egress, per datagram)
 *   PROXY_SLOT_DNS_TCP      4: the DNS proxy's TCP listener (egress)
 * The sockets are transparent (IP_TRANSPARENT): an accepted connection's local address is the
 * original destination and its remote address the original source.
 *
 * Egress (from_container, tc ingress of the pod's veth): the packet gets the socket with
 * bpf_sk_assign, the mark MARK_MAGIC_TO_PROXY | the pod's identity, and goes up the node's stack
 * (TC_ACT_OK), where the policy routing for that mark (table PROXY_ROUTE_TABLE: local 0.0.0.0/0
 * dev lo) delivers it locally to the assigned socket.
 * Ingress (to_container, tc egress of the veth, where bpf_sk_assign is not allowed): the packet is
 * re-injected into the same veth's ingress with MARK_MAGIC_TO_PROXY | the source identity;
 * from_container sees the mark first, checks that the destination is the endpoint behind this veth
 * and that its ingress policy for this flow still redirects, then assigns slot 1.
 *
 * Every packet of a steered flow is steered: a TCP segment goes to the proxy's own socket of its
 * connection (bpf_skc_lookup_tcp on its tuple), only a SYN without one goes to the slot's listener,
 * and a segment of no proxy connection is dropped (DROP_PROXY_UNAVAILABLE): the node's stack must
 * never see it, where some other listener of the node could take it. An empty slot fails closed
 * with DROP_PROXY_UNAVAILABLE. IP fragments are never steered (DROP_PROXY_INVALID): reassembly
 * happens after the socket assignment and forgets it, so the datagram would meet the node's own
 * sockets. */
#ifndef SLUICE_PROXY_H
#define SLUICE_PROXY_H

#include "common.h"
#include "maps.h"
#include "drop.h"
#include "policy.h"

enum sl_proxy_slot {
	PROXY_SLOT_NONE         = 0,
	PROXY_SLOT_HTTP_INGRESS = 1,
	PROXY_SLOT_HTTP_EGRESS  = 2,
	PROXY_SLOT_DNS_UDP      = 3,
	PROXY_SLOT_DNS_TCP      = 4,
	PROXY_SLOTS             = 5,   /* sl_proxy_socks size: slot 0 stays empty */
	PROXY_ROUTE_TABLE       = 2005, /* the node's routing table for MARK_MAGIC_TO_PROXY */
};

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, PROXY_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} sl_proxy_socks SEC(".maps");

#define TCP_FLAG_SYN_ 0x02
#define TCP_FLAG_ACK_ 0x10

/* The slot for a REDIRECT of kind `l7` (policy_check's *steer) in direction `dir`, or
 * PROXY_SLOT_NONE when no proxy takes it (HTTP over anything but TCP, DNS on ingress). */
static __always_inline __u32 proxy_slot(__u8 dir, __u8 l7, __u8 proto)
{
	if (l7 == L7_HTTP && proto == IPPROTO_TCP)
		return dir == METRIC_INGRESS ? PROXY_SLOT_HTTP_INGRESS : PROXY_SLOT_HTTP_EGRESS;
	if (l7 == L7_DNS && dir == METRIC_EGRESS) {
		if (proto == IPPROTO_UDP)
			return PROXY_SLOT_DNS_UDP;
		if (proto == IPPROTO_TCP)
			return PROXY_SLOT_DNS_TCP;
	}
	return PROXY_SLOT_NONE;
}

/* 1 when the slot holds a socket. */
static __always_inline int proxy_slot_ready(__u32 slot)
{
	if (slot == PROXY_SLOT_NONE)
		return 0;
	struct bpf_sock *sk = bpf_map_lookup_elem(&sl_proxy_socks, &slot);
	if (!sk)
		return 0;
	bpf_sk_release(sk);
	return 1;
}

/* Assigns the packet to the proxy's socket (tc ingress only) and marks it for the node's policy
 * routing: 0, or the drop reason. */
static __always_inline int proxy_assign(struct __sk_buff *skb, const struct flow4 *f, __u32 slot, __u32 identity)
{
	if (f->fragment || f->more_frags || !f->ports_known)
		return DROP_PROXY_INVALID;
	long r;
	if (f->proto == IPPROTO_TCP) {
		struct bpf_sock_tuple t = {};
		t.ipv4.saddr = f->saddr;
		t.ipv4.daddr = f->daddr;
		t.ipv4.sport = f->sport;
		t.ipv4.dport = f->dport;
		struct bpf_sock *sk = bpf_skc_lookup_tcp(skb, &t, sizeof(t.ipv4), BPF_F_CURRENT_NETNS, 0);
		if (sk) {
			if (sk->state != BPF_TCP_LISTEN) {
				/* the proxy's connection (or its handshake, or its TIME_WAIT) */
				r = bpf_sk_assign(skb, sk, 0);
				bpf_sk_release(sk);
				if (r < 0)
					return DROP_PROXY_UNAVAILABLE;
				goto assigned;
			}
			/* a listener of the node's own on that address: never the target */
			bpf_sk_release(sk);
		}
		if ((f->tcp_flags & (TCP_FLAG_SYN_ | TCP_FLAG_ACK_)) != TCP_FLAG_SYN_)
			return DROP_PROXY_UNAVAILABLE;
	}
	struct bpf_sock *lsk = bpf_map_lookup_elem(&sl_proxy_socks, &slot);
	if (!lsk)
		return DROP_PROXY_UNAVAILABLE;
	r = bpf_sk_assign(skb, lsk, 0);
	bpf_sk_release(lsk);
	if (r < 0)
		return DROP_PROXY_UNAVAILABLE;
assigned:
	skb->mark = MARK_MAGIC_TO_PROXY | (identity & MARK_IDENTITY_MASK);
	/* a re-injected packet still carries the pod's MAC as destination */
	bpf_skb_change_type(skb, PACKET_HOST);
	return 0;
}

/* to_container: hands a packet for the ingress proxy back to this veth's ingress, where
 * from_container assigns it (bpf_sk_assign does not work on tc egress). */
static __always_inline int proxy_reinject(struct __sk_buff *skb, __u32 identity)
{
	skb->mark = MARK_MAGIC_TO_PROXY | (identity & MARK_IDENTITY_MASK);
	return bpf_redirect(skb->ifindex, BPF_F_INGRESS);
}

/* The source identity a proxy's upstream packet carries in its mark, or 0 when it is none. */
static __always_inline __u32 proxy_mark_identity(__u32 mark)
{
	__u32 magic = mark & MARK_ID_MAGIC_MASK;
	if (magic == MARK_PROXY_EGRESS || magic == MARK_PROXY_INGRESS)
		return mark & MARK_IDENTITY_MASK;
	return 0;
}

#endif
