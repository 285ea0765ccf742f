/* A data path built from other sources than the agent: one drop reason renumbered, one missing,
 * one the agent does not know. DatapathConstantsTest checks the agent refuses it. Never loaded. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

enum sl_reason {
	REASON_FORWARDED    = 0,
	DROP_INVALID_SOURCE = 129,
	DROP_FROM_THE_FUTURE = 199,
};

struct sl_constants {
	enum sl_reason reason;
};

const volatile struct sl_constants sl_constants_btf __attribute__((used)) = {};

char _license[] SEC("license") = "GPL";
