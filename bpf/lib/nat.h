/* Address translation: in-place rewrites with checksum updates, and source NAT to the node's
 * address with port allocation (bpf.masquerade, and NodePort traffic to a backend on another node,
 * whose replies must come back through this node).
 *
 * sl_snat holds two entries per translated flow, both keyed like conntrack (struct ct4_key):
 *   NAT_OUT: the packet as the original sender sent it -> the address and port it leaves with;
 *   NAT_IN:  the reply as it arrives at the node       -> the original sender's address and port.
 * Ports come from [snat_min, snat_max] (sl_lb_config), outside the kernel's default ephemeral range
 * and the NodePort range, so they never collide with the node's own sockets or frontends. */
#ifndef SLUICE_NAT_H
#define SLUICE_NAT_H

#include "common.h"
#include "maps.h"
#include "drop.h"
#include "conntrack.h"

#define SNAT_MAX   131072
#define NAT_TRIES  32      /* ports probed for a new flow before giving up (DROP_NAT_NO_PORT) */

enum sl_nat_dir { NAT_OUT = 1, NAT_IN = 2 };

enum sl_nat_flags { NAT_F_CLOSING = 1 };

struct nat4_entry {
	__u64 lifetime;    /* expiry, bpf_ktime_get_ns() clock */
	__be32 to_addr;
	__be16 to_port;
	__u16 flags;       /* NAT_F_* */
	__u32 rev_nat_id;  /* NAT_IN of a NodePort flow: the frontend the reply's source becomes */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SNAT_MAX);
	__type(key, struct ct4_key);
	__type(value, struct nat4_entry);
} sl_snat SEC(".maps");

#define IP_SADDR_OFF (ETH_HLEN + __builtin_offsetof(struct iphdr, saddr))
#define IP_DADDR_OFF (ETH_HLEN + __builtin_offsetof(struct iphdr, daddr))
#define IP_CSUM_OFF  (ETH_HLEN + __builtin_offsetof(struct iphdr, check))

/* Rewrites the source (src = 1) or destination address and port of the packet `f` describes,
 * keeping the IP and L4 checksums valid (incrementally; a UDP checksum of 0, "none", stays 0).
 * The "port" of ICMP echo is its identifier. A non-first fragment has no L4 header: only its
 * addresses change (its first fragment carried the port and the datagram's L4 checksum). */
static __always_inline int nat4_rewrite(struct __sk_buff *skb, const struct flow4 *f, int src, __be32 old_ip, __be32 new_ip,
					__be16 old_port, __be16 new_port)
{
	int csum_off = -1, port_off = -1;
	__u64 mangled = 0, pseudo = BPF_F_PSEUDO_HDR;
	if (!f->fragment) {
		if (f->proto == IPPROTO_TCP) {
			csum_off = f->l4_off + 16;
			port_off = f->l4_off + (src ? 0 : 2);
		} else if (f->proto == IPPROTO_UDP) {
			csum_off = f->l4_off + 6;
			port_off = f->l4_off + (src ? 0 : 2);
			mangled = BPF_F_MARK_MANGLED_0;
		} else if (f->proto == IPPROTO_ICMP) {
			csum_off = f->l4_off + 2;   /* no pseudo header: addresses do not touch it */
			port_off = f->l4_off + 4;
			pseudo = 0;
		}
	}
	if (old_ip != new_ip) {
		if (csum_off >= 0 && pseudo && bpf_l4_csum_replace(skb, csum_off, old_ip, new_ip, pseudo | mangled | 4) < 0)
			return -1;
		if (bpf_l3_csum_replace(skb, IP_CSUM_OFF, old_ip, new_ip, 4) < 0)
			return -1;
		if (bpf_skb_store_bytes(skb, src ? IP_SADDR_OFF : IP_DADDR_OFF, &new_ip, 4, 0) < 0)
			return -1;
	}
	if (old_port != new_port && port_off >= 0) {
		if (bpf_l4_csum_replace(skb, csum_off, old_port, new_port, mangled | 2) < 0)
			return -1;
		if (bpf_skb_store_bytes(skb, port_off, &new_port, 2, 0) < 0)
			return -1;
	}
	return 0;
}

static __always_inline __u32 fmix32(__u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h;
}

/* A well-mixed hash of the 5-tuple (Maglev slot, stateless slot choice, first SNAT port probed). */
static __always_inline __u32 flow4_hash(const struct flow4 *f)
{
	__u32 h = fmix32(f->saddr ^ 0x5c1e5c1e);
	h = fmix32(h ^ f->daddr);
	h = fmix32(h ^ (((__u32)f->sport << 16) | f->dport));
	return fmix32(h ^ f->proto);
}

static __always_inline __u64 nat_timeout(__u8 proto, __u8 tcpflags, __u16 flags)
{
	if (proto != IPPROTO_TCP)
		return CT_TIMEOUT_UDP;
	if (flags & NAT_F_CLOSING)
		return CT_TIMEOUT_CLOSE;
	return (tcpflags & (TCP_F_SYN | TCP_F_ACK)) == TCP_F_SYN ? CT_TIMEOUT_SYN : CT_TIMEOUT_TCP;
}

static __always_inline void nat_touch(struct nat4_entry *e, __u8 proto, __u8 tcpflags, __u64 now)
{
	if (tcpflags & (TCP_F_FIN | TCP_F_RST))
		e->flags |= NAT_F_CLOSING;
	e->lifetime = now + nat_timeout(proto, tcpflags, e->flags) * NSEC_PER_SEC;
}

