/* The pod programs under BPF_PROG_TEST_RUN with the proxy's socket assignment observable: a test
 * run is not at tc ingress, where bpf_sk_assign refuses to work (EOPNOTSUPP), so the assignment
 * records the socket it was given in sl_test_assigned instead (entry 0: its local port, entry 1:
 * its state, entry 2: the number of assignments) and succeeds. The socket still comes from the
 * real lookups (sl_proxy_socks, bpf_skc_lookup_tcp). Everything else is bpf_lxc.c as built for
 * nodes; the real helper runs in ProxySteeringTest, on real packets. Never loaded on a node. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, __u32);
} sl_test_assigned SEC(".maps");

static __always_inline long test_sk_assign(void *ctx, struct bpf_sock *sk, __u64 flags)
{
	__u32 port = 0, proto = 1, n = 2;
	__u32 p = sk->src_port, pr = sk->state;
	bpf_map_update_elem(&sl_test_assigned, &port, &p, BPF_ANY);
	bpf_map_update_elem(&sl_test_assigned, &proto, &pr, BPF_ANY);
	__u32 *c = bpf_map_lookup_elem(&sl_test_assigned, &n);
	if (c)
		__sync_fetch_and_add(c, 1);
	return 0;
}

#define bpf_sk_assign test_sk_assign
#include "../bpf_lxc.c"
