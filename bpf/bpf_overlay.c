/* Programs on the VXLAN device (tunnel mode):
 *   from_overlay: tc ingress, decapsulated packets; the VNI is the source identity, trusted only
 *                 from a known remote node (lib/encap.h);
 *   to_overlay:   tc egress, sets the tunnel key for traffic the node's stack routes to remote pods. */
#include "lib/common.h"
#include "lib/maps.h"
#include "lib/drop.h"
#include "lib/l3.h"
#include "lib/lb.h"
#include "lib/encap.h"
#include "lib/proxy.h"
#include "lib/constants.h"

SEC("tc")
int from_overlay(struct __sk_buff *skb)
{
	struct flow4 f = { .obs_point = OBS_FROM_OVERLAY };
	int r = parse4(skb, &f);
	if (r != PARSE_OK)
		return r == PARSE_BAD ? drop(skb, DROP_INVALID_PACKET, METRIC_INGRESS, 0, NULL) : TC_ACT_OK;
	struct endpoint_info *dep = lookup_endpoint4(f.daddr);
	struct lb_config *lc = lb_config();
	__s64 id = encap_source_identity(skb, &f, lc ? lc->loopback : 0);
	if (id < 0)
		return drop(skb, -id, METRIC_INGRESS, dep ? dep->id : 0, &f);
	f.src_identity = id;
	struct node_config *cfg = node_config();
	if (cfg) {
		/* Frontends reached through the tunnel, and replies to flows this node source-NATed. */
		int lr = lb4_node_ingress(skb, &f, cfg);
		if (lr >= 0)
			return lr;
	}
	if (!dep) {
		/* For this node's stack (a pod of another node reaching this node's address). The inner
		 * frame still carries the sending pod's gateway MAC: without this the stack would take it
		 * for another host's frame and drop it. */
		bpf_skb_change_type(skb, PACKET_HOST);
		return TC_ACT_OK;
	}
	f.dst_identity = dep->identity;
	trace_forward(skb, METRIC_INGRESS, dep->id, &f, OBS_FROM_OVERLAY);
	return deliver_local(skb, dep, METRIC_INGRESS, dep->id, &f);
}

SEC("tc")
int to_overlay(struct __sk_buff *skb)
{
	if ((skb->mark & MARK_MAGIC_MASK) == MARK_MAGIC_LXC) {
		skb->mark = 0;
		return TC_ACT_OK;   /* from_container already set the key */
	}
	struct flow4 f = { .obs_point = OBS_TO_OVERLAY };
	if (parse4(skb, &f) != PARSE_OK)
		return TC_ACT_OK;
	struct ipcache_value *dst = ipcache_lookup4(f.daddr);
	if (!dst || !dst->tunnel_ep)
		return drop(skb, DROP_NO_TUNNEL_KEY, METRIC_EGRESS, 0, &f);
	/* The node's own stack is `host` to the other side; a packet it only forwards (received on
	 * some interface) is not: the identity of a local pod that sent it, else world. */
	__u32 identity = IDENTITY_HOST;
	if (skb->ingress_ifindex) {
		struct endpoint_info *ep = lookup_endpoint4(f.saddr);
		identity = ep && ep->ifindex == skb->ingress_ifindex ? ep->identity : IDENTITY_WORLD;
	} else if (proxy_mark_identity(skb->mark)) {
		/* an L7 proxy's upstream connection (SO_MARK, lib/common.h): the client's identity, so
		 * the destination node applies its policy to the client, not to this node */
		identity = proxy_mark_identity(skb->mark);
	}
	if (encap_set_key(skb, dst->tunnel_ep, identity) < 0)
		return drop(skb, DROP_NO_TUNNEL_KEY, METRIC_EGRESS, 0, &f);
	f.src_identity = identity;
	trace_forward(skb, METRIC_EGRESS, 0, &f, OBS_TO_OVERLAY);
	return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
