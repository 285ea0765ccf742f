/* Shared definitions for every Sluice program: includes, helpers, and the constants the agent
 * shares with the data path. Constants are C enums so they stay in each object's BTF: the agent
 * checks them against its Java counterparts when it loads the objects (DatapathConstants), and
 * refuses a stale build. */
#ifndef SLUICE_COMMON_H
#define SLUICE_COMMON_H

#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
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
enum sl_identity {
	IDENTITY_UNKNOWN     = 0,
	IDENTITY_HOST        = 1,
	IDENTITY_WORLD       = 2,
	IDENTITY_UNMANAGED   = 3,
	IDENTITY_HEALTH      = 4,
	IDENTITY_INIT        = 5,
	IDENTITY_REMOTE_NODE = 6,
};

/* Every skb->mark value Sluice sets, in one table. Marks only live inside one node: the kernel
 * clears them when a packet crosses into another namespace, so nothing outside can forge them.
 *   MARK_MAGIC_LXC:     from_container redirected the packet into the tunnel with its key set;
 *                       to_overlay must not overwrite the key.
 *   MARK_MAGIC_LB:      the uplink or overlay translated the packet to a local backend of the
 *                       frontend in the low 16 bits; to_container records it for the replies.
 *   MARK_MAGIC_HAIRPIN: from_container delivers a pod's own request through its own Service
 *                       back into the pod; to_container exempts it from policy.
 *   MARK_ID_MAGIC:      the source identity (low 24 bits) where it was known (pod, uplink,
 *                       tunnel), for to_container; set only when no other mark is on the packet.
 * L7 proxy steering (lib/proxy.h), each with an identity in the low 24 bits:
 *   MARK_MAGIC_TO_PROXY: a packet steered to a local proxy socket; the node's policy routing
 *                       (ip rule fwmark MARK_MAGIC_TO_PROXY/MARK_ID_MAGIC_MASK -> table
 *                       PROXY_ROUTE_TABLE: local 0.0.0.0/0 dev lo) delivers it locally. Set by
 *                       from_container (egress L7; low bits: the pod's identity) and by
 *                       to_container when it re-injects a packet for the ingress proxy into the
 *                       veth's ingress (low bits: the source identity, which from_container checks
 *                       the endpoint's ingress policy with again).
 *   MARK_PROXY_EGRESS:  SO_MARK of the egress proxy's upstream sockets | the client's identity:
 *                       to_container and to_overlay take the source identity from it; the
 *                       destination's own ingress L7 rules still apply.
 *   MARK_PROXY_INGRESS: SO_MARK of the ingress proxy's upstream sockets | the client's identity:
 *                       the L7 check is done, to_container does not steer it again (L3/L4 deny
 *                       and default deny still drop it).
 * Only processes with CAP_NET_ADMIN in the node's namespace can set SO_MARK. */
enum sl_mark {
	MARK_MAGIC_MASK    = 0xffff0000,
	MARK_MAGIC_LXC     = 0x5c1e0000,
	MARK_MAGIC_LB      = 0x5c1f0000,
	MARK_MAGIC_HAIRPIN = 0x5c200000,
	MARK_ID_MAGIC_MASK = 0xff000000,
	MARK_ID_MAGIC      = 0xa5000000,
	MARK_PROXY_EGRESS  = 0xa6000000,
	MARK_PROXY_INGRESS = 0xa7000000,
	MARK_MAGIC_TO_PROXY = 0xa8000000,
	MARK_IDENTITY_MASK = 0x00ffffff,
};

#endif
