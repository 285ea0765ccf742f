/* Program on the node's uplink (eth0), tc ingress: packets from other nodes (native routing) or
 * from outside. Those for a local pod go straight to its veth; everything else to the stack. */
#include "lib/common.h"
#include "lib/maps.h"
#include "lib/drop.h"
#include "lib/l3.h"
#include "lib/lb.h"

SEC("tc")
int from_netdev(struct __sk_buff *skb)
{
	struct flow4 f = {};
	if (parse4(skb, &f) != PARSE_OK)
		return TC_ACT_OK;   /* ARP, IPv6 and others belong to the node's own stack */
	struct node_config *cfg = node_config();
	if (cfg) {
		/* Services from outside (NodePort, ExternalIP, LoadBalancer) and replies to SNATed flows. */
		struct ipcache_value *sid = ipcache_lookup4(f.saddr);
		f.src_identity = sid ? sid->identity : IDENTITY_WORLD;
		int lr = lb4_node_ingress(skb, &f, cfg);
		if (lr >= 0)
			return lr;
	}
	struct endpoint_info *dep = lookup_endpoint4(f.daddr);
	if (!dep)
		return TC_ACT_OK;
	struct ipcache_value *src = ipcache_lookup4(f.saddr);
	f.src_identity = src ? src->identity : IDENTITY_WORLD;
	f.dst_identity = dep->identity;
	return deliver_local(skb, dep, METRIC_INGRESS, dep->id, &f);
}

char _license[] SEC("license") = "GPL";