/* Whether source NAT handles this packet's protocol: TCP, UDP, and ICMP echo (its identifier
 * stands for the port), so no pod address leaves the node by ping either. */
static __always_inline int nat4_handles(const struct flow4 *f, __u8 echo_type)
{
	return f->proto == IPPROTO_TCP || f->proto == IPPROTO_UDP || (f->proto == IPPROTO_ICMP && f->icmp_type == echo_type);
}

/* Source-NATs a packet to `addr` and a port of [min, max]; a flow keeps its port. A non-first
 * fragment takes its first fragment's mapping and never gets a new one.
 * Returns 1 when translated (f updated), 0 for other protocols, or a DROP_* reason. */
static __always_inline int nat4_snat(struct __sk_buff *skb, struct flow4 *f, __be32 addr, __u16 min, __u16 max,
				     __u32 rev_nat_id)
{
	if (f->fragment && !f->ports_known && (l4_has_ports(f->proto) || f->proto == IPPROTO_ICMP))
		return DROP_FRAGMENT;
	if (!nat4_handles(f, ICMP_ECHO))
		return 0;
	__u64 now = bpf_ktime_get_ns();
	__u8 tcpflags = f->tcp_flags;
	struct ct4_key out = {
		.saddr = f->saddr, .daddr = f->daddr, .sport = f->sport, .dport = f->dport, .proto = f->proto, .dir = NAT_OUT,
	};
	__be16 port = 0;
	struct nat4_entry *e = bpf_map_lookup_elem(&sl_snat, &out);
	if (e && e->to_addr == addr && e->lifetime > now) {
		port = e->to_port;
		nat_touch(e, f->proto, tcpflags, now);
		/* keep the reply direction's entry alive too: one-way traffic still gets its replies */
		struct ct4_key in = { .saddr = f->daddr, .daddr = addr, .sport = f->dport, .dport = port, .proto = f->proto, .dir = NAT_IN };
		struct nat4_entry *ie = bpf_map_lookup_elem(&sl_snat, &in);
		if (ie)
			nat_touch(ie, f->proto, tcpflags, now);
	} else {
		if (f->fragment)
			return DROP_FRAGMENT;
		if (!min || max < min)
			return DROP_NAT_NO_PORT;
		__u32 range = (__u32)max - min + 1;
		__u32 h = flow4_hash(f);
		struct ct4_key in = { .saddr = f->daddr, .daddr = addr, .sport = f->dport, .proto = f->proto, .dir = NAT_IN };
		struct nat4_entry ine = { .to_addr = f->saddr, .to_port = f->sport, .rev_nat_id = rev_nat_id };
		ine.lifetime = now + nat_timeout(f->proto, tcpflags, 0) * NSEC_PER_SEC;
		int found = 0;
		for (int i = 0; i < NAT_TRIES; i++) {
			port = bpf_htons((__u16)(min + (h + i) % range));
			in.dport = port;
			if (bpf_map_update_elem(&sl_snat, &in, &ine, BPF_NOEXIST) == 0) {
				found = 1;
				break;
			}
			/* taken: reusable only when that flow has expired and the GC has not removed it yet */
			struct nat4_entry *old = bpf_map_lookup_elem(&sl_snat, &in);
			if (old && old->lifetime <= now && bpf_map_update_elem(&sl_snat, &in, &ine, BPF_EXIST) == 0) {
				found = 1;
				break;
			}
		}
		if (!found)
			return DROP_NAT_NO_PORT;
		struct nat4_entry oute = { .lifetime = ine.lifetime, .to_addr = addr, .to_port = port };
		if (bpf_map_update_elem(&sl_snat, &out, &oute, BPF_ANY) < 0)
			return DROP_NAT_NO_PORT;
	}
	if (nat4_rewrite(skb, f, 1, f->saddr, addr, f->sport, port) < 0)
		return DROP_INVALID_PACKET;
	f->saddr = addr;
	f->sport = port;
	return 1;
}

/* A reply to a source-NATed flow: restores the original sender as the destination. Returns 1 when
 * translated (*rev_nat_id says whether the source must become a frontend), 0 when not ours. */
static __always_inline int nat4_rev_snat(struct __sk_buff *skb, struct flow4 *f, __u32 *rev_nat_id)
{
	if (!nat4_handles(f, ICMP_ECHOREPLY) || (f->fragment && !f->ports_known))
		return 0;
	struct ct4_key in = {
		.saddr = f->saddr, .daddr = f->daddr, .sport = f->sport, .dport = f->dport, .proto = f->proto, .dir = NAT_IN,
	};
	struct nat4_entry *e = bpf_map_lookup_elem(&sl_snat, &in);
	__u64 now = bpf_ktime_get_ns();
	if (!e || e->lifetime <= now)
		return 0;
	__u8 tcpflags = f->tcp_flags;
	nat_touch(e, f->proto, tcpflags, now);
	struct ct4_key out = {
		.saddr = e->to_addr, .daddr = f->saddr, .sport = e->to_port, .dport = f->sport, .proto = f->proto, .dir = NAT_OUT,
	};
	struct nat4_entry *oe = bpf_map_lookup_elem(&sl_snat, &out);
	if (oe)
		nat_touch(oe, f->proto, tcpflags, now);
	__be32 to = e->to_addr;
	__be16 to_port = e->to_port;
	*rev_nat_id = e->rev_nat_id;
	if (nat4_rewrite(skb, f, 0, f->daddr, to, f->dport, to_port) < 0)
		return -1;
	f->daddr = to;
	f->dport = to_port;
	return 1;
}

#endif
