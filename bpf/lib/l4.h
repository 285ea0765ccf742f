/* L4 headers: ports, TCP flags and ICMP identifiers, read with bpf_skb_load_bytes so a header
 * outside the linear data is read, not skipped; a header the IP total length cuts short is
 * malformed. Non-first fragments carry no L4 header: their ports come from the first fragment,
 * remembered in sl_frag4 by (source, destination, IP id, protocol). */
#ifndef SLUICE_L4_H
#define SLUICE_L4_H

#include "common.h"
#include "drop.h"

#ifndef IPPROTO_SCTP
#define IPPROTO_SCTP 132
#endif

enum sl_icmp_type {
	ICMP_ECHOREPLY     = 0,
	ICMP_DEST_UNREACH  = 3,
	ICMP_ECHO          = 8,
	ICMP_TIME_EXCEEDED = 11,
	ICMP_PARAMETERPROB = 12,
};

enum sl_tcp_flag {
	TCP_F_FIN = 0x01,
	TCP_F_SYN = 0x02,
	TCP_F_RST = 0x04,
	TCP_F_ACK = 0x10,
};

#define FRAG4_MAX 8192

struct frag4_key {
	__be32 saddr;
	__be32 daddr;
	__be16 id;
	__u8 proto;
	__u8 pad;
};

struct frag4_ports {
	__be16 sport;
	__be16 dport;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FRAG4_MAX);
	__type(key, struct frag4_key);
	__type(value, struct frag4_ports);
} sl_frag4 SEC(".maps");

static __always_inline int l4_has_ports(__u8 proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP;
}

/* The smallest header that must be present for each protocol: TCP 20, UDP 8, SCTP 12 (common
 * header), ICMP 8. 0: a protocol whose header the data path does not read. */
static __always_inline __u32 l4_min_len(__u8 proto)
{
	switch (proto) {
	case IPPROTO_TCP: return 20;
	case IPPROTO_UDP: return 8;
	case IPPROTO_SCTP: return 12;
	case IPPROTO_ICMP: return 8;
	}
	return 0;
}

/* Fills ports, TCP flags and the ICMP type and code from the L4 header at f->l4_off; `l4_len` is what the
 * IP total length leaves for it. Returns 0, or -1 when the header is cut short. */
static __always_inline int l4_parse(struct __sk_buff *skb, struct flow4 *f, __u32 l4_len)
{
	__u32 need = l4_min_len(f->proto);
	if (!need)
		return 0;
	if (l4_len < need)
		return -1;
	__u8 h[14];
	if (bpf_skb_load_bytes(skb, f->l4_off, h, f->proto == IPPROTO_TCP ? 14 : 8) < 0)
		return -1;
	if (f->proto == IPPROTO_ICMP) {
		f->icmp_type = h[0];
		f->icmp_code = h[1];
		if (h[0] == ICMP_ECHO)
			f->sport = *(__be16 *)&h[4];
		else if (h[0] == ICMP_ECHOREPLY)
			f->dport = *(__be16 *)&h[4];
	} else {
		f->sport = *(__be16 *)&h[0];
		f->dport = *(__be16 *)&h[2];
		if (f->proto == IPPROTO_TCP)
			f->tcp_flags = h[13];
	}
	f->ports_known = 1;
	return 0;
}

/* Fragments: the first one (MF set, offset 0) leaves its ports for the others; a non-first one
 * takes them, when its first fragment has been seen at this hook's node. */
static __always_inline void l4_frag_ports(struct flow4 *f)
{
	struct frag4_key k = { .saddr = f->saddr, .daddr = f->daddr, .id = f->ip_id, .proto = f->proto };
	if (!f->fragment) {
		if (f->more_frags && f->ports_known) {
			struct frag4_ports p = { .sport = f->sport, .dport = f->dport };
			bpf_map_update_elem(&sl_frag4, &k, &p, BPF_ANY);
		}
		return;
	}
	struct frag4_ports *p = bpf_map_lookup_elem(&sl_frag4, &k);
	if (p) {
		f->sport = p->sport;
		f->dport = p->dport;
		f->ports_known = 1;
	}
}

#endif
