// SPDX-License-Identifier: Apache-2.0
/* Test object for the Java FFM binding (dev.sluice.bpf): one map of every kind the binding
 * handles, and a tc program that uses them all so BPF_PROG_TEST_RUN can check the round trip.
 * Not part of the data path. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* Layouts the Java tests check against BTF (FfmTestLayouts). */
struct ffm_key {
	__be32 addr;
	__be16 port;
	__u8 proto;
	__u8 pad;
};

struct ffm_value {
	__u64 packets;
	__u32 verdict;
	__u16 flags;
	__u8 mark;
	__u8 pad;
};

/* 12 bytes: per-CPU values are rounded up to 8 per CPU. */
struct ffm_counter {
	__u32 packets;
	__u32 bytes;
	__u32 drops;
};

struct ffm_lpm_key {
	__u32 prefixlen;
	__u8 addr[4];
};

struct ffm_event {
	__u32 verdict;
	__u32 len;
	__be32 saddr;
	__be32 daddr;
	__u32 klass;
	__u32 pad;
};

/* Nested and anonymous members, for Btf.assertLayout's flattening. */
struct ffm_nested {
	struct ffm_key key;
	union {
		__u32 id;
		__u8 raw[4];
	};
	__u64 stamp;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct ffm_key);
	__type(value, struct ffm_value);
} ffm_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, struct ffm_counter);
} ffm_percpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 64);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct ffm_lpm_key);
	__type(value, __u32);
} ffm_lpm SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} ffm_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, struct ffm_nested);
} ffm_nested_map SEC(".maps");

/* Verdict: the ffm_hash entry for (saddr, 0, protocol) if any, else TC_ACT_OK.
 * Class: the ffm_lpm value for daddr (0 when none), written into the last byte of the source
 * MAC so tests can see a packet rewrite. One ffm_event per IPv4 packet. */
SEC("tc")
int ffm_classify(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	struct ffm_lpm_key lk = { .prefixlen = 32 };
	struct ffm_key k = {};
	struct ffm_value *v;
	struct ffm_counter *c;
	struct ffm_event *ev;
	__u32 idx = 0, klass = 0, *kp;
	int verdict = TC_ACT_OK;

	if ((void *)(eth + 1) > data_end)
		return TC_ACT_SHOT;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return TC_ACT_UNSPEC;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return TC_ACT_SHOT;

	__builtin_memcpy(lk.addr, &ip->daddr, 4);
	kp = bpf_map_lookup_elem(&ffm_lpm, &lk);
	if (kp)
		klass = *kp;

	k.addr = ip->saddr;
	k.proto = ip->protocol;
	v = bpf_map_lookup_elem(&ffm_hash, &k);
	if (v) {
		verdict = v->verdict;
		__sync_fetch_and_add(&v->packets, 1);
	}

	c = bpf_map_lookup_elem(&ffm_percpu, &idx);
	if (c) {
		c->packets++;
		c->bytes += skb->len;
		if (verdict == TC_ACT_SHOT)
			c->drops++;
	}

	ev = bpf_ringbuf_reserve(&ffm_events, sizeof(*ev), 0);
	if (ev) {
		ev->verdict = verdict;
		ev->len = skb->len;
		ev->saddr = ip->saddr;
		ev->daddr = ip->daddr;
		ev->klass = klass;
		ev->pad = 0;
		bpf_ringbuf_submit(ev, 0);
	}

	eth->h_source[5] = (__u8)klass;
	return verdict;
}

char _license[] SEC("license") = "GPL";
