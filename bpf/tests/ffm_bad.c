// SPDX-License-Identifier: Apache-2.0
/* Test object the verifier must reject (dev.sluice.bpf load-failure test): ffm_oob reads a
 * packet byte beyond the bound it checked. It compiles cleanly; only the verifier objects.
 * ffm_ok is fine, so the test can check that the error names the failing program. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int ffm_ok(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}

SEC("tc")
int ffm_oob(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return TC_ACT_OK;
	/* Checked 14 bytes, reads byte 64: "invalid access to packet". */
	return *((__u8 *)data + 64);
}

char _license[] SEC("license") = "GPL";
