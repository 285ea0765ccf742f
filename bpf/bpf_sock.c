/* Socket-level load balancing: cgroup sock_addr programs, attached to the node's cgroup (the
 * cgroup2 root on a real node, the lab node's own cgroup in the lab; docs/services.md).
 *   sock4_connect:     connect() to a frontend connects to a backend instead (TCP, connected UDP);
 *   sock4_sendmsg:     an unconnected datagram to a frontend goes to a backend;
 *   sock4_recvmsg:     a datagram from that backend reads as coming from the frontend;
 *   sock4_getpeername: a translated socket's peer is the frontend;
 *   sock6_*:           the same for IPv6 sockets naming IPv4-mapped addresses.
 * Only sockets of a namespace in sl_sock_netns are touched: everything else in the cgroup passes. */
#include "lib/common.h"
#include "lib/maps.h"
#include "lib/drop.h"
#include "lib/lb.h"
#include "lib/sock.h"
#include "lib/constants.h"

#define SYS_REJECT  0
#define SYS_PROCEED 1
#define SOCK_ECONNREFUSED 111
#define SOCK_EHOSTUNREACH 113

static __always_inline struct sock_netns *sock_served(struct bpf_sock_addr *ctx, __u64 *netns)
{
	*netns = bpf_get_netns_cookie(ctx);
	struct sock_netns *sn = bpf_map_lookup_elem(&sl_sock_netns, netns);
	if (!sn)
		sock_stat(SOCK_STAT_FOREIGN);
	return sn;
}

/* The frontend a socket of `sn` names with (daddr, dport): the service map's entry, or for the
 * node's own namespace a NodePort reached through a loopback address (127.0.0.0/8 stands for
 * the node's address, as the NodePort frontend is keyed). */
static __always_inline struct lb4_service *sock4_frontend(const struct sock_netns *sn, __be32 daddr, __be16 dport, __u8 proto)
{
	struct lb4_key key = { .address = daddr, .dport = dport, .proto = proto };
	struct lb4_service *svc = bpf_map_lookup_elem(&sl_lb4_services, &key);
	if (svc || sn->kind != SOCK_NS_HOST || (bpf_ntohl(daddr) >> 24) != 127)
		return svc;
	struct node_config *cfg = node_config();
	if (!cfg)
		return NULL;
	key.address = cfg->node_ip;
	svc = bpf_map_lookup_elem(&sl_lb4_services, &key);
	return svc && svc->type == LB_T_NODE_PORT ? svc : NULL;
}

/* The IPv4 address a socket names: user_ip4, or for an IPv6 socket (`v6`, a constant at each call
 * site) an IPv4-mapped address ::ffff:a.b.c.d, which the kernel sends as IPv4. 0: none. */
static __always_inline int sock_get4(struct bpf_sock_addr *ctx, int v6, __be32 *a)
{
	if (!v6) {
		*a = ctx->user_ip4;
		return 1;
	}
	if (ctx->user_ip6[0] || ctx->user_ip6[1] || ctx->user_ip6[2] != bpf_htonl(0xffff))
		return 0;
	*a = ctx->user_ip6[3];
	return 1;
}

static __always_inline void sock_set4(struct bpf_sock_addr *ctx, int v6, __be32 a)
{
	if (v6)
		ctx->user_ip6[3] = a;
	else
		ctx->user_ip4 = a;
}

/* connect4, sendmsg4 and connect6 (IPv4-mapped): a frontend becomes a backend, or the call fails
 * (no backend). An IPv6 socket's unconnected datagram to a mapped address goes through sendmsg4. */
