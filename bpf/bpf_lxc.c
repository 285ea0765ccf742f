/* Programs on the host side of every pod veth (lxc*):
 *   from_container: tc ingress, packets the pod sends;
 *   to_container:   tc egress, packets delivered into the pod. */
#include "lib/common.h"
#include "lib/maps.h"
#include "lib/drop.h"
#include "lib/l3.h"

SEC("tc")
int from_container(struct __sk_buff *skb)
{
	struct flow4 f = {};
	int r = parse4(skb, &f);
	if (r == PARSE_ARP)
		return TC_ACT_OK;
	if (r == PARSE_NOT_IP4)
		return drop(skb, DROP_UNSUPPORTED_L3, METRIC_EGRESS, 0, NULL);
	if (r != PARSE_OK)
		return drop(skb, DROP_INVALID_PACKET, METRIC_EGRESS, 0, NULL);

	/* Anti-spoofing: the source must be the address the agent gave the pod behind this very veth. */
	struct endpoint_info *ep = lookup_endpoint4(f.saddr);
	if (!ep || ep->ifindex != skb->ifindex)
		return drop(skb, DROP_INVALID_SOURCE, METRIC_EGRESS, lxc_endpoint_id(skb->ifindex), &f);
	f.src_identity = ep->identity;
	__u16 epid = ep->id;

	struct node_config *cfg = node_config();
	if (!cfg)
		return drop(skb, DROP_NO_CONFIG, METRIC_EGRESS, epid, &f);

	struct endpoint_info *dep = lookup_endpoint4(f.daddr);
	if (dep) {
		f.dst_identity = dep->identity;
		count(REASON_FORWARDED, METRIC_EGRESS, epid, skb->len);
		return deliver_local(skb, dep, METRIC_EGRESS, epid, &f);
	}

	struct ipcache_value *dst = ipcache_lookup4(f.daddr);
	if (dst && dst->tunnel_ep && (cfg->flags & CONFIG_F_TUNNEL)) {
		struct bpf_tunnel_key key = {};
		key.remote_ipv4 = bpf_ntohl(dst->tunnel_ep);
		key.tunnel_id = f.src_identity;   /* the VNI carries the source identity */
		key.tunnel_ttl = 64;
		if (bpf_skb_set_tunnel_key(skb, &key, sizeof(key), BPF_F_ZERO_CSUM_TX) < 0)
			return drop(skb, DROP_NO_TUNNEL_KEY, METRIC_EGRESS, epid, &f);
		skb->mark = MARK_MAGIC_LXC;
		count(REASON_FORWARDED, METRIC_EGRESS, epid, skb->len);
		return bpf_redirect(cfg->tunnel_ifindex, 0);
	}
	/* Native routing, the node itself, or outside: the node's routing table decides. */
	count(REASON_FORWARDED, METRIC_EGRESS, epid, skb->len);
	return TC_ACT_OK;
}

SEC("tc")
int to_container(struct __sk_buff *skb)
{
	struct flow4 f = {};
	int r = parse4(skb, &f);
	if (r == PARSE_ARP)
		return TC_ACT_OK;
	if (r == PARSE_NOT_IP4)
		return drop(skb, DROP_UNSUPPORTED_L3, METRIC_INGRESS, 0, NULL);
	if (r != PARSE_OK)
		return drop(skb, DROP_INVALID_PACKET, METRIC_INGRESS, 0, NULL);
	struct endpoint_info *ep = lookup_endpoint4(f.daddr);
	if (!ep || ep->ifindex != skb->ifindex)
		return drop(skb, DROP_UNKNOWN_ENDPOINT, METRIC_INGRESS, 0, &f);
	count(REASON_FORWARDED, METRIC_INGRESS, ep->id, skb->len);
	return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
