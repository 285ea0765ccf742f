/* Shared definitions for every Sluice program: includes, helpers, constants. */
#ifndef SLUICE_COMMON_H
#define SLUICE_COMMON_H

#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#define AF_INET4 2
#define AF_INET6 10

/* Reserved security identities, numbered as Cilium numbers them. */
#define IDENTITY_UNKNOWN     0
#define IDENTITY_HOST        1
#define IDENTITY_WORLD       2
#define IDENTITY_UNMANAGED   3
#define IDENTITY_HEALTH      4
#define IDENTITY_INIT        5
#define IDENTITY_REMOTE_NODE 6

/* skb->mark layout for packets Sluice has already handled in this node:
 * the upper 16 bits are a magic, the lower 16 unused for now. The overlay egress program
 * uses it to tell our own redirects (tunnel key already set) from host-stack traffic. */
#define MARK_MAGIC_MASK   0xffff0000
#define MARK_MAGIC_LXC    0x5c1e0000

/* skb->mark carrying the source identity (24 bits) from where it was known (pod, uplink, tunnel)
 * to to_container; set only when no other Sluice mark is on the packet. */
#define MARK_ID_MAGIC_MASK 0xff000000
#define MARK_ID_MAGIC      0xa5000000

#endif