static __always_inline int sock4_xlate(struct bpf_sock_addr *ctx, __u32 stat, int v6)
{
	__u64 netns;
	struct sock_netns *sn = sock_served(ctx, &netns);
	if (!sn)
		return SYS_PROCEED;
	__u8 proto = ctx->protocol;
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return SYS_PROCEED;
	struct lb_config *lc = lb_config();
	if (!lc)
		return SYS_PROCEED;
	__be32 daddr;
	if (!sock_get4(ctx, v6, &daddr))
		return SYS_PROCEED;
	__be16 dport = (__be16)ctx->user_port;
	struct lb4_service *svc = sock4_frontend(sn, daddr, dport, proto);
	if (!svc)
		return SYS_PROCEED;
	__u64 cookie = bpf_get_socket_cookie(ctx);
	struct lb4_backend *be = NULL;
	__u32 bid = 0;
	if (svc->count) {
		struct flow4 f = { .daddr = daddr, .sport = (__be16)cookie, .dport = dport, .proto = proto };
		bid = sock4_pick(svc, &f, lc, netns, &be);
	}
	if (!bid || !be) {
		/* The per-packet path's answer, at once: ECONNREFUSED under serviceNoBackendResponse reject. */
		sock_stat(SOCK_STAT_NO_BACKEND);
		count(DROP_NO_BACKEND, METRIC_EGRESS, (__u16)sn->endpoint, 0);
		bpf_set_retval((svc->flags & LB_F_REJECT) ? -SOCK_ECONNREFUSED : -SOCK_EHOSTUNREACH);
		return SYS_REJECT;
	}
	struct sock_rev_key rk = { .cookie = cookie, .address = be->address, .port = be->port };
	struct sock_rev_value rv = { .address = daddr, .port = dport, .rev_nat_id = (__u16)svc->id };
	/* A connection is a new flow; an unconnected socket's datagrams are one flow per backend. */
	struct sock_rev_value *old = bpf_map_lookup_elem(&sl_sock_rev, &rk);
	int new_flow = stat == SOCK_STAT_CONNECT || !old || old->address != daddr || old->port != dport;
	if (new_flow)
		bpf_map_update_elem(&sl_sock_rev, &rk, &rv, BPF_ANY);
	if (new_flow || monitor_aggregation() < MONITOR_AGG_LOW)
		sock_emit_translated(sn, proto, daddr, dport, be, svc->id);
	sock_set4(ctx, v6, be->address);
	ctx->user_port = (__u32)be->port;
	sock_stat(stat);
	return SYS_PROCEED;
}

/* recvmsg4 and getpeername4: a translated socket's backend reads as its frontend. Only the exact
 * backend this socket was sent to: a datagram from anyone else keeps its true source. */
static __always_inline int sock4_rev(struct bpf_sock_addr *ctx, int v6)
{
	__u64 netns;
	__be32 a;
	if (!sock_served(ctx, &netns) || !sock_get4(ctx, v6, &a))
		return SYS_PROCEED;
	struct sock_rev_key rk = { .cookie = bpf_get_socket_cookie(ctx), .address = a, .port = (__be16)ctx->user_port };
	struct sock_rev_value *rv = bpf_map_lookup_elem(&sl_sock_rev, &rk);
	if (!rv)
		return SYS_PROCEED;
	sock_set4(ctx, v6, rv->address);
	ctx->user_port = (__u32)rv->port;
	sock_stat(SOCK_STAT_REV);
	return SYS_PROCEED;
}

SEC("cgroup/connect4")
int sock4_connect(struct bpf_sock_addr *ctx)
{
	return sock4_xlate(ctx, SOCK_STAT_CONNECT, 0);
}

SEC("cgroup/sendmsg4")
int sock4_sendmsg(struct bpf_sock_addr *ctx)
{
	return sock4_xlate(ctx, SOCK_STAT_SENDMSG, 0);
}

SEC("cgroup/recvmsg4")
int sock4_recvmsg(struct bpf_sock_addr *ctx)
{
	return sock4_rev(ctx, 0);
}

SEC("cgroup/getpeername4")
int sock4_getpeername(struct bpf_sock_addr *ctx)
{
	return sock4_rev(ctx, 0);
}

/* IPv6 sockets naming IPv4-mapped addresses (Java's, and any dual-stack client's): the same, on
 * the mapped address. Native IPv6 passes untouched (no IPv6 frontends yet). */
SEC("cgroup/connect6")
int sock6_connect(struct bpf_sock_addr *ctx)
{
	return sock4_xlate(ctx, SOCK_STAT_CONNECT, 1);
}

SEC("cgroup/recvmsg6")
int sock6_recvmsg(struct bpf_sock_addr *ctx)
{
	return sock4_rev(ctx, 1);
}

SEC("cgroup/getpeername6")
int sock6_getpeername(struct bpf_sock_addr *ctx)
{
	return sock4_rev(ctx, 1);
}

char _license[] SEC("license") = "GPL";
