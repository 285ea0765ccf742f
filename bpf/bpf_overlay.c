/* Programs on the VXLAN device (tunnel mode):
 *   from_overlay: tc ingress, decapsulated packets from other nodes; the VNI is the source identity;
 *   to_overlay:   tc egress, sets the tunnel key for traffic the node's own stack sends to remote pods. */
#include "lib/common.h"
#include "lib/maps.h"
#include "lib/drop.h"
#include "lib/l3.h"
#include "lib/lb.h"

SEC("tc")
int from_overlay(struct __sk_buff *skb)
{
	struct flow4 f = {};
	int r = parse4(skb, &f);
	if (r != PARSE_OK)
		return r == PARSE_BAD ? drop(skb, DROP_INVALID_PACKET, METRIC_INGRESS, 0, NULL) : TC_ACT_OK;
	struct bpf_tunnel_key key = {};
	if (bpf_skb_get_tunnel_key(skb, &key, sizeof(key), 0) == 0)
		f.src_identity = key.tunnel_id == IDENTITY_HOST ? IDENTITY_REMOTE_NODE : key.tunnel_id;
	struct node_config *cfg = node_config();
	if (cfg) {
		/* Frontends reached through the tunnel, and replies to flows this node source-NATed. */
		int lr = lb4_node_ingress(skb, &f, cfg);
		if (lr >= 0)
			return lr;
	}
	struct endpoint_info *dep = lookup_endpoint4(f.daddr);
	if (!dep)
		return TC_ACT_OK;
	f.dst_identity = dep->identity;
	return deliver_local(skb, dep, METRIC_INGRESS, dep->id, &f);
}

SEC("tc")
int to_overlay(struct __sk_buff *skb)
{
	if ((skb->mark & MARK_MAGIC_MASK) == MARK_MAGIC_LXC) {
		skb->mark = 0;
		return TC_ACT_OK;   /* from_container already set the key */
	}
	struct flow4 f = {};
	if (parse4(skb, &f) != PARSE_OK)
		return TC_ACT_OK;
	struct ipcache_value *dst = ipcache_lookup4(f.daddr);
	if (!dst || !dst->tunnel_ep)
		return drop(skb, DROP_NO_TUNNEL_KEY, METRIC_EGRESS, 0, &f);
	struct bpf_tunnel_key key = {};
	key.remote_ipv4 = bpf_ntohl(dst->tunnel_ep);
	key.tunnel_id = IDENTITY_HOST;
	key.tunnel_ttl = 64;
	if (bpf_skb_set_tunnel_key(skb, &key, sizeof(key), BPF_F_ZERO_CSUM_TX) < 0)
		return drop(skb, DROP_NO_TUNNEL_KEY, METRIC_EGRESS, 0, &f);
	return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
