/* Every map Sluice pins per node. The structs here are the source of truth for the Java records in
 * dev.sluice.datapath.maps; DatapathLayoutTest checks those against this object's BTF. */
#ifndef SLUICE_MAPS_H
#define SLUICE_MAPS_H

#include "common.h"

#define ENDPOINTS_MAX 65535
#define IPCACHE_MAX   512000
#define METRICS_MAX   65536
#define EVENTS_BYTES  (1 << 20)

/* A local pod, by address. family is AF_INET4 (2) or AF_INET6 (10); IPv4 uses the first 4 bytes. */
struct endpoint_key {
	union {
		__be32 ip4;
		__u8 ip6[16];
	};
	__u8 family;
	__u8 pad[3];
};

struct endpoint_info {
	__u32 ifindex;      /* host-side veth */
	__u32 identity;     /* security identity of the pod */
	__u16 id;           /* endpoint id, for metrics and events */
	__u16 flags;
	__u8 mac[6];        /* the pod's eth0 */
	__u8 node_mac[6];   /* the host-side veth: source MAC of frames we deliver */
};

/* A local pod, by the ifindex of its host-side veth: attributes drops to the endpoint even when
 * the packet's own addresses are forged. */
struct lxc_info {
	__u32 id;           /* endpoint id */
	__u32 identity;
};

/* Longest-prefix match from address to identity and tunnel endpoint.
 * prefixlen counts the bits after itself: 32 for family+pad, then the address prefix. */
struct ipcache_key {
	__u32 prefixlen;
	__u8 family;
	__u8 pad[3];
	union {
		__be32 ip4;
		__u8 ip6[16];
	};
};

enum sl_ipcache_flags {
	IPCACHE_F_LOCAL_NODE = 1,  /* this node's own address */
	IPCACHE_F_POD_CIDR   = 2,  /* a node's whole pod CIDR (fallback before the pod is known) */
};

struct ipcache_value {
	__u32 identity;
	__be32 tunnel_ep;   /* the node this address lives behind (tunnel mode: the one to tunnel to);
			     * 0 = this node, or not behind a node (world) */
	__u8 flags;
	__u8 pad[3];
};

/* node_config.flags. Bits 8-9 hold bpf.monitorAggregation (enum sl_monitor_aggregation in
 * lib/drop.h), bits 16-31 bpf.monitorAggregationInterval in seconds: flags, not new fields, so a
 * node's pinned sl_config stays compatible. */
enum sl_config_flags {
	CONFIG_F_TUNNEL      = 1,
	CONFIG_MONITOR_SHIFT = 8,
	CONFIG_MONITOR_MASK  = 0x300,
	CONFIG_MONITOR_INTERVAL_SHIFT = 16,
};

struct node_config {
	__be32 node_ip;
	__u32 tunnel_ifindex;   /* the VXLAN device, in tunnel mode */
	__u32 flags;            /* CONFIG_F_*, CONFIG_MONITOR_*, the interval from CONFIG_MONITOR_INTERVAL_SHIFT */
	__u32 uplink_ifindex;
};

/* Counters per reason (0 = forwarded), direction and endpoint. */
struct metrics_key {
	__u8 reason;
	__u8 dir;          /* METRIC_INGRESS / METRIC_EGRESS, seen from the endpoint */
	__u16 endpoint;    /* endpoint id, 0 when not attributable */
};

struct metrics_value {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ENDPOINTS_MAX);
	__type(key, struct endpoint_key);
	__type(value, struct endpoint_info);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} sl_endpoints SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ENDPOINTS_MAX);
	__type(key, __u32);
	__type(value, struct lxc_info);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} sl_lxc SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, IPCACHE_MAX);
	__type(key, struct ipcache_key);
	__type(value, struct ipcache_value);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} sl_ipcache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct node_config);
} sl_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, METRICS_MAX);
	__type(key, struct metrics_key);
	__type(value, struct metrics_value);
} sl_metrics SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, EVENTS_BYTES);
} sl_events SEC(".maps");

static __always_inline struct node_config *node_config(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&sl_config, &zero);
}

static __always_inline struct endpoint_info *lookup_endpoint4(__be32 ip)
{
	struct endpoint_key k = { .ip4 = ip, .family = AF_INET4 };
	return bpf_map_lookup_elem(&sl_endpoints, &k);
}

static __always_inline __u16 lxc_endpoint_id(__u32 ifindex)
{
	struct lxc_info *l = bpf_map_lookup_elem(&sl_lxc, &ifindex);
	return l ? (__u16)l->id : 0;
}

static __always_inline struct ipcache_value *ipcache_lookup4(__be32 ip)
{
	struct ipcache_key k = { .prefixlen = 32 + 32, .family = AF_INET4, .ip4 = ip };
	return bpf_map_lookup_elem(&sl_ipcache, &k);
}

#endif
