/* VXLAN encapsulation (tunnel mode): the tunnel key on the way out, and what a decapsulated
 * packet may claim on the way in.
 *
 * Out: the VNI carries the source's security identity to the receiving node.
 * In:  the tunnel port is open to anyone who can reach the node (pods, the world), and the VNI
 *      is just a number in a UDP payload. So the VNI is trusted only from a known remote node
 *      (the outer source is in the ipcache as remote-node), and the inner source must be
 *      something that node can send: its own address, its pods, or the world; never this
 *      node's own address or pods, another node's pods, or the service loopback. */
#ifndef SLUICE_ENCAP_H
#define SLUICE_ENCAP_H

#include "common.h"
#include "maps.h"
#include "drop.h"

#define TUNNEL_TTL 64

/* Sets the tunnel key for `remote` (network order) with `identity` as VNI; -1 on failure. */
static __always_inline int encap_set_key(struct __sk_buff *skb, __be32 remote, __u32 identity)
{
	struct bpf_tunnel_key key = {};
	key.remote_ipv4 = bpf_ntohl(remote);
	key.tunnel_id = identity;
	key.tunnel_ttl = TUNNEL_TTL;
	return bpf_skb_set_tunnel_key(skb, &key, sizeof(key), BPF_F_ZERO_CSUM_TX) < 0 ? -1 : 0;
}

/* Sends the packet into the tunnel towards `remote`, marked so to_overlay keeps the key. */
static __always_inline int encap_redirect(struct __sk_buff *skb, const struct node_config *cfg, __be32 remote, __u32 identity,
					  __u8 dir, __u16 ep, const struct flow4 *f)
{
	if (encap_set_key(skb, remote, identity) < 0)
		return drop(skb, DROP_NO_TUNNEL_KEY, dir, ep, f);
	skb->mark = MARK_MAGIC_LXC;
	count(REASON_FORWARDED, dir, ep, skb->len);
	trace_forward(skb, dir, ep, f, OBS_TO_OVERLAY);
	return bpf_redirect(cfg->tunnel_ifindex, 0);
}

/* The source identity of a decapsulated packet, or the negated drop reason. `loopback` is the
 * service loopback address (0 when services are off). */
static __always_inline __s64 encap_source_identity(struct __sk_buff *skb, const struct flow4 *f, __be32 loopback)
{
	struct bpf_tunnel_key key = {};
	if (bpf_skb_get_tunnel_key(skb, &key, sizeof(key), 0) < 0)
		return -DROP_TUNNEL_SOURCE;
	__be32 outer = bpf_htonl(key.remote_ipv4);
	struct ipcache_value *node = ipcache_lookup4(outer);
	if (!node || node->identity != IDENTITY_REMOTE_NODE)
		return -DROP_TUNNEL_SOURCE;
	if (f->saddr == loopback || lookup_endpoint4(f->saddr))
		return -DROP_TUNNEL_SPOOF;
	struct ipcache_value *src = ipcache_lookup4(f->saddr);
	if (src && ((src->flags & IPCACHE_F_LOCAL_NODE) || (src->tunnel_ep && src->tunnel_ep != outer)))
		return -DROP_TUNNEL_SPOOF;
	/* The sending node's own stack: remote-node, as Cilium names it. */
	return key.tunnel_id == IDENTITY_HOST ? IDENTITY_REMOTE_NODE : key.tunnel_id;
}

#endif
