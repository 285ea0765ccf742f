/* The overlay programs under BPF_PROG_TEST_RUN: a test run has no VXLAN device, hence no tunnel
 * metadata, so the tunnel key helpers read and write sl_test_tunnel instead (entry 0: the key a
 * received packet carries; entry 1: the key the program set). Everything else is bpf_overlay.c
 * as built for nodes. Never loaded on a node. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct bpf_tunnel_key);
} sl_test_tunnel SEC(".maps");

static __always_inline long test_get_tunnel_key(struct __sk_buff *skb, struct bpf_tunnel_key *key, __u32 size, __u64 flags)
{
	__u32 rx = 0;
	struct bpf_tunnel_key *k = bpf_map_lookup_elem(&sl_test_tunnel, &rx);
	if (!k || !k->remote_ipv4)
		return -22;
	__builtin_memcpy(key, k, sizeof(*key));
	return 0;
}

static __always_inline long test_set_tunnel_key(struct __sk_buff *skb, struct bpf_tunnel_key *key, __u32 size, __u64 flags)
{
	__u32 tx = 1;
	return bpf_map_update_elem(&sl_test_tunnel, &tx, key, BPF_ANY);
}

#define bpf_skb_get_tunnel_key test_get_tunnel_key
#define bpf_skb_set_tunnel_key test_set_tunnel_key
#include "../bpf_overlay.c"
